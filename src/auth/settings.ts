/**
 * The auth settings (AUTH_*, WS_ALLOWED_ORIGINS in core/config.ts) checked together, and the
 * secure-by-default rule: a gateway reachable from other hosts must ask for credentials.
 *
 * Choice for the README's two commands: HOST defaults to 127.0.0.1, and on a loopback address
 * the gateway runs without credentials (every request is the ANONYMOUS principal), so
 * `npm ci && npm start` and the curl / WebSocket examples work as written on a fresh machine.
 * Any other HOST (0.0.0.0, a LAN address, the Dockerfile's) needs AUTH_KEYS_FILE or a JWKS.
 */
import { ConfigError, type Config } from '../core/config.js';
import { OriginPolicy } from './origin.js';

/** Signature algorithms a verifier may accept: asymmetric only. `none` and HS* never. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** True when some credential source is configured (API keys or a JWKS). */
export function authConfigured(config: Config): boolean {
  return config.authKeysFile !== '' || config.authJwksUrl !== '' || config.authJwksFile !== '';
}

/** 127.0.0.0/8, ::1, ::ffff:127.x.y.z and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Refuses (ConfigError naming HOST) a listening address other than loopback while no
 * credentials are configured. main calls it before listening.
 */
export function secureByDefault(config: Config): void {
  if (isLoopback(config.host) || authConfigured(config)) return;
  throw new ConfigError(
    'HOST',
    `is ${JSON.stringify(config.host)}, reachable from other hosts, but no credentials are configured: set AUTH_KEYS_FILE (keys made with \`keys create\`) or AUTH_JWKS_URL / AUTH_JWKS_FILE, or listen on 127.0.0.1`,
  );
}

export interface AuthSettings {
  issuer: string[];
  audience: string[];
  algorithms: string[];
  origins: OriginPolicy;
}

function list(s: string): string[] {
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/** Checks the auth settings against each other (and secureByDefault); throws ConfigError naming the setting. */
export function checkAuthConfig(config: Config): AuthSettings {
  secureByDefault(config);
  if (config.authJwksUrl !== '' && config.authJwksFile !== '') throw new ConfigError('AUTH_JWKS_FILE', 'cannot be set together with AUTH_JWKS_URL: pick one');
  if (config.authJwksUrl !== '') {
    let url: URL;
    try {
      url = new URL(config.authJwksUrl);
    } catch {
      throw new ConfigError('AUTH_JWKS_URL', `must be a URL, got ${JSON.stringify(config.authJwksUrl)}`);
    }
    // Keys fetched in clear could be swapped by anyone on the path: http only to this machine.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new ConfigError('AUTH_JWKS_URL', `must be https (http only on loopback), got ${JSON.stringify(config.authJwksUrl)}`);
    }
  }
  const jwt = config.authJwksUrl !== '' || config.authJwksFile !== '';
  const issuer = list(config.authJwtIssuer);
  const audience = list(config.authJwtAudience);
  if (jwt && issuer.length === 0) throw new ConfigError('AUTH_JWT_ISSUER', 'must be set with AUTH_JWKS_URL or AUTH_JWKS_FILE (tokens of any issuer would pass)');
  if (jwt && audience.length === 0) throw new ConfigError('AUTH_JWT_AUDIENCE', 'must be set with AUTH_JWKS_URL or AUTH_JWKS_FILE (tokens meant for other services would pass)');
  const algorithms = list(config.authJwtAlgorithms);
  if (algorithms.length === 0) throw new ConfigError('AUTH_JWT_ALGORITHMS', 'must name at least one algorithm');
  for (const a of algorithms) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a)) {
      throw new ConfigError('AUTH_JWT_ALGORITHMS', `${JSON.stringify(a)} is not allowed: only ${ASYMMETRIC_ALGORITHMS.join(', ')} (never none or HS*, which a public key could forge)`);
    }
  }
  if (config.authJwtRolesClaim.split('.').some((p) => p === '')) throw new ConfigError('AUTH_JWT_ROLES_CLAIM', `must be a claim name or dotted path, got ${JSON.stringify(config.authJwtRolesClaim)}`);
  let origins: OriginPolicy;
  try {
    origins = OriginPolicy.parse(config.wsAllowedOrigins);
  } catch (err) {
    throw new ConfigError('WS_ALLOWED_ORIGINS', (err as Error).message);
  }
  return { issuer, audience, algorithms, origins };
}
