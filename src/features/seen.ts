/**
 * Bounded memory of transactionIds, for the uniqueness check and for not counting an event
 * twice. Two generations of Sets: when the current one reaches half the bound it becomes the
 * previous one and the oldest generation is dropped. Membership is O(1), memory is bounded by
 * `max` ids, and an id is remembered for at least max/2 newer ids.
 */
export class SeenIds {
  private current = new Set<string>();
  private previous = new Set<string>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  /** Remembers `id`; returns false if it was already known. */
  add(id: string): boolean {
    if (this.has(id)) return false;
    if (this.current.size >= this.half) {
      this.previous = this.current;
      this.current = new Set<string>();
    }
    this.current.add(id);
    return true;
  }

  delete(id: string): void {
    this.current.delete(id);
    this.previous.delete(id);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
