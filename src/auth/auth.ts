/**
 * What the transports call, once per request or upgrade:
 *
 *   const auth = Auth.create(config);              // at start; throws ConfigError
 *   auth.watch((err) => log…);                     // reload keys (file change, SIGHUP)
 *
 *   // HTTP (uWS): read the header before any await
 *   const r = auth.authorize(req.getHeader('authorization'), 'scorer');
 *   // r is a Principal, a ScoregateError (401/403/429: RateLimited has retryAfterS), or a
 *   // Promise of one of them — only for a JWT not seen before; keys and cached JWTs are sync.
 *
 *   // WebSocket upgrade
 *   const u = auth.authorizeUpgrade({ authorization, protocol, origin }, 'streamer');
 *   // { principal, protocol } (answer with `protocol` as Sec-WebSocket-Protocol) or an error
 *   // per message: auth.admit(principal, transactionsInFrame) → null or RateLimited
 *
 * Credentials are checked, then the role (403 does not spend tokens), then the rate limit.
 * With no credentials configured (loopback only, settings.ts) everything is ANONYMOUS.
 */
import type { Config } from '../core/config.js';
import { ConfigError } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { KEY_PREFIX } from './api-key.js';
import { bearerToken, upgradeCredential } from './credentials.js';
import { JwtVerifier } from './jwt.js';
import { KeyStore } from './key-store.js';
import { KeysFileError } from './keys-file.js';
import type { OriginPolicy } from './origin.js';
import { ANONYMOUS, type Principal } from './principal.js';
import { RateLimited, type Clock } from './rate-limit.js';
import { allows, type Role } from './roles.js';
import { checkAuthConfig } from './settings.js';

export type Authorized = Principal | ScoregateError;

export interface UpgradeHeaders {
  authorization: string;
  /** Sec-WebSocket-Protocol, '' when absent. */
  protocol: string;
  /** Origin, '' when absent. */
  origin: string;
}

export type UpgradeAuthorized = { principal: Principal; protocol: string } | ScoregateError;

export interface AuthHooks {
  /** Monotonic ms for the rate-limit buckets. */
  clock?: Clock;
  /** Wall ms for JWT exp/nbf. */
  now?: () => number;
  /** Failures that are the operator's to see (JWKS unreachable). */
  onError?: (err: Error) => void;
  /** Keys-file poll interval in ms (default 1000). */
  keysPollMs?: number;
}

// Shared instances: the error path under a flood of bad credentials allocates nothing, and
// these carry nothing specific to the request (the message is the same whatever was wrong).
const UNAUTHENTICATED = new ScoregateError('UNAUTHENTICATED');
const FORBIDDEN = new ScoregateError('FORBIDDEN');
const ORIGIN_FORBIDDEN = new ScoregateError('FORBIDDEN', 'this Origin may not open the WebSocket (WS_ALLOWED_ORIGINS)');

export class Auth {
  /** False when no credentials are configured: every call is ANONYMOUS (loopback only). */
  readonly enabled: boolean;
  /** GET /metrics needs the metrics role (AUTH_METRICS=protected and credentials configured). */
  readonly protectsMetrics: boolean;

  private constructor(
    private readonly keys: KeyStore | null,
    private readonly jwt: JwtVerifier | null,
    private readonly origins: OriginPolicy,
    metrics: Config['authMetrics'],
  ) {
    this.enabled = keys !== null || jwt !== null;
    this.protectsMetrics = this.enabled && metrics === 'protected';
  }

  /** Checks the settings and loads the keys file and JWKS file; throws ConfigError naming the setting. */
  static create(config: Config, hooks: AuthHooks = {}): Auth {
    const s = checkAuthConfig(config);
    let keys: KeyStore | null = null;
    if (config.authKeysFile !== '') {
      try {
        keys = KeyStore.open(config.authKeysFile, { ratePerS: config.authRatePerS, burst: config.authRateBurst, clock: hooks.clock, pollMs: hooks.keysPollMs });
      } catch (err) {
        if (err instanceof KeysFileError) throw new ConfigError('AUTH_KEYS_FILE', err.message);
        throw err;
      }
    }
    let jwt: JwtVerifier | null = null;
    if (config.authJwksUrl !== '' || config.authJwksFile !== '') {
      try {
        jwt = new JwtVerifier({
          jwksUrl: config.authJwksUrl,
          jwksFile: config.authJwksFile,
          issuer: s.issuer,
          audience: s.audience,
          algorithms: s.algorithms,
          rolesClaim: config.authJwtRolesClaim,
          clockSkewS: config.authClockSkewS,
          cooldownS: config.authJwksCooldownS,
          ratePerS: config.authRatePerS,
          burst: config.authRateBurst,
          clock: hooks.clock,
          now: hooks.now,
          onError: hooks.onError,
        });
      } catch (err) {
        throw new ConfigError(config.authJwksFile !== '' ? 'AUTH_JWKS_FILE' : 'AUTH_JWKS_URL', (err as Error).message);
      }
    }
    return new Auth(keys, jwt, s.origins, config.authMetrics);
  }

  /** The caller of an HTTP request, from its `Authorization` header ('' when absent). */
  authorize(authorization: string, role: Role): Authorized | Promise<Authorized> {
    if (!this.enabled) return ANONYMOUS;
    return this.authorizeToken(bearerToken(authorization), role);
  }

  /**
   * The caller of a WebSocket upgrade: Origin first (403), then the credential from the
   * `Authorization` header or the `bearer.<token>` subprotocol (credentials.ts). `protocol` is
   * the Sec-WebSocket-Protocol to answer with ('' for none).
   */
  authorizeUpgrade(h: UpgradeHeaders, role: Role): UpgradeAuthorized | Promise<UpgradeAuthorized> {
    if (!this.origins.allows(h.origin)) return ORIGIN_FORBIDDEN;
    const { token, protocol } = upgradeCredential(h.authorization, h.protocol);
    const r = this.enabled ? this.authorizeToken(token, role) : ANONYMOUS;
    if (r instanceof Promise) return r.then((x) => (x instanceof ScoregateError ? x : { principal: x, protocol }));
    return r instanceof ScoregateError ? r : { principal: r, protocol };
  }

  /** Spends `cost` more tokens of an authorized principal (e.g. per WebSocket frame): null, or the 429 to answer. */
  admit(principal: Principal, cost = 1): RateLimited | null {
    const wait = principal.bucket.take(cost);
    return wait === 0 ? null : new RateLimited(wait);
  }

  /**
   * Reloads the keys file when it changes, and the keys file and a JWKS file on SIGHUP (a
   * JWKS URL refreshes itself). `onReload` hears each outcome: null, or the error that kept
   * the previous keys (log it).
   */
  watch(onReload: (err: Error | null) => void): void {
    if (this.onSighup !== null) return;
    this.keys?.watch(onReload);
    this.onSighup = () => onReload(this.reload());
    process.on('SIGHUP', this.onSighup);
  }

  /** Reads the keys file and a JWKS file again now: null, or the first error (the old keys stay). */
  reload(): Error | null {
    let first: Error | null = null;
    try {
      this.keys?.reload();
    } catch (err) {
      first = err as Error;
    }
    try {
      this.jwt?.reload();
    } catch (err) {
      first ??= err as Error;
    }
    return first;
  }

  close(): void {
    this.keys?.close();
    if (this.onSighup !== null) process.off('SIGHUP', this.onSighup);
    this.onSighup = null;
  }

  private onSighup: (() => void) | null = null;

  private authorizeToken(token: string, role: Role): Authorized | Promise<Authorized> {
    if (token === '') return UNAUTHENTICATED;
    if (token.startsWith(KEY_PREFIX)) return this.check(this.keys === null ? null : this.keys.verify(token), role);
    if (this.jwt === null) return UNAUTHENTICATED;
    const hit = this.jwt.cached(token);
    if (hit !== undefined) return this.check(hit, role);
    return this.jwt.verify(token).then((p) => this.check(p, role));
  }

  private check(p: Principal | null, role: Role): Authorized {
    if (p === null) return UNAUTHENTICATED;
    if (!allows(p.roles, role)) return FORBIDDEN;
    const wait = p.bucket.take(1);
    return wait === 0 ? p : new RateLimited(wait);
  }
}
