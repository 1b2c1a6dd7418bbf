/**
 * Remembered answers, for idempotent retries: transactionId is the idempotency key.
 *
 * - An id whose answer is remembered replays it (byte for byte) when the retry's fingerprint
 *   matches, and is a conflict (IDEMPOTENCY_KEY_REUSED) when it does not.
 * - An id being scored right now has a pending entry: a retry with the same fingerprint waits
 *   for the first one's answer (bounded by the first one's budget), never a second score.
 * - Only answers that were given (200) are remembered; a failure deletes the pending entry so
 *   the client may retry.
 *
 * Bounded by IDEMPOTENCY_MAX_ANSWERS and by IDEMPOTENCY_MAX_ANSWERS × NOMINAL_ANSWER_BYTES in bytes
 * (least recently used evicted first), and by IDEMPOTENCY_TTL_S.
 * With Kafka, the answers are rebuilt on start from `transactions.scored` (the event carries the
 * fingerprint and everything the answer held), which is also how answers given by another
 * instance become replayable here.
 */
import { LRUCache } from 'lru-cache';
import { stringBytes } from '../core/heap-bytes.js';

/**
 * A remembered answer's fixed cost besides its strings (key, fingerprint, body): the
 * { fp, body } object (40 B) and the LRU's Map entry (~40 B at the Map's average load).
 * Checked against a measurement by bench/memory-cost.ts (bench/results-memory.md).
 */
export const ANSWER_ENTRY_BYTES = 80;
/**
 * The answer size IDEMPOTENCY_MAX_ANSWERS is sized for: a 36-character transactionId, its
 * 22-character fingerprint and a 240-character body (a scored answer with the shipped model's
 * name and version, one quality flag; measured bodies are 200–260 characters).
 */
export const NOMINAL_ANSWER_BYTES = ANSWER_ENTRY_BYTES + stringBytes('x'.repeat(36)) + stringBytes('x'.repeat(22)) + stringBytes('x'.repeat(240));

/** Estimated heap bytes of one remembered answer. */
export function answerBytes(id: string, fp: string, body: string): number {
  return ANSWER_ENTRY_BYTES + stringBytes(id) + stringBytes(fp) + stringBytes(body);
}

export interface Answer {
  /** The result object as JSON, exactly as first answered. */
  body: string;
  /** True when this is a replay of an earlier answer. */
  replayed: boolean;
  /** With CLUSTER_SHARDS: the owner that answered, when it is another instance (src/cluster/). */
  owner?: string;
}

interface Remembered {
  fp: string;
  body: string;
}

export type Lookup =
  | { kind: 'answer'; body: string }
  | { kind: 'pending'; promise: Promise<Answer> }
  | { kind: 'conflict' }
  | { kind: 'new' };

const NEW: Lookup = { kind: 'new' };
const CONFLICT: Lookup = { kind: 'conflict' };

export interface AnswerStoreOptions {
  maxAnswers: number;
  ttlMs: number;
  /** Byte budget; default maxAnswers × NOMINAL_ANSWER_BYTES (longer answers: fewer remembered). */
  maxBytes?: number;
}

export class AnswerStore {
  private readonly done: LRUCache<string, Remembered>;
  private readonly pending = new Map<string, { fp: string; promise: Promise<Answer> }>();

  constructor(opts: AnswerStoreOptions) {
    // ttlAutopurge off: expired entries are dropped when touched or evicted, with no timer per entry.
    this.done = new LRUCache<string, Remembered>({
      max: opts.maxAnswers,
      maxSize: opts.maxBytes ?? opts.maxAnswers * NOMINAL_ANSWER_BYTES,
      sizeCalculation: (r, id) => answerBytes(id, r.fp, r.body),
      ttl: opts.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
    });
  }

  lookup(id: string, fp: string): Lookup {
    const r = this.done.get(id);
    if (r !== undefined) return r.fp === fp ? { kind: 'answer', body: r.body } : CONFLICT;
    const p = this.pending.get(id);
    if (p !== undefined) return p.fp === fp ? { kind: 'pending', promise: p.promise } : CONFLICT;
    return NEW;
  }

  /** Marks `id` as being scored; later lookups with the same fingerprint wait for `promise`. */
  begin(id: string, fp: string, promise: Promise<Answer>): void {
    this.pending.set(id, { fp, promise });
  }

  /** The first scoring of `id` ended: remember its answer (body), or forget it (null: it failed). */
  settle(id: string, fp: string, body: string | null): void {
    this.pending.delete(id);
    if (body !== null) this.done.set(id, { fp, body });
  }

  /** An answer learnt from elsewhere (the scored topic on start, or another instance). */
  remember(id: string, fp: string, body: string, ageMs = 0): void {
    if (this.pending.has(id)) return; // being scored here now: that answer wins
    this.done.set(id, { fp, body }, ageMs > 0 ? { start: performance.now() - ageMs } : undefined);
  }

  has(id: string): boolean {
    return this.done.has(id) || this.pending.has(id);
  }

  get size(): number {
    return this.done.size;
  }

  /** Estimated heap bytes of the remembered answers. */
  get bytes(): number {
    return this.done.calculatedSize;
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}
