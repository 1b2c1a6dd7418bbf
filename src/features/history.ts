/**
 * One user's recent transactions, sorted by event time, in parallel arrays.
 *
 * Plain arrays, not typed arrays: with a million users each holding a few events, a typed
 * array's fixed cost (view, ArrayBuffer, backing store ≈ 250 B) dominated; a plain array of
 * doubles costs ≈ 32 B plus 8 B an element. Measured with bench/windows-memory: 1M users × 3
 * events (windows only) went from 911 MiB to 624 MiB RSS.
 *
 * Events live in [start, end) of the arrays; pruning moves `start`, growth compacts. Inserts
 * land at the end in the common in-order case and shift a few slots for late events, so the
 * arrays stay sorted and every window is a contiguous range found by scanning back from the end.
 */
import { stringBytes } from '../core/heap-bytes.js';

/** A slot of capacity: the ts and amount doubles and the merchant reference. */
export const BYTES_PER_EVENT = 8 + 8 + 8;
/**
 * A user's fixed cost besides its key and slots: this object (7 fields, 80 B) and its two boxed
 * doubles (maxTs, prunedMaxTs: 32 B), three JSArrays (96 B) and their backing stores' headers
 * (48 B), and the LRU's Map entry (~40 B at the Map's average load). Checked against a
 * measurement over 200k users by bench/memory-cost.ts (bench/results-memory.md).
 */
export const BYTES_PER_USER = 296;

export class UserHistory {
  ts: number[];
  amount: number[];
  merchant: (string | null)[];
  start = 0;
  end = 0;
  /** Newest event time ever accepted; the lateness bound is measured from it. */
  maxTs = -Infinity;
  /** Time of the newest event dropped by pruning: the previous transaction once all are gone. */
  prunedMaxTs = Number.NaN;
  /** The key's string (the LRU holds it) and the merchant ids held, as stringBytes counts them. */
  private readonly keyBytes: number;
  private merchantBytes = 0;
  /** What the engine last counted for this user (it counts again after each change). */
  sized = 0;

  constructor(userId: string, capacity = 4) {
    this.keyBytes = stringBytes(userId);
    this.ts = new Array<number>(capacity).fill(0.5); // 0.5: start as double arrays, never re-tagged
    this.amount = new Array<number>(capacity).fill(0.5);
    this.merchant = new Array<string | null>(capacity).fill(null);
  }

  get length(): number {
    return this.end - this.start;
  }

  get capacity(): number {
    return this.ts.length;
  }

  /**
   * Heap bytes this user holds, every string counted as its own (a merchant id shared with other
   * events is overcounted: the safe side of a budget).
   */
  bytes(): number {
    return BYTES_PER_USER + this.keyBytes + this.capacity * BYTES_PER_EVENT + this.merchantBytes;
  }

  private drop(i: number): void {
    const m = this.merchant[i]!;
    if (m !== null) this.merchantBytes -= stringBytes(m);
    this.merchant[i] = null;
  }

  /** Drops events at or before `cutoff`. */
  pruneBefore(cutoff: number): void {
    let i = this.start;
    while (i < this.end && this.ts[i]! <= cutoff) {
      this.prunedMaxTs = this.ts[i]!;
      this.drop(i);
      i++;
    }
    this.start = i;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /** Drops the oldest events until at most `max - 1` remain, making room for one more. */
  dropOldestBeyond(max: number): void {
    while (this.length >= max) {
      this.prunedMaxTs = this.ts[this.start]!;
      this.drop(this.start);
      this.start++;
    }
  }

  /** Inserts keeping time order; equal timestamps keep arrival order. Returns true if the arrays grew. */
  insert(ts: number, amount: number, merchant: string | null): boolean {
    let grew = false;
    if (this.end === this.capacity) grew = this.makeRoom();
    let i = this.end;
    // Shift later events right by one: a late event moves at most the events inside the lateness.
    while (i > this.start && this.ts[i - 1]! > ts) {
      this.ts[i] = this.ts[i - 1]!;
      this.amount[i] = this.amount[i - 1]!;
      this.merchant[i] = this.merchant[i - 1]!;
      i--;
    }
    this.ts[i] = ts;
    this.amount[i] = amount;
    this.merchant[i] = merchant;
    if (merchant !== null) this.merchantBytes += stringBytes(merchant);
    this.end++;
    if (ts > this.maxTs) this.maxTs = ts;
    return grew;
  }

  /** Removes one event equal to (ts, amount, merchant), newest first. Returns whether one was found. */
  remove(ts: number, amount: number, merchant: string | null): boolean {
    for (let i = this.end - 1; i >= this.start; i--) {
      if (this.ts[i] === ts && this.amount[i] === amount && this.merchant[i] === merchant) {
        if (merchant !== null) this.merchantBytes -= stringBytes(merchant);
        for (let j = i; j < this.end - 1; j++) {
          this.ts[j] = this.ts[j + 1]!;
          this.amount[j] = this.amount[j + 1]!;
          this.merchant[j] = this.merchant[j + 1]!;
        }
        this.end--;
        this.merchant[this.end] = null;
        return true;
      }
    }
    return false;
  }

  /** Compacts to the front, doubling capacity only when more than half is live. */
  private makeRoom(): boolean {
    const live = this.length;
    if (this.start > 0 && live <= this.capacity >>> 1) {
      for (let j = 0; j < live; j++) {
        this.ts[j] = this.ts[this.start + j]!;
        this.amount[j] = this.amount[this.start + j]!;
        this.merchant[j] = this.merchant[this.start + j]!;
      }
      for (let j = live; j < this.end; j++) this.merchant[j] = null;
      this.start = 0;
      this.end = live;
      return false;
    }
    const cap = this.capacity * 2;
    const ts = new Array<number>(cap).fill(0.5);
    const amount = new Array<number>(cap).fill(0.5);
    const merchant = new Array<string | null>(cap).fill(null);
    for (let j = 0; j < live; j++) {
      ts[j] = this.ts[this.start + j]!;
      amount[j] = this.amount[this.start + j]!;
      merchant[j] = this.merchant[this.start + j]!;
    }
    this.ts = ts;
    this.amount = amount;
    this.merchant = merchant;
    this.start = 0;
    this.end = live;
    return true;
  }
}
