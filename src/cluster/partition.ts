/**
 * Which partition a user's records are on: Kafka's default partitioner for keyed records, the
 * Java client's `Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions` (murmur2, seed
 * 0x9747b28c), which kafkajs' DefaultPartitioner also uses. Producers anywhere on the platform
 * key by userId, so a user's transactions, user events and scored events sit on the same
 * partition number of co-partitioned topics, and the owner of that number owns the user.
 * Tested against kafkajs' partitioner and the Java client's published values.
 */

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** MurmurHash2 (32 bit) of `data` as Kafka's Java client computes it: a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail, 1 to 3 bytes (Java's switch falls through).
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/** The partition of a record keyed `key` on a topic of `partitions` partitions. */
export function partitionOf(key: string, partitions: number): number {
  // Java's toPositive: clear the sign bit (not Math.abs).
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}
