/**
 * The admission limit: how many transactions (HTTP requests, WebSocket messages) may be inside
 * the gateway at once. It sits in front of body reading and parsing, so a request over the
 * limit costs a header check and a 503 — no JSON, no features, no inference.
 *
 * The limit adapts (AIMD, as in Netflix's concurrency-limits): every WINDOW_MS the latencies of
 * the transactions that finished are compared with the target, and the window's peak in-flight
 * with the limit. Only a limit that was actually used (in-flight peaked at half of it or more)
 * moves: if more than 1% of the window's transactions took longer than the target (its p99 is
 * over), the limit shrinks — by a tenth, a quarter when more than 10% were late, half when most
 * were; if at most 1% were, it grows by √limit. A latency spike while the limit is far from used
 * (a GC pause, another process on the box) is not the admitted load's doing, and shedding would
 * not cure it: the limit holds. So it settles near target × throughput: the most work that can
 * be inside without queueing past the target. A fixed queue length cannot know that number.
 *
 * Hot path: tryAcquire() and release() are a few comparisons and additions, no allocation;
 * the window is closed lazily by the release that finds it expired (no timer).
 */
import { ERRORS } from '../core/errors.js';

export interface LimiterOptions {
  /** Latency (ms) that admitted transactions should stay under at p99. */
  targetMs: number;
  minLimit: number;
  maxLimit: number;
  initialLimit?: number;
  windowMs?: number;
  now?: () => number;
}

const OVER_SHARE = 0.01;

/** How much of the limit to keep after a window in which `share` of the samples were late. */
function decrease(share: number): number {
  return share > 0.5 ? 0.5 : share > 0.1 ? 0.75 : 0.9;
}
const MIN_SAMPLES = 10;

export class AdmissionLimiter {
  private limitF: number;
  private inFlightN = 0;
  private peak = 0;
  private windowStart: number;
  private samples = 0;
  private over = 0;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Transactions refused since start (a counter the metrics read). */
  shed = 0;
  /** Window closes that lowered / raised the limit (for tests and metrics). */
  decreases = 0;
  increases = 0;

  constructor(private readonly opts: LimiterOptions) {
    // Start generous (bursts of pipelined WebSocket messages are normal): the first late window cuts it.
    this.limitF = Math.min(opts.maxLimit, Math.max(opts.minLimit, opts.initialLimit ?? 1024));
    this.windowMs = opts.windowMs ?? 100;
    this.now = opts.now ?? performance.now.bind(performance);
    this.windowStart = this.now();
  }

  get limit(): number {
    return Math.floor(this.limitF);
  }

  get inFlight(): number {
    return this.inFlightN;
  }

  /** Takes a slot; false means shed (answer OVERLOADED now). */
  tryAcquire(): boolean {
    if (this.inFlightN >= this.limitF) {
      this.shed++;
      return false;
    }
    if (++this.inFlightN > this.peak) this.peak = this.inFlightN;
    return true;
  }

  /** Gives the slot back with the transaction's latency (ms since it was admitted). */
  release(latencyMs: number): void {
    this.inFlightN--;
    this.samples++;
    if (latencyMs > this.opts.targetMs) this.over++;
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.closeWindow(now);
  }

  /** Gives the slot back without a sample (the client went away before its answer). */
  abandon(): void {
    this.inFlightN--;
  }

  private closeWindow(now: number): void {
    const used = this.peak * 2 >= this.limitF;
    if (used && (this.samples >= MIN_SAMPLES || this.over > 0)) {
      if (this.over > this.samples * OVER_SHARE) {
        this.limitF = Math.max(this.opts.minLimit, this.limitF * decrease(this.over / Math.max(1, this.samples)));
        this.decreases++;
      } else {
        this.limitF = Math.min(this.opts.maxLimit, this.limitF + Math.sqrt(this.limitF));
        this.increases++;
      }
    }
    this.windowStart = now;
    this.samples = 0;
    this.over = 0;
    this.peak = this.inFlightN;
  }
}

/** Seconds a shed client should wait: the error map's OVERLOADED delay (Retry-After is whole seconds). */
export const RETRY_AFTER_S = ERRORS.OVERLOADED.retryAfterMs / 1000;
