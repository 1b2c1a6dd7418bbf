/**
 * The feature engine: per-user rolling windows in event time, bounded by users and by bytes
 * (lru-cache evicts the least recently seen users), and the transactionIds already counted.
 *
 * `compute` writes a transaction's features from the history *before* it; `ingest` then adds it,
 * so the very next request sees it. Windows are exact (no buckets): each is the range of the
 * user's sorted events with `t - W < ts <= t`, where t is the transaction's own event time.
 */
import { LRUCache } from 'lru-cache';
import { F, LONGEST_WINDOW_MS, NO_PREVIOUS, WINDOWS } from './contract.js';
import { UserHistory } from './history.js';
import { SeenIds } from './seen.js';

export interface FeatureInput {
  transactionId: string;
  userId: string;
  /** Event time, epoch ms. */
  timestamp: number;
  amount: number;
  merchantId: string | null;
}

export interface EngineOptions {
  maxUsers: number;
  maxBytes: number;
  maxEventsPerUser: number;
  allowedLatenessMs: number;
  seenIdsMax: number;
}

/** What the quality checks need besides the features; one object reused per engine. */
export interface HistoryContext {
  /** Mean amount of the user's last 5 earlier transactions, NaN when there are none. */
  meanLast5: number;
  /** Earlier transactions in the user's 24 h window. */
  count24h: number;
}

export type IngestResult = 'added' | 'duplicate' | 'late';

const NW = WINDOWS.length;
const WINDOW_MS = WINDOWS.map((w) => w.ms);

export class FeatureEngine {
  private readonly users: LRUCache<string, UserHistory>;
  readonly seen: SeenIds;
  private readonly opts: EngineOptions;
  // Scratch space reused by every compute(): no allocation per request.
  private readonly lo = new Int32Array(NW);
  private readonly cnt = new Float64Array(NW);
  private readonly sum = new Float64Array(NW);
  private readonly max = new Float64Array(NW);
  private readonly dev = new Float64Array(NW);
  private readonly merchants = new Set<string>();
  private readonly ctx: HistoryContext = { meanLast5: Number.NaN, count24h: 0 };
  lateDropped = 0;
  /** Σ of every held user's `sized`: the windows' estimated heap bytes, kept ≤ maxBytes. */
  private heldBytes = 0;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    // Bytes are counted here, not by lru-cache's maxSize: it sizes an entry only when a new value
    // is set, and a user's history is the same object as it grows. lru-cache bounds the count.
    this.users = new LRUCache<string, UserHistory>({
      max: opts.maxUsers,
      dispose: (h) => {
        this.heldBytes -= h.sized;
        h.sized = 0;
      },
    });
    this.seen = new SeenIds(opts.seenIdsMax);
  }

  get userCount(): number {
    return this.users.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Counts what `h` (just used, so the most recently seen) costs now and evicts the least
   * recently seen users while the windows are over their byte budget.
   */
  private account(h: UserHistory): void {
    const b = h.bytes();
    this.heldBytes += b - h.sized;
    h.sized = b;
    while (this.heldBytes > this.opts.maxBytes && this.users.size > 1) this.users.pop();
  }

  /** Writes the features of `tx` into `out[off … off+FEATURE_COUNT)` from the history before it. */
  compute(tx: FeatureInput, out: Float32Array, off: number): HistoryContext {
    const t = tx.timestamp;
    const h = this.users.get(tx.userId);
    const { lo, cnt, sum, max, dev, merchants, ctx } = this;
    out[off + F.amount] = tx.amount;
    out[off + F.hourOfDay] = new Date(t).getUTCHours();
    cnt.fill(0);
    sum.fill(0);
    max.fill(0);
    dev.fill(0);
    merchants.clear();
    let prevTs = Number.NaN;
    let last5Sum = 0;
    let last5N = 0;
    let seenMerchant = 0;
    if (h !== undefined && h.length === 0 && h.prunedMaxTs <= t) prevTs = h.prunedMaxTs;
    if (h !== undefined && h.length > 0) {
      const ts = h.ts;
      const am = h.amount;
      // e: one past the newest event at or before t (events after t are the future for a late tx).
      let e = h.end;
      while (e > h.start && ts[e - 1]! > t) e--;
      if (e > h.start) prevTs = ts[e - 1]!;
      else if (h.prunedMaxTs <= t) prevTs = h.prunedMaxTs; // every earlier event aged out of the windows
      // One backward pass: windows are nested, so an event inside window w is inside all wider ones.
      let w = 0;
      for (let i = e - 1; i >= h.start; i--) {
        const age = t - ts[i]!;
        if (age >= LONGEST_WINDOW_MS) break;
        while (w < NW && age >= WINDOW_MS[w]!) w++;
        const a = am[i]!;
        for (let k = w; k < NW; k++) {
          cnt[k]!++;
          sum[k]! += a;
          if (a > max[k]!) max[k] = a;
        }
        if (last5N < 5) {
          last5Sum += a;
          last5N++;
        }
        const m = h.merchant[i]!;
        if (m !== null) {
          merchants.add(m);
          if (m === tx.merchantId) seenMerchant = 1;
        }
      }
      // Second pass for the standard deviation around each window's mean (two-pass is exact
      // enough where sum-of-squares would cancel catastrophically on large equal amounts).
      for (let k = 0; k < NW; k++) lo[k] = e - cnt[k]!;
      const lo24 = lo[NW - 1]!;
      for (let i = lo24; i < e; i++) {
        const a = am[i]!;
        for (let k = 0; k < NW; k++) {
          if (i >= lo[k]!) {
            const d = a - sum[k]! / cnt[k]!;
            dev[k]! += d * d;
          }
        }
      }
    }
    for (let k = 0; k < NW; k++) {
      const n = cnt[k]!;
      out[off + F.window(k, 0)] = n;
      out[off + F.window(k, 1)] = sum[k]!;
      out[off + F.window(k, 2)] = n > 0 ? sum[k]! / n : 0;
      out[off + F.window(k, 3)] = max[k]!;
      out[off + F.window(k, 4)] = n > 0 ? Math.sqrt(dev[k]! / n) : 0;
    }
    out[off + F.secondsSincePrev] = Number.isNaN(prevTs) ? NO_PREVIOUS : (t - prevTs) / 1000;
    out[off + F.distinctMerchants24h] = merchants.size;
    out[off + F.merchantNew24h] = tx.merchantId !== null && seenMerchant === 0 ? 1 : 0;
    const n24 = cnt[NW - 1]!;
    const std24 = n24 > 0 ? Math.sqrt(dev[NW - 1]! / n24) : 0;
    out[off + F.amountZscore24h] = n24 >= 2 && std24 > 0 ? (tx.amount - sum[NW - 1]! / n24) / std24 : 0;
    ctx.meanLast5 = last5N > 0 ? last5Sum / last5N : Number.NaN;
    ctx.count24h = n24;
    return ctx;
  }

  /**
   * Adds `tx` to its user's history unless its transactionId was already counted or (live
   * traffic only) it is older than the user's newest event by more than the allowed lateness.
   */
  ingest(tx: FeatureInput, replaying = false): IngestResult {
    if (!this.seen.add(tx.transactionId)) return 'duplicate';
    let h = this.users.get(tx.userId);
    if (h === undefined) {
      h = new UserHistory(tx.userId);
      h.insert(tx.timestamp, tx.amount, tx.merchantId);
      this.users.set(tx.userId, h);
      this.account(h);
      return 'added';
    } else if (!replaying && tx.timestamp < h.maxTs - this.opts.allowedLatenessMs) {
      // A replay (windows rebuilt from several topics at once) takes any order: only live
      // traffic is held to the lateness bound.
      this.lateDropped++;
      return 'late';
    }
    const newest = Math.max(h.maxTs, tx.timestamp);
    // Keep what a transaction that is still allowed to arrive could need: 24 h before the
    // oldest acceptable event time.
    h.pruneBefore(newest - this.opts.allowedLatenessMs - LONGEST_WINDOW_MS);
    h.dropOldestBeyond(this.opts.maxEventsPerUser);
    h.insert(tx.timestamp, tx.amount, tx.merchantId);
    this.account(h);
    return 'added';
  }

  /**
   * Undoes `ingest` (the transaction failed to score, so a retry must not be a duplicate).
   * `joined`: whether ingest added it to the window (only then is an event removed).
   */
  forget(tx: FeatureInput, joined = true): void {
    this.seen.delete(tx.transactionId);
    const h = joined ? this.users.peek(tx.userId) : undefined;
    if (h !== undefined && h.remove(tx.timestamp, tx.amount, tx.merchantId)) this.account(h);
  }

  /** Drops every user `drop` says (a shard lost their partition); returns how many. */
  dropUsers(drop: (userId: string) => boolean): number {
    const gone: string[] = [];
    for (const userId of this.users.keys()) if (drop(userId)) gone.push(userId);
    for (const userId of gone) this.users.delete(userId); // dispose gives their bytes back
    return gone.length;
  }

  /** A user's events (oldest first), for tests and window snapshots. */
  snapshot(userId: string): { ts: number[]; amount: number[]; merchant: (string | null)[] } | undefined {
    const h = this.users.peek(userId);
    if (h === undefined) return undefined;
    return {
      ts: h.ts.slice(h.start, h.end),
      amount: h.amount.slice(h.start, h.end),
      merchant: h.merchant.slice(h.start, h.end),
    };
  }
}
