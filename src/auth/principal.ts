/** Who a request is from, once its credentials verified: what the transports get from auth. */
import { TokenBucket } from './rate-limit.js';
import { ROLE_BITS, roleNames, type Role } from './roles.js';

export type PrincipalKind = 'api-key' | 'jwt' | 'anonymous';

export class Principal {
  constructor(
    /** Stable id for logs, audit and metrics: `key:<keyId>`, `jwt:<iss> <sub>` or `anonymous`. */
    readonly id: string,
    readonly kind: PrincipalKind,
    /** The key's name, or the JWT's `sub`. */
    readonly name: string,
    /** Role bits (roles.ts). */
    readonly roles: number,
    /** This credential's rate limit; shared by every request that presents it. */
    readonly bucket: TokenBucket,
  ) {}

  roleNames(): Role[] {
    return roleNames(this.roles);
  }
}

/**
 * The principal of every request while no credentials are configured (gateway on loopback,
 * see settings.ts secureByDefault): every role, no rate limit. Never used once auth is on.
 */
export const ANONYMOUS = new Principal('anonymous', 'anonymous', 'anonymous', ROLE_BITS.admin, new TokenBucket(0, 0));
