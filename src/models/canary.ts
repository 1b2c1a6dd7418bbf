/**
 * The canary split (KServe's canaryTrafficPercent): a share of users whose answers come from the
 * challenger instead of the champion. A user's side is a stable hash of the userId (FNV-1a,
 * 32 bits, into 100 buckets), so one user always gets the same model while the percent stands,
 * and raising the percent only moves users from champion to challenger, never back.
 *
 * Set by POST /v1/models/canary (model-operator) or the registered model's `canary_percent` tag
 * (the follower applies it when the tag changes); rollback, and the challenger going away, put
 * it back to 0.
 */
export const CANARY_BUCKETS = 100;

/** FNV-1a over the UTF-16 code units of `s`: no allocation, the same bucket in every process. */
export function userBucket(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % CANARY_BUCKETS;
}

export class CanarySplit {
  private pct = 0;
  /** Who set the percent last ("admin", "mlflow tag", "rollback", …). */
  setBy = 'start';

  get percent(): number {
    return this.pct;
  }

  set(percent: number, by: string): void {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`canary percent must be a whole number from 0 to 100, got ${percent}`);
    this.pct = percent;
    this.setBy = by;
  }

  /** True when `userId` is answered by the challenger. Zero cost while the percent is 0. */
  routes(userId: string): boolean {
    return this.pct !== 0 && userBucket(userId) < this.pct;
  }
}
