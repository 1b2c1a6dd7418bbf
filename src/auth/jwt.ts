/**
 * JWT bearer tokens, verified with jose against a JWKS from a URL (fetched, cached, refetched
 * on an unknown key id at most once per cooldown) or from a file. Following RFC 8725:
 * - only the configured asymmetric algorithms (settings.ts refuses `none` and HS*: a verifier
 *   that took HS256 could be fed a token "signed" with the public key's bytes); jose also
 *   refuses a key whose type does not fit the token's alg;
 * - `iss` and `aud` must be the configured ones; `exp` and `sub` are required; `exp` and `nbf`
 *   hold with AUTH_CLOCK_SKEW_S of tolerance.
 * A verified token is remembered until it expires, or 5 minutes at most (bounded LRU keyed by
 * the token itself, which is already in memory as the request's header), so the next request
 * with it is answered synchronously; its principal's bucket is shared by every token with the same iss and sub.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { Principal } from './principal.js';
import { burstFor, monotonicMs, TokenBucket, type Clock } from './rate-limit.js';
import { roleBits } from './roles.js';

export interface JwtOptions {
  jwksUrl: string;
  jwksFile: string;
  issuer: string[];
  audience: string[];
  algorithms: string[];
  rolesClaim: string;
  clockSkewS: number;
  cooldownS: number;
  ratePerS: number;
  burst: number;
  /** Monotonic clock of the rate-limit buckets. */
  clock?: Clock;
  /** Wall-clock milliseconds for exp/nbf (tests move it). */
  now?: () => number;
  /** Hears failures that are not the caller's fault (JWKS unreachable, JWKS file unreadable on reload). */
  onError?: (err: Error) => void;
  /** Verified tokens remembered. */
  cacheMax?: number;
}

/** Longest a verified token is answered from memory before its signature is checked again. */
const REVERIFY_MS = 5 * 60_000;

interface Verified {
  principal: Principal;
  /** Wall ms past which the token is no longer accepted (exp + skew). */
  until: number;
}

/** Reads a JWKS file: `{"keys": [...]}`. Throws with a message naming the file. */
export function readJwksFile(path: string): JSONWebKeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`JWKS file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not readable JSON'}`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) throw new Error(`JWKS file ${path}: must be {"keys": [...]}`);
  return doc as JSONWebKeySet;
}

/** The role names a claim holds: an array of strings, or one space-separated string (OAuth `scope`). */
export function claimRoles(payload: JWTPayload, claim: string): string[] {
  let v: unknown = payload;
  for (const part of claim.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[part];
  }
  if (typeof v === 'string') return v.split(' ').filter((s) => s !== '');
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string');
  return [];
}

export class JwtVerifier {
  private getKey: JWTVerifyGetKey;
  private readonly verified: LRUCache<string, Verified>;
  private readonly buckets: LRUCache<string, TokenBucket>;
  private readonly clock: Clock;
  private readonly now: () => number;

  constructor(private readonly opts: JwtOptions) {
    this.clock = opts.clock ?? monotonicMs;
    this.now = opts.now ?? Date.now;
    this.getKey = opts.jwksUrl !== '' ? createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: opts.cooldownS * 1000, timeoutDuration: 5000 }) : createLocalJWKSet(readJwksFile(opts.jwksFile));
    this.verified = new LRUCache({ max: opts.cacheMax ?? 10_000 });
    this.buckets = new LRUCache({ max: 100_000 });
  }

  /** Re-reads a JWKS file (a URL refreshes itself); throws and keeps the old keys on a bad file. */
  reload(): void {
    if (this.opts.jwksFile === '') return;
    this.getKey = createLocalJWKSet(readJwksFile(this.opts.jwksFile));
    this.verified.clear();
  }

  /** The principal of a token verified before and still valid, else undefined (then call verify). */
  cached(token: string): Principal | undefined {
    const hit = this.verified.get(token);
    if (hit === undefined) return undefined;
    if (this.now() > hit.until) {
      this.verified.delete(token);
      return undefined;
    }
    return hit.principal;
  }

  /** The token's principal, or null when it does not verify for any reason. */
  async verify(token: string): Promise<Principal | null> {
    const o = this.opts;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: o.algorithms,
        issuer: o.issuer,
        audience: o.audience,
        clockTolerance: o.clockSkewS,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A JWKS that cannot be fetched is the operator's problem, not the caller's: report it.
      if (code === undefined || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') o.onError?.(err as Error);
      return null;
    }
    const id = `jwt:${payload.iss ?? ''} ${payload.sub ?? ''}`;
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      bucket = new TokenBucket(o.ratePerS, o.ratePerS === 0 ? 0 : burstFor(o.ratePerS, o.burst), this.clock);
      this.buckets.set(id, bucket);
    }
    const principal = new Principal(id, 'jwt', payload.sub ?? '', roleBits(claimRoles(payload, o.rolesClaim)), bucket);
    // Remembered until it expires, but at most REVERIFY_MS: a key dropped from the JWKS (and the
    // roles of a token) are looked at again within that time even for long-lived tokens.
    this.verified.set(token, { principal, until: Math.min((payload.exp ?? 0) * 1000 + o.clockSkewS * 1000, this.now() + REVERIFY_MS) });
    return principal;
  }
}
