/**
 * What things cost on the V8 heap of a 64-bit Node 20 (no pointer compression), for the byte
 * budgets of the windows, the seen transactionIds and the remembered answers. The per-entry
 * figures live beside their owners and are checked against a measurement over many entries by
 * `node --expose-gc dist/bench/memory-cost.js` (bench/results-memory.md).
 */

/**
 * Heap bytes of a string held on its own: a 16-byte header and one byte a character, rounded
 * up to 8. Counted as one-byte (Latin-1) text; a string with other characters takes two bytes
 * a character, so an id in, say, Cyrillic is undercounted by its length.
 */
export function stringBytes(s: string): number {
  return (16 + s.length + 7) & ~7;
}

/**
 * Strings of at most this many characters that JSON.parse reads are internalised by V8 and
 * shared by every occurrence (measured: 1M parses of the same 10-character value cost 0 bytes
 * each, of an 11-character one 32 bytes each). Nothing here counts on it: a merchant id read
 * from Avro is a fresh string, so every string is counted as held on its own (an overcount of
 * at most 24 bytes an event for short merchant ids that arrived as JSON).
 */
export const JSON_SHARED_MAX_LENGTH = 10;

/**
 * lru-cache allocates its slot arrays for `max` entries up front: key and value lists (8 bytes a
 * slot each, on the heap), next/prev/free indexes (Uint32Array: 4 bytes each, off the heap), a
 * size list when sized (8) and start/ttl lists when it has a TTL (8 + 8).
 */
export function lruSlotBytes(max: number, opts: { sized: boolean; ttl: boolean }): number {
  const perSlot = 8 + 8 + (max > 65_536 ? 12 : max > 256 ? 6 : 3) + (opts.sized ? 8 : 0) + (opts.ttl ? 16 : 0);
  return max * perSlot;
}
