/**
 * The Kafka sink: scored events to `transactions.scored` (key userId) and dead letters to
 * `transactions.dlq`, Avro in the Confluent wire format. Every event goes into the durable
 * spool first (encoding is the only work on the request path); a sender loop moves the spool
 * to the broker in batches with acks=all, in order, committing the spool's cursor after each
 * acknowledged batch (a failed batch is sent again whole, by a new producer). While the broker is down the spool grows (up to
 * SPOOL_MAX_BYTES, after which the gateway refuses to score rather than lose events) and drains
 * when it returns. At-least-once: a batch whose acknowledgement was lost is sent again, so
 * consumers dedupe by transactionId.
 */
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { DeadLetter, EventSink, ScoredEvent } from '../sink/events.js';
import type { Spool } from '../sink/spool.js';
import { dlqRecord, dlqType, encodeWire, scoredRecord, scoredType } from './avro.js';
import type { SchemaIds } from './registry.js';

const TOPIC_SCORED = 0;
const TOPIC_DLQ = 1;
const TOPIC_AUDIT = 2;

export interface KafkaSinkOptions {
  topicScored: string;
  topicDlq: string;
  /** Audit records (JSON), through the same spool. */
  topicAudit: string;
  batchMax: number;
  lingerMs: number;
  /**
   * With CLUSTER_SHARDS: `scored` resolves once the broker acknowledged the event, not when it
   * is in the spool, so every answer a user's windows counted is in transactions.scored before
   * the answer leaves, and a new owner rebuilding the user after a crash reads all of it (the
   * shards test's gateway SIGKILL found answers scored on windows missing the dead owner's
   * last, still spooled, events).
   */
  ackBeforeAnswer?: boolean;
}

export class KafkaSink implements EventSink {
  private producer: Producer | null = null;
  private running = true;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  connected = false;
  sent = 0;
  // Records appended (counting those found in the spool at start) and records acknowledged by
  // the broker, in spool order: `acknowledged()` waits for the second to reach the first.
  private appended: number;
  private acked = 0;
  private readonly ackWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(
    private readonly kafka: Kafka,
    private readonly spool: Spool,
    private readonly ids: SchemaIds,
    private readonly opts: KafkaSinkOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.appended = spool.pendingRecords;
  }

  /**
   * Resolves once every event appended so far (scored, dead letter, audit) was acknowledged by
   * the broker (acks=all): what the Kafka input waits for before committing its offsets.
   */
  acknowledged(): Promise<void> {
    return this.ackOf(this.appended);
  }

  /** Resolves once the broker acknowledged the first `seq` records appended. */
  private ackOf(seq: number): Promise<void> {
    if (this.acked >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      // Kept in seq order (ack() resolves from the front); callers mostly come in order.
      const w = this.ackWaiters;
      let i = w.length;
      while (i > 0 && w[i - 1]!.seq > seq) i--;
      w.splice(i, 0, { seq, resolve });
    });
  }

  private ack(n: number): void {
    this.acked += n;
    const w = this.ackWaiters;
    // Waiters are kept in increasing seq order (ackOf).
    while (w.length > 0 && w[0]!.seq <= this.acked) w.shift()!.resolve();
  }

  start(): void {
    this.loop = this.run();
  }

  accepting(): boolean {
    return !this.spool.full;
  }

  /**
   * Resolves once the event is durable in the spool (the answer waits for this, not for Kafka),
   * or with ackBeforeAnswer once the broker acknowledged it.
   */
  scored(ev: ScoredEvent): Promise<void> {
    const durable = this.spool.appendDurable(TOPIC_SCORED, ev.transaction.userId, encodeWire(scoredType, this.ids.scored, scoredRecord(ev)));
    const seq = ++this.appended; // after: an append that throws added nothing
    this.poke();
    if (this.opts.ackBeforeAnswer !== true) return durable;
    return durable.then(() => this.ackOf(seq));
  }

  deadLetter(dl: DeadLetter): void {
    this.spool.append(TOPIC_DLQ, null, encodeWire(dlqType, this.ids.dlq, dlqRecord(dl)));
    this.appended++;
    this.poke();
  }

  /** An audit record (JSON text, the seed's audit_log shape) for the audit topic. */
  audit(json: string): void {
    this.spool.append(TOPIC_AUDIT, null, Buffer.from(json));
    this.appended++;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      // Linger: let more events join the batch before the sender reads. When answers wait for
      // the broker (shards) they do not linger: the events of this turn share the batch
      // (setImmediate), and while one batch is in flight the next fills by itself (one request
      // in flight). Measured with loadtest/cluster.ts, one request at a time: see README.
      if (this.opts.ackBeforeAnswer === true) setImmediate(w);
      else setTimeout(w, this.opts.lingerMs);
    }
  }

  private async connect(): Promise<Producer> {
    if (this.producer !== null) return this.producer;
    // No retries inside kafkajs: its retry of a multi-broker send skips brokers that answered
    // the first attempt, so records of a partition whose leader moved to one of them were never
    // sent while the send resolved (kafkajs PR #1798; the shards test's broker SIGKILL lost
    // acknowledged events this way). A failed batch is sent again whole by a new producer
    // (at-least-once, as before); kafkajs' idempotent producer requires internal retries, so it
    // is off.
    const p = this.kafka.producer({ idempotent: false, maxInFlightRequests: 1, allowAutoTopicCreation: true, retry: { retries: 0 } });
    await p.connect();
    this.producer = p;
    return p;
  }

  private async dropProducer(): Promise<void> {
    const p = this.producer;
    this.producer = null;
    if (p !== null) await p.disconnect().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running || this.spool.pendingRecords > 0) {
      await this.spool.flush();
      const batch = await this.spool.read(this.opts.batchMax, 4 * 1024 * 1024);
      if (batch.records.length === 0 && batch.skipped > 0) {
        // Only unreadable records (reported by the spool): step over them, the rest drains.
        this.spool.commit(batch.end, batch.bytes, batch.skipped);
        this.ack(batch.skipped);
        continue;
      }
      if (batch.records.length === 0) {
        if (!this.running) break;
        let recheck: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          this.wake = r;
          recheck = setTimeout(r, 200); // also re-check periodically
        });
        clearTimeout(recheck); // woken by an event: no timer left behind per idle wait
        this.wake = null;
        continue;
      }
      try {
        const producer = await this.connect();
        const scored = batch.records.filter((r) => r.topic === TOPIC_SCORED).map((r) => ({ key: r.key, value: r.value }));
        const dlq = batch.records.filter((r) => r.topic === TOPIC_DLQ).map((r) => ({ key: r.key, value: r.value }));
        const audit = batch.records.filter((r) => r.topic === TOPIC_AUDIT).map((r) => ({ key: r.key, value: r.value }));
        const topicMessages = [];
        if (scored.length > 0) topicMessages.push({ topic: this.opts.topicScored, messages: scored });
        if (dlq.length > 0) topicMessages.push({ topic: this.opts.topicDlq, messages: dlq });
        if (audit.length > 0) topicMessages.push({ topic: this.opts.topicAudit, messages: audit });
        await producer.sendBatch({ topicMessages, acks: -1, timeout: 10_000, compression: CompressionTypes.None });
        this.spool.commit(batch.end, batch.bytes, batch.records.length + batch.skipped);
        this.ack(batch.records.length + batch.skipped);
        this.sent += batch.records.length;
        this.metrics.kafkaProduced.inc(batch.records.length);
        if (!this.connected) this.log.info('kafka producer connected', { pending: this.spool.pendingRecords });
        this.connected = true;
        backoff = 100;
      } catch (err) {
        if (this.connected) this.log.warn('kafka unreachable: events wait in the spool', { error: String(err), pending: this.spool.pendingRecords });
        this.connected = false;
        this.metrics.kafkaSendErrors.inc();
        await this.dropProducer();
        if (!this.running && Date.now() > this.deadline) break;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private deadline = Infinity;

  /** Sends what the spool holds (up to `drainMs`), then stops; the rest stays spooled for the next start. */
  async close(drainMs = 10_000): Promise<void> {
    this.deadline = Date.now() + drainMs;
    this.running = false;
    this.wake?.();
    const timer = new Promise<void>((r) => setTimeout(r, drainMs).unref());
    await Promise.race([this.loop ?? Promise.resolve(), timer]);
    await this.dropProducer();
    await this.spool.close();
  }
}
