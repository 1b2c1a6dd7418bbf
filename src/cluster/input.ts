/**
 * Scoring the Kafka stream (KAFKA_SCORE_INPUT=true): transactions producers write to the
 * transactions topic are scored as HTTP requests are — quality, idempotency, uniqueness,
 * features, model, sink — with `source: "kafka"`.
 *
 * Delivery: at-least-once, deduplicated by transactionId. For each fetched batch of a
 * partition, every record is scored (the scored event, or a dead letter, goes through the
 * durable spool); then the gateway waits until the broker acknowledged everything the spool
 * held at that point (acks=all), and only then commits the batch's offsets. A crash before the
 * commit replays the batch: a record whose answer is remembered (in memory, or rebuilt from
 * transactions.scored at start) replays it and writes nothing; one whose event was still in the
 * spool when the process died is sent from the spool at restart *and* may be scored again, so
 * downstream consumers dedupe by transactionId (the scored topic is keyed by userId and carries
 * it). Kafka transactions with sendOffsets were not used: the events go through the spool
 * (the answer path's durability) and another producer, so one Kafka transaction cannot cover
 * both; exactly-once would mean a transactional producer per input partition inside the sink.
 *
 * Records of one user are scored one after another in offset order (a transaction's features
 * come from the user's earlier ones); different users of a batch are scored concurrently.
 */
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { asScoregateError, ScoregateError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Scorer } from '../scoring/scorer.js';

export interface InputHooks {
  /** Resolves when the partition's users may be scored (windows caught up / rebuilt). */
  ready(partition: number): Promise<void>;
  /** Decodes a record's value (Avro or JSON). */
  decode(value: Buffer): Promise<unknown>;
  /** Resolves once every event written so far was acknowledged by the broker. */
  acknowledged(): Promise<void>;
  budgetMs: number;
}

const RETRY_MS = 200;

export class InputScorer {
  scored = 0;
  replayed = 0;
  rejected = 0;
  private waits = 0;
  private batches = 0;

  constructor(
    private readonly scorer: Scorer,
    private readonly hooks: InputHooks,
    private readonly log: Logger,
  ) {}

  /** The consumer's eachBatch: score, wait for the broker's acknowledgement, commit. */
  async onBatch(consumer: Consumer, p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (batch.messages.length === 0) return;
    if (this.batches++ === 0) this.log.info('kafka input: first batch', { topic: batch.topic, partition: batch.partition, records: batch.messages.length });
    await this.hooks.ready(batch.partition);
    const chains = new Map<string, Promise<void>>();
    for (const m of batch.messages) {
      const key = m.key?.toString('utf8') ?? '';
      const prev = chains.get(key) ?? Promise.resolve();
      chains.set(key, prev.then(() => this.one(m, p)));
    }
    await Promise.all(chains.values());
    if (!p.isRunning() || p.isStale()) return; // revoked meanwhile: the next owner scores (replays) them
    await this.hooks.acknowledged();
    const last = batch.messages[batch.messages.length - 1]!;
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last.offset) + 1) }]);
    p.resolveOffset(last.offset);
    await p.heartbeat();
  }

  private async one(m: KafkaMessage, p: EachBatchPayload): Promise<void> {
    const receivedAt = Date.now();
    const raw = (): string => m.value?.toString('utf8') ?? '';
    let value: unknown;
    try {
      if (m.value === null) throw new Error('a record without a value');
      value = await this.hooks.decode(m.value);
    } catch (err) {
      this.rejected++;
      this.scorer.reject(new ScoregateError('INVALID_JSON', `record ${p.batch.topic}/${p.batch.partition}@${m.offset} cannot be decoded: ${String(err)}`), { source: 'kafka', receivedAt, raw });
      return;
    }
    // 503s (not ready, sink full, overloaded) are retried until they pass: the offset is not
    // committed before this record is scored. Any other error was a dead letter: done.
    for (;;) {
      try {
        const a = await this.scorer.score(value, { source: 'kafka', receivedAt, startedAt: performance.now(), budgetMs: this.hooks.budgetMs, raw });
        if (a.replayed) this.replayed++;
        else this.scored++;
        return;
      } catch (err) {
        const e = asScoregateError(err);
        if (e.status !== 503) {
          this.rejected++;
          return;
        }
        if (!p.isRunning() || p.isStale()) return;
        if (this.waits++ % 50 === 0) this.log.warn('kafka input waits: the record is retried', { code: e.code, message: e.message, offset: m.offset, waits: this.waits });
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}
