/**
 * The roles a credential can hold, as bits: a principal's roles are one number and a check is
 * one AND on the request path (no Set lookup, no string compare).
 *   scorer          POST /v1/score, POST /v1/score/batch
 *   streamer        GET /v1/stream (WebSocket)
 *   model-operator  model reload, rollback, challenger
 *   auditor         audit log, user windows
 *   metrics         GET /metrics when AUTH_METRICS=protected
 *   labeler         POST /v1/labels: confirmed outcomes (chargebacks, analyst decisions)
 *   admin           every role above
 */
export const ROLE_BITS = {
  scorer: 1,
  streamer: 2,
  'model-operator': 4,
  auditor: 8,
  metrics: 16,
  labeler: 32,
  admin: 63,
} as const;

export type Role = keyof typeof ROLE_BITS;

export const ROLES = Object.keys(ROLE_BITS) as Role[];

export function isRole(name: string): name is Role {
  return Object.hasOwn(ROLE_BITS, name);
}

/** True when the role bits `held` include every bit of `required`. */
export function allows(held: number, required: Role): boolean {
  const bits = ROLE_BITS[required];
  return (held & bits) === bits;
}

/** The bits of the known role names among `names`; unknown names are ignored (a JWT may carry roles for other services). */
export function roleBits(names: Iterable<string>): number {
  let bits = 0;
  for (const n of names) if (isRole(n)) bits |= ROLE_BITS[n];
  return bits;
}

/** Role names for display (admin shown as itself rather than its five parts). */
export function roleNames(bits: number): Role[] {
  if ((bits & ROLE_BITS.admin) === ROLE_BITS.admin) return ['admin'];
  return ROLES.filter((r) => r !== 'admin' && (bits & ROLE_BITS[r]) !== 0);
}
