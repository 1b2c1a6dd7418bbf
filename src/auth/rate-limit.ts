/**
 * Per-credential rate limits: one token bucket per principal. A bucket holds `burst` tokens,
 * refills at `ratePerS`, and each call takes one (or `cost`). `take` only reads and writes two
 * numbers on the bucket it is given: no allocation, no Map lookup, no timer on the hot path.
 */
import { ScoregateError } from '../core/errors.js';

/** Monotonic milliseconds; tests inject their own. */
export type Clock = () => number;

export const monotonicMs: Clock = () => performance.now();

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Tokens per millisecond, precomputed so take() multiplies instead of divides. */
  private readonly perMs: number;

  /** `ratePerS` 0 makes an unlimited bucket: take() always answers 0. */
  constructor(
    readonly ratePerS: number,
    readonly burst: number,
    private readonly clock: Clock = monotonicMs,
  ) {
    if (!(ratePerS >= 0) || !(burst >= 0) || (ratePerS > 0 && burst < 1)) throw new RangeError(`token bucket needs rate ≥ 0 and burst ≥ 1, got ${ratePerS}/${burst}`);
    this.perMs = ratePerS / 1000;
    this.tokens = burst;
    this.last = clock();
  }

  get unlimited(): boolean {
    return this.ratePerS === 0;
  }

  /**
   * Takes `cost` tokens (clamped to `burst`, so a batch bigger than the bucket passes when the
   * bucket is full instead of never) and answers 0, or takes nothing and answers the whole
   * seconds until enough tokens will be there: the `Retry-After` of a 429.
   */
  take(cost = 1): number {
    if (this.perMs === 0) return 0;
    const now = this.clock();
    let tokens = this.tokens + (now - this.last) * this.perMs;
    if (tokens > this.burst) tokens = this.burst;
    this.tokens = tokens;
    this.last = now;
    const need = cost < this.burst ? cost : this.burst;
    if (tokens >= need) {
      this.tokens = tokens - need;
      return 0;
    }
    // ≥ 1: Retry-After is whole seconds and 0 would invite an immediate retry.
    return Math.max(1, Math.ceil((need - tokens) / this.ratePerS));
  }

  /** Tokens now (for tests and the key listing). */
  available(): number {
    if (this.perMs === 0) return Infinity;
    return Math.min(this.burst, this.tokens + (this.clock() - this.last) * this.perMs);
  }
}

/** 429 RATE_LIMITED with the seconds the transport sends as `Retry-After`. */
export class RateLimited extends ScoregateError {
  constructor(readonly retryAfterS: number) {
    super('RATE_LIMITED');
    this.retryAfterMs = retryAfterS * 1000; // Retry-After over HTTP, retryAfterMs on the WebSocket
  }
}

/** The bucket size for a rate: `burst` when set, else the rate itself (one second's worth). */
export function burstFor(ratePerS: number, burst: number): number {
  return burst > 0 ? burst : Math.max(1, ratePerS);
}
