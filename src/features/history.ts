/**
 * One user's recent transactions, sorted by event time, in parallel typed arrays.
 *
 * Events live in [start, end) of the arrays; pruning moves `start`, growth compacts. Inserts
 * land at the end in the common in-order case and shift a few slots for late events, so the
 * arrays stay sorted and every window is a contiguous range found by scanning back from the end.
 */
export const BYTES_PER_EVENT = 8 + 8 + 8; // ts + amount + merchant reference
export const BYTES_PER_USER = 160; // object, arrays' headers, LRU entry (measured order of magnitude)

export class UserHistory {
  ts: Float64Array;
  amount: Float64Array;
  merchant: (string | null)[];
  start = 0;
  end = 0;
  /** Newest event time ever accepted; the lateness bound is measured from it. */
  maxTs = -Infinity;
  /** Time of the newest event dropped by pruning: the previous transaction once all are gone. */
  prunedMaxTs = Number.NaN;

  constructor(capacity = 4) {
    this.ts = new Float64Array(capacity);
    this.amount = new Float64Array(capacity);
    this.merchant = new Array<string | null>(capacity).fill(null);
  }

  get length(): number {
    return this.end - this.start;
  }

  get capacity(): number {
    return this.ts.length;
  }

  bytes(): number {
    return BYTES_PER_USER + this.capacity * BYTES_PER_EVENT;
  }

  /** Drops events at or before `cutoff`. */
  pruneBefore(cutoff: number): void {
    let i = this.start;
    while (i < this.end && this.ts[i]! <= cutoff) {
      this.prunedMaxTs = this.ts[i]!;
      this.merchant[i] = null;
      i++;
    }
    this.start = i;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /** Drops the oldest events until at most `max - 1` remain, making room for one more. */
  dropOldestBeyond(max: number): void {
    while (this.length >= max) {
      this.prunedMaxTs = this.ts[this.start]!;
      this.merchant[this.start] = null;
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
    this.end++;
    if (ts > this.maxTs) this.maxTs = ts;
    return grew;
  }

  /** Removes one event equal to (ts, amount, merchant), newest first. Returns whether one was found. */
  remove(ts: number, amount: number, merchant: string | null): boolean {
    for (let i = this.end - 1; i >= this.start; i--) {
      if (this.ts[i] === ts && this.amount[i] === amount && this.merchant[i] === merchant) {
        this.ts.copyWithin(i, i + 1, this.end);
        this.amount.copyWithin(i, i + 1, this.end);
        for (let j = i; j < this.end - 1; j++) this.merchant[j] = this.merchant[j + 1]!;
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
      this.ts.copyWithin(0, this.start, this.end);
      this.amount.copyWithin(0, this.start, this.end);
      for (let j = 0; j < live; j++) this.merchant[j] = this.merchant[this.start + j]!;
      for (let j = live; j < this.end; j++) this.merchant[j] = null;
      this.start = 0;
      this.end = live;
      return false;
    }
    const cap = this.capacity * 2;
    const ts = new Float64Array(cap);
    const amount = new Float64Array(cap);
    const merchant = new Array<string | null>(cap).fill(null);
    ts.set(this.ts.subarray(this.start, this.end));
    amount.set(this.amount.subarray(this.start, this.end));
    for (let j = 0; j < live; j++) merchant[j] = this.merchant[this.start + j]!;
    this.ts = ts;
    this.amount = amount;
    this.merchant = merchant;
    this.start = 0;
    this.end = live;
    return true;
  }
}
