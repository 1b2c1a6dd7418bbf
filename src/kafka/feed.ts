/**
 * Feature windows fed from Kafka. One consumer reads the transactions topic, the user-events
 * topic and scoregate's own scored topic (the gateway's changelog: what it scored over HTTP and
 * WebSocket) into the feature engine. Records are Avro in the Confluent wire format or JSON;
 * transactionIds already counted are skipped, so an event scored over HTTP and seen again here
 * counts once.
 *
 * On start every partition is sought to "now minus the longest window" (offsets for
 * timestamp) and replayed; `caughtUp` turns true once each partition reached the high
 * watermark it had at start, which is when /readyz may say ready.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { LONGEST_WINDOW_MS } from '../features/contract.js';
import type { FeatureEngine } from '../features/engine.js';
import { MAX_AHEAD_MS } from '../quality/checks.js';
import { parseTransaction } from '../quality/parse.js';
import { protectMerchantId } from '../privacy/index.js';
import type { AnswerStore } from '../idempotency/answers.js';
import { answerFromScoredRecord } from '../scoring/answer.js';
import { decimalText, splitWire } from './avro.js';
import type { Registry } from './registry.js';

export interface FeedOptions {
  topics: string[];
  groupId: string;
  /** How far back to replay on start: the longest window plus the allowed lateness. */
  lookbackMs: number;
  /**
   * The gateway's scored topic: its records also rebuild the answers remembered for idempotent
   * replay (this instance's before a restart, and other instances' answers).
   */
  scoredTopic?: string;
  answers?: AnswerStore;
  /**
   * Confirmed outcomes (src/monitoring/outcomes.ts): read from the end at start, not replayed
   * (the answers they join are in memory only); `take` returns the outcome counted.
   */
  labels?: { topic: string; take: (value: Buffer) => string };
  /**
   * Shards (src/cluster/): keep only the users this instance owns; `rebuilding` gives the
   * partition of a user whose windows are being rebuilt after a rebalance, or -1 (their ids may
   * be in the seen set from an earlier ownership).
   */
  keep?: (userId: string) => boolean;
  rebuilding?: (userId: string) => number;
}

/** What a rebuild (rewind) is for: the shard partitions whose users it rebuilds, and its deadline. */
export interface RewindOptions {
  partitions: number[];
  timeoutMs: number;
}

/** A rebuild under way: the partitions it still rebuilds (a lost one leaves it) and how to stop it. */
interface Rebuild {
  readonly partitions: Set<number>;
  readonly stop: (err: Error) => void;
}

/**
 * kafkajs hands over a fetch's batches one after another in microtasks: without a turn of the
 * event loop now and then, a start-up replay or a rebuild held every request for a whole fetch
 * (bench/kafka-ingest: up to 1.9 s of event-loop delay for 10 MiB of records). A turn every 1024
 * records (~12 ms of work) keeps the wait short at no measurable cost to the rate.
 */
const YIELD_EVERY = 1023;
/**
 * A fetch response is decoded whole before its first record is handed over: kafkajs' default
 * (10 MiB, ~66k records here) held the event loop ~140 ms a fetch. 2 MiB keeps that near 30 ms.
 */
const FETCH_MAX_BYTES = 2 * 1024 * 1024;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

type Target = Map<string, number>; // "topic:partition" → offset to reach

export class FeatureFeed {
  private consumer: Consumer | null = null;
  private readonly remaining: Target = new Map();
  private caughtUpResolve: (() => void) | null = null;
  readonly caughtUpPromise: Promise<void>;
  caughtUp = false;
  consumed = 0;
  /**
   * Per partition being rebuilt, the ids its users' records carried since its rebuild began
   * (read by the rebuild or by this feed): a rebuilt user counts each id once, whatever the seen
   * set held. Forgotten when the partition's rebuild succeeds or the partition is lost (its
   * users' windows are dropped then: a later rebuild must count those ids again). Kept when a
   * rebuild fails: the windows keep what it counted, and the retry reads it again.
   */
  private readonly rebuildSeen = new Map<number, Set<string>>();
  /** partition → the rebuild under way for it. */
  private readonly rebuildOf = new Map<number, Rebuild>();
  /**
   * "topic:partition" → the next offset the running consumer reads (where it was sought on
   * start, then past each batch it handed over). Its group is its own, but a rejoin (its
   * coordinator's broker died, or the process stalled past its session) makes kafkajs resume
   * from the last committed offset, or from the end for a partition never committed: records
   * landed meanwhile would be skipped. After a rejoin every partition is sought here again.
   */
  private readonly position = new Map<string, number>();
  private joins = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: Registry,
    private readonly engine: FeatureEngine,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly opts: FeedOptions,
  ) {
    this.caughtUpPromise = new Promise((r) => (this.caughtUpResolve = r));
  }

  static lookback(allowedLatenessMs: number): number {
    return LONGEST_WINDOW_MS + allowedLatenessMs;
  }

  /** Plans the replay, starts consuming (the topics were checked before: src/cluster/topics.ts). Resolves once running (not caught up). */
  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const since = Date.now() - this.opts.lookbackMs;
      const starts = new Map<string, number>();
      const labels = this.opts.labels?.topic;
      const topics = labels === undefined ? this.opts.topics : [...this.opts.topics, labels];
      for (const topic of topics) {
        const from = await admin.fetchTopicOffsetsByTimestamp(topic, since);
        const ends = await admin.fetchTopicOffsets(topic);
        for (const e of ends) {
          const key = `${topic}:${e.partition}`;
          const start = Number(from.find((f) => f.partition === e.partition)?.offset ?? e.high);
          // offsets-for-timestamp answers -1 when nothing is that recent: start at the end.
          const s = start < 0 || topic === labels ? Number(e.high) : start;
          starts.set(key, s);
          if (Number(e.high) > s) this.remaining.set(key, Number(e.high) - 1);
        }
      }
      const c = this.kafka.consumer({ groupId: this.opts.groupId || `scoregate-${hostname()}`, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100, maxBytes: FETCH_MAX_BYTES, retry: { retries: 10 } });
      this.consumer = c;
      // Caught up by the position reached, not by the last record handed over: a partition may
      // end with control records (a transactional producer's commit markers) that eachBatch
      // never sees; kafkajs reports batches of control records only here, and lastOffset counts them.
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        const key = `${e.payload.topic}:${e.payload.partition}`;
        // Batches of a partition come in order, except after a seek: the last one says where it is.
        this.position.set(key, Number(e.payload.lastOffset) + 1);
        if (reached(this.remaining, key, e.payload)) this.checkCaughtUp();
      });
      c.on(c.events.GROUP_JOIN, () => {
        if (++this.joins === 1) return; // the first: the start-up seeks below
        for (const [key, offset] of this.position) {
          const i = key.lastIndexOf(':');
          c.seek({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset: String(offset) });
        }
        this.log.warn('kafka feed rejoined its group: resuming where it was', { partitions: this.position.size });
      });
      for (const [key, offset] of starts) this.position.set(key, offset);
      await c.connect();
      await c.subscribe({ topics, fromBeginning: false });
      await c.run({ autoCommit: true, autoCommitInterval: 1000, eachBatchAutoResolve: true, eachBatch: (p) => this.onBatch(p) });
      for (const [key, offset] of starts) {
        const i = key.lastIndexOf(':');
        c.seek({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset: String(offset) });
      }
      this.log.info('kafka feed replaying', { topics: this.opts.topics, since: new Date(since).toISOString(), partitionsBehind: this.remaining.size });
      this.checkCaughtUp();
    } finally {
      await admin.disconnect();
    }
  }

  private checkCaughtUp(): void {
    if (!this.caughtUp && this.remaining.size === 0) {
      this.caughtUp = true;
      this.log.info('kafka feed caught up', { consumed: this.consumed });
      this.caughtUpResolve?.();
    }
  }

  private async onBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const topic = batch.topic;
    const counts = new Map<string, number>();
    for (const m of batch.messages) {
      if (m.value !== null) {
        const o = this.ingest(topic, m.value);
        this.counted(counts, typeof o === 'string' ? o : await o);
        if ((this.consumed & YIELD_EVERY) === 0) await turn();
      }
    }
    this.flush(topic, counts);
    this.metrics.kafkaLag.set({ topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
    await heartbeat();
  }

  private counted(counts: Map<string, number>, outcome: string): void {
    this.consumed++;
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }

  /** One labelled inc per outcome a batch: an inc per record was measurably part of the feed's time. */
  private flush(topic: string, counts: Map<string, number>): void {
    for (const [outcome, n] of counts) this.metrics.kafkaConsumed.inc({ topic, outcome }, n);
  }

  /**
   * Reads `parts` again from "now minus the lookback" up to the high watermark each has now (a
   * shard gained `opts.partitions` in a rebalance), with a consumer of its own that lives for
   * this rebuild: seeking the running feed's consumer raced kafkajs' own offset resolution (a
   * batch in flight when the seek landed could move the position past it, and part of a
   * partition was never read again; found by the shards test's gateway kill). The running feed
   * keeps reading new records meanwhile; both count each id once (rebuildSeen).
   *
   * Rejects when the rebuild consumer crashes, when `opts.timeoutMs` passes, or when every
   * partition it rebuilds was lost (forget); the caller retries.
   */
  async rewind(parts: { topic: string; partition: number }[], opts: RewindOptions): Promise<void> {
    // Registered before the first await: Shards marks the partitions rebuilding just before, and
    // an id the running feed reads from then on must be in their set.
    const mine = new Set(opts.partitions);
    let stop: (err: Error) => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    stopped.catch(() => undefined);
    const self: Rebuild = { partitions: mine, stop: (err) => stop(err) };
    for (const p of mine) {
      this.rebuildOf.set(p, self);
      if (!this.rebuildSeen.has(p)) this.rebuildSeen.set(p, new Set());
    }
    const timer = setTimeout(() => stop(new Error(`rebuild not finished after ${opts.timeoutMs} ms (CLUSTER_REBUILD_TIMEOUT_MS)`)), opts.timeoutMs);
    let ok = false;
    try {
      if (this.consumer !== null && parts.length > 0) {
        await this.replay(parts, stopped);
        await Promise.race([this.liveReached(parts), stopped]);
      }
      ok = true;
    } finally {
      clearTimeout(timer);
      for (const p of mine) {
        if (this.rebuildOf.get(p) !== self) continue;
        this.rebuildOf.delete(p);
        if (ok) this.rebuildSeen.delete(p);
      }
    }
  }

  /**
   * Partitions this instance lost: their users' windows were dropped, so forget the ids their
   * rebuild read; a rebuild left with none of its partitions stops.
   */
  forget(partitions: number[]): void {
    for (const p of partitions) {
      this.rebuildSeen.delete(p);
      const r = this.rebuildOf.get(p);
      if (r === undefined) continue;
      this.rebuildOf.delete(p);
      r.partitions.delete(p);
      if (r.partitions.size === 0) r.stop(new Error('every partition being rebuilt was lost'));
    }
  }

  /**
   * Resolves once the running feed has read `parts` up to their high watermarks as they are now.
   * The rebuild read up to the watermarks of its start; records landed since (the previous
   * owner's last answers, acknowledged after the new owner's plan) reach the windows through
   * this feed, and must be in them before the rebuilt users are served.
   */
  private async liveReached(parts: { topic: string; partition: number }[]): Promise<void> {
    const highs = [...(await this.offsets(parts, null))].map(([k, o]) => [k, o.high] as const);
    const behind = (): boolean => highs.some(([k, high]) => (this.position.get(k) ?? 0) < high);
    while (behind() && this.consumer !== null) await new Promise((r) => setTimeout(r, 20));
  }

  private async replay(parts: { topic: string; partition: number }[], stopped: Promise<never>): Promise<void> {
    const plan = await Promise.race([this.plan(parts), stopped]);
    // A partition with nothing since the lookback (its start is its high watermark) is done.
    if (plan.size === 0) return;
    const planned = [...plan].map(([k, p]) => `${k}@${p.start}..${p.target + 1}`);
    const c = this.kafka.consumer({ groupId: `${this.opts.groupId}.rebuild.${randomUUID().slice(0, 8)}`, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100, maxBytes: FETCH_MAX_BYTES, retry: { retries: 10 } });
    let records = 0;
    try {
      const left = new Map([...plan].map(([k, p]) => [k, p.target]));
      let done: () => void = () => undefined;
      let fail: (err: Error) => void = () => undefined;
      const finished = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
      finished.catch(() => undefined); // a crash before the race below is still seen by it
      // A crashed consumer reads nothing more (and one restarted by kafkajs would start from the
      // end, its seeks lost): the rebuild failed.
      c.on(c.events.CRASH, (e) => fail(e.payload.error instanceof Error ? e.payload.error : new Error(String(e.payload.error))));
      // Done by the position reached, not by the last record handed over: a partition may end
      // with control records (a transactional producer's commit markers) that eachBatch never
      // sees. kafkajs reports batches of control records only here; lastOffset counts them.
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        if (reached(left, `${e.payload.topic}:${e.payload.partition}`, e.payload) && left.size === 0) done();
      });
      await c.connect();
      await c.subscribe({ topics: [...new Set(parts.map((p) => p.topic))], fromBeginning: false });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const key = `${batch.topic}:${batch.partition}`;
          const target = left.get(key);
          // A partition not rebuilt, or done; or a fetch from before the seek landed (from the end).
          if (target === undefined || Number(batch.messages[0]?.offset ?? Infinity) > target) return;
          const counts = new Map<string, number>();
          for (const m of batch.messages) {
            if (Number(m.offset) > target) break;
            if (m.value !== null) {
              const o = this.ingest(batch.topic, m.value);
              this.counted(counts, typeof o === 'string' ? o : await o);
              if ((this.consumed & YIELD_EVERY) === 0) await turn();
            }
            records++;
          }
          this.flush(batch.topic, counts);
          await heartbeat();
        },
      });
      // Applied before its first fetch (as the feed's start-up seeks are).
      for (const [k, p] of plan) {
        const i = k.lastIndexOf(':');
        c.seek({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset: String(p.start) });
      }
      await Promise.race([finished, stopped]);
      this.log.info('feed rewound', { partitions: planned, records });
    } finally {
      await c.disconnect().catch(() => undefined);
    }
  }

  /** topic:partition → where a rebuild starts (now minus the lookback) and the last offset it reads. */
  private async plan(parts: { topic: string; partition: number }[]): Promise<Map<string, { start: number; target: number }>> {
    const plan = new Map<string, { start: number; target: number }>();
    for (const [key, { start, high }] of await this.offsets(parts, Date.now() - this.opts.lookbackMs)) {
      if (high > start) plan.set(key, { start, target: high - 1 });
    }
    return plan;
  }

  /**
   * "topic:partition" → its high watermark (a read-committed reader's end) and, with `since`,
   * the first offset at or after that time (the high watermark when nothing is that recent).
   */
  private async offsets(parts: { topic: string; partition: number }[], since: number | null): Promise<Map<string, { start: number; high: number }>> {
    const out = new Map<string, { start: number; high: number }>();
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const topic of new Set(parts.map((p) => p.topic))) {
        const wanted = new Set(parts.filter((p) => p.topic === topic).map((p) => p.partition));
        const from = since === null ? [] : await admin.fetchTopicOffsetsByTimestamp(topic, since);
        for (const e of await admin.fetchTopicOffsets(topic)) {
          if (!wanted.has(e.partition)) continue;
          const high = Number(e.high);
          const f = Number(from.find((x) => x.partition === e.partition)?.offset ?? high);
          out.set(`${topic}:${e.partition}`, { start: f < 0 ? high : f, high });
        }
      }
    } finally {
      await admin.disconnect();
    }
    return out;
  }

  /** A record's value decoded (Avro through the registry, or JSON), amounts as decimal text. */
  async decode(value: Buffer): Promise<unknown> {
    const decoded = splitWire(value) !== null ? await this.registry.decode(value) : (JSON.parse(value.toString('utf8')) as unknown);
    return normalise(decoded);
  }

  /**
   * One record into the windows; the outcome it is counted under. Synchronous (no promise per
   * record) unless the record's writer schema is not resolved yet: once per schema id.
   */
  private ingest(topic: string, value: Buffer): string | Promise<string> {
    if (this.opts.labels !== undefined && topic === this.opts.labels.topic) return this.opts.labels.take(value);
    let obj: unknown;
    try {
      const wire = splitWire(value);
      if (wire === null) obj = JSON.parse(value.toString('utf8'));
      else {
        const writer = this.registry.writerSchema(wire.schemaId);
        if (writer === undefined) {
          return this.registry.loadWriterSchema(wire.schemaId).then(
            () => this.ingest(topic, value),
            () => 'invalid',
          );
        }
        obj = writer.fromBuffer(wire.body);
      }
    } catch {
      return 'invalid';
    }
    return this.take(topic, normalise(obj));
  }

  private take(topic: string, obj: unknown): string {
    let outcome: string;
    try {
      const tx = parseTransaction(obj);
      const o = this.opts;
      if (o.keep !== undefined && !o.keep(tx.userId)) return 'not_owned';
      let again = false;
      const p = o.rebuilding === undefined ? -1 : o.rebuilding(tx.userId);
      const rebuilt = p >= 0;
      const seen = rebuilt ? this.rebuildSeen.get(p) : undefined;
      if (seen !== undefined) {
        // One lookup in the set of ids the partition's rebuild read (has, then add, was two).
        const before = seen.size;
        again = seen.add(tx.transactionId).size === before;
        if (!again) this.engine.seen.delete(tx.transactionId);
      }
      if (again) outcome = 'duplicate';
      else if (tx.timestamp > Date.now() + MAX_AHEAD_MS) outcome = 'future';
      else if (keptOut(obj)) {
        // The scorer kept it out of the windows (too late behind the user's newest event, or
        // stale): so does every replay of it, or windows rebuilt elsewhere would differ from
        // the ones its owner scored with (a replay takes events in any order, with no lateness
        // bound). Seen, so the scorer refuses it as a duplicate.
        this.engine.seen.add(tx.transactionId);
        outcome = 'kept_out';
      } else {
        // The windows keep merchantIds as the scorer does: protected (a card number never in clear).
        const merchantId = tx.merchantId === null ? null : protectMerchantId(tx.merchantId);
        // A replay (the start-up one, or a rebuilt user's: two consumers at once) takes any order.
        outcome = this.engine.ingest(merchantId === tx.merchantId ? tx : { ...tx, merchantId }, !this.caughtUp || rebuilt);
      }
      const answers = this.opts.answers;
      if (answers !== undefined && topic === this.opts.scoredTopic) {
        const a = answerFromScoredRecord(obj);
        if (a !== null) answers.remember(tx.transactionId, a.fingerprint, a.body, Date.now() - a.scoredAt);
      }
    } catch {
      outcome = 'invalid';
    }
    return outcome;
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    if (c !== null) await c.disconnect().catch(() => undefined); // commits resolved offsets
  }
}

/**
 * Whether a batch (as END_BATCH_PROCESS reports it) took `key` to its target offset in
 * `targets`; if so the key leaves `targets`. A fetch from before a seek landed reads from the
 * end, past the target: it does not count.
 */
function reached(targets: Map<string, number>, key: string, batch: { firstOffset: string | null; lastOffset: string }): boolean {
  const target = targets.get(key);
  if (target === undefined || batch.firstOffset === null || Number(batch.firstOffset) > target) return false;
  if (Number(batch.lastOffset) < target) return false;
  targets.delete(key);
  return true;
}

/**
 * Whether a scored record says its event did not join the user's windows: the lineage's
 * enrichment stage has `joinedWindows` 0 (Avro: a map of doubles; JSON: the same record).
 * A record without lineage (the input topic, user events) says nothing: false.
 */
export function keptOut(obj: unknown): boolean {
  const lineage = (obj as { lineage?: unknown }).lineage;
  if (!Array.isArray(lineage)) return false;
  for (const stage of lineage as { stage?: unknown; metrics?: Record<string, unknown> }[]) {
    if (stage?.stage === 'enrichment') return stage.metrics?.['joinedWindows'] === 0;
  }
  return false;
}

/**
 * Avro-decoded records carry decimal amounts as bytes: turn them into the decimal text the API
 * takes. In place: the record was decoded for this call alone (a copy per record was garbage).
 */
function normalise(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  const amount = o['amount'];
  if (Buffer.isBuffer(amount)) o['amount'] = decimalText(amount);
  return o;
}
