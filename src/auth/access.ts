/**
 * Route-level access: which credential each kind of route takes. The transports call it once
 * per request or upgrade, with the Authorization header read synchronously.
 *
 * - Scoring and streaming (scorer, streamer, metrics when protected): any credential with the
 *   role; ANONYMOUS while no credentials are configured (loopback only: settings.ts).
 * - Operator and auditor routes (model-operator, auditor): a credential with the role, or the
 *   legacy ADMIN_TOKEN (every role) — never anonymous: with neither configured they answer
 *   403 ADMIN_DISABLED.
 */
import { ScoregateError } from '../core/errors.js';
import { safeEqual } from '../http/signatures.js';
import type { Auth, Authorized } from './auth.js';
import { Principal } from './principal.js';
import { TokenBucket } from './rate-limit.js';
import { ROLE_BITS, type Role } from './roles.js';

/** Who presented ADMIN_TOKEN: every role, no rate limit (an operator's own token). */
export const ADMIN_TOKEN_PRINCIPAL = new Principal('admin-token', 'api-key', 'ADMIN_TOKEN', ROLE_BITS.admin, new TokenBucket(0, 0));

const ADMIN_DISABLED = new ScoregateError('ADMIN_DISABLED');
const UNAUTHORIZED = new ScoregateError('UNAUTHORIZED');

export class AccessControl {
  /** Called on every failed authentication (401): the audit trail counts bursts. */
  onUnauthenticated: () => void = () => undefined;

  constructor(
    readonly auth: Auth,
    private readonly adminToken: string,
  ) {}

  /** A scoring, streaming or metrics route. */
  check(authorization: string, role: Role): Authorized | Promise<Authorized> {
    return this.watch(this.auth.authorize(authorization, role));
  }

  /** Counts 401s, sync or async, without touching the result. */
  watch<T>(r: T | Promise<T>): T | Promise<T> {
    if (r instanceof Promise) {
      void r.then((x) => {
        if (x instanceof ScoregateError && x.code === 'UNAUTHENTICATED') this.onUnauthenticated();
      }, () => undefined);
    } else if (r instanceof ScoregateError && r.code === 'UNAUTHENTICATED') this.onUnauthenticated();
    return r;
  }

  /** An operator or auditor route. */
  admin(authorization: string, role: Role): Authorized | Promise<Authorized> {
    if (this.adminToken !== '') {
      const m = /^Bearer (.+)$/i.exec(authorization.trim());
      if (m !== null && safeEqual(m[1]!, this.adminToken)) return ADMIN_TOKEN_PRINCIPAL;
    }
    if (this.auth.enabled) return this.watch(this.auth.authorize(authorization, role));
    if (this.adminToken !== '') this.onUnauthenticated();
    return this.adminToken === '' ? ADMIN_DISABLED : UNAUTHORIZED;
  }
}

/** Runs `then` with the principal, or `denied` with the error, whether the check was sync or not. */
export function settle(r: Authorized | Promise<Authorized>, then: (p: Principal) => void, denied: (e: ScoregateError) => void): void {
  if (r instanceof Principal) return then(r);
  if (r instanceof ScoregateError) return denied(r);
  r.then(
    (x) => (x instanceof Principal ? then(x) : denied(x)),
    () => denied(new ScoregateError('UNAUTHENTICATED')),
  );
}
