/**
 * Bounded memory of transactionIds, for the uniqueness check and for not counting an event
 * twice. Two generations of Sets: when the current one reaches half the bound (in ids or in
 * bytes) it becomes the previous one and the oldest generation is dropped. Membership is O(1),
 * memory is bounded by `max` ids and by `maxBytes`, and an id is remembered for at least max/2
 * newer ids of up to NOMINAL_ID_LENGTH characters (fewer when ids are longer).
 */
import { stringBytes } from '../core/heap-bytes.js';

/**
 * A Set entry: key and chain words (16 B) and a bucket share (4 B) per slot of the Set's table,
 * whose capacity doubles, so between one and two slots an id. Checked against a measurement by
 * bench/memory-cost.ts (bench/results-memory.md).
 */
export const SEEN_ENTRY_BYTES = 32;
/** The id length SEEN_IDS_MAX is sized for (a UUID). */
export const NOMINAL_ID_LENGTH = 36;
/** What one remembered id of NOMINAL_ID_LENGTH characters costs: the budget per SEEN_IDS_MAX. */
export const SEEN_ID_BYTES = SEEN_ENTRY_BYTES + stringBytes('x'.repeat(NOMINAL_ID_LENGTH));

export class SeenIds {
  private current = new Set<string>();
  private previous = new Set<string>();
  private currentBytes = 0;
  private previousBytes = 0;
  private readonly half: number;
  private readonly halfBytes: number;

  constructor(max: number, maxBytes = max * SEEN_ID_BYTES) {
    this.half = Math.max(1, Math.floor(max / 2));
    this.halfBytes = Math.max(SEEN_ID_BYTES, Math.floor(maxBytes / 2));
  }

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  /** Remembers `id`; returns false if it was already known. */
  add(id: string): boolean {
    if (this.has(id)) return false;
    const cost = SEEN_ENTRY_BYTES + stringBytes(id);
    if (this.current.size >= this.half || this.currentBytes + cost > this.halfBytes) {
      this.previous = this.current;
      this.previousBytes = this.currentBytes;
      this.current = new Set<string>();
      this.currentBytes = 0;
    }
    this.current.add(id);
    this.currentBytes += cost;
    return true;
  }

  delete(id: string): void {
    // An id is in one generation at most (add checks both): one lookup when it is in the current
    // one (a rebuild deletes every id it reads: ~12% of its time was here with two).
    if (this.current.delete(id)) this.currentBytes -= SEEN_ENTRY_BYTES + stringBytes(id);
    else if (this.previous.delete(id)) this.previousBytes -= SEEN_ENTRY_BYTES + stringBytes(id);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Estimated heap bytes held (ids and Set entries). */
  get bytes(): number {
    return this.currentBytes + this.previousBytes;
  }
}
