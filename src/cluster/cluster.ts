/**
 * The scale-out wiring the gateway asks for: which topics the windows feed reads and which
 * users it keeps, the one group member on the transactions topic (ownership with
 * CLUSTER_SHARDS, input scoring with KAFKA_SCORE_INPUT), and the scorer's routing hook that
 * forwards a user owned elsewhere.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { FeatureEngine } from '../features/engine.js';
import type { Answer } from '../idempotency/answers.js';
import type { FeatureFeed } from '../kafka/feed.js';
import type { KafkaSink } from '../kafka/sink.js';
import type { Transaction } from '../quality/transaction.js';
import type { ScoreContext, Scorer } from '../scoring/scorer.js';
import type { Metrics } from '../core/metrics.js';
import { Forwarder, LocalAgain, UNAVAILABLE, moving } from './forward.js';
import { InputScorer } from './input.js';
import { Shards } from './shards.js';
import type { TopicLayout } from './topics.js';

export class Cluster {
  readonly shards: Shards | null;
  private readonly forwarder: Forwarder | null;
  private consumer: Consumer | null = null;
  private input: InputScorer | null = null;
  private inputSet: (() => void) | null = null;
  private readonly inputReady: Promise<void>;
  private feed: FeatureFeed | null = null;
  private readonly userEventsPartitions: number;

  constructor(
    private readonly kafka: Kafka,
    private readonly c: Config,
    layout: TopicLayout,
    engine: FeatureEngine,
    private readonly log: Logger,
    metrics: Metrics,
    advertisedUrl: () => string,
  ) {
    this.inputReady = new Promise((r) => (this.inputSet = r));
    const inputPartitions = layout.partitions.get(c.topicTransactions) ?? c.topicTransactionsPartitions;
    this.userEventsPartitions = layout.partitions.get(c.topicUserEvents) ?? c.topicUserEventsPartitions;
    this.shards = c.clusterShards
      ? new Shards(kafka, { inputTopic: c.topicTransactions, inputPartitions, groupId: c.kafkaGroupId, sessionTimeoutMs: c.clusterSessionTimeoutMs, advertisedUrl, rebuild: (p) => this.rebuild(p), drop: (lost) => engine.dropUsers(lost), forget: (lost) => this.feed?.forget(lost) }, log)
      : null;
    const f = metrics.clusterForwarded;
    const [answered, refused, unavailable] = [f.labels('answered'), f.labels('refused'), f.labels('unavailable')];
    this.forwarder =
      this.shards === null
        ? null
        : new Forwarder((u) => this.shards!.route(u), c.clusterSecret, { answered: () => answered.inc(), refused: () => refused.inc(), unavailable: () => unavailable.inc() });
  }

  /** Topics the windows feed reads: not the input when it is scored here (its events come back on the scored topic). */
  feedTopics(): string[] {
    const c = this.c;
    return c.kafkaScoreInput ? [c.topicUserEvents, c.topicScored] : [c.topicTransactions, c.topicUserEvents, c.topicScored];
  }

  /** The feed's own group: with shards or input scoring, KAFKA_GROUP_ID belongs to the input's member. */
  feedGroupId(): string {
    // The feed seeks on start and needs no committed offsets of its own: a group per process.
    // It must not share KAFKA_GROUP_ID with the input member (other subscriptions in one group).
    const c = this.c;
    return c.clusterShards || c.kafkaScoreInput ? `${c.kafkaGroupId}.windows.${randomUUID().slice(0, 8)}` : c.kafkaGroupId;
  }

  feedHooks(): { keep?: (u: string) => boolean; rebuilding?: (u: string) => number } {
    const s = this.shards;
    return s === null ? {} : { keep: (u) => s.owns(u), rebuilding: (u) => s.rebuildingPartition(u) };
  }

  /** With shards: joins the group and resolves at the first assignment (the feed filters on it). */
  async join(): Promise<void> {
    if (this.shards === null) return;
    await this.startConsumer();
    await this.shards.assigned;
  }

  private async startConsumer(): Promise<void> {
    const c = this.c;
    const s = this.shards;
    const consumer = this.kafka.consumer({
      groupId: c.kafkaGroupId,
      ...(s === null ? {} : s.consumerConfig()),
      sessionTimeout: c.clusterSessionTimeoutMs,
      rebalanceTimeout: 2 * c.clusterSessionTimeoutMs,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 100,
      retry: { retries: 10 },
    });
    this.consumer = consumer;
    if (s !== null) await s.attach(consumer);
    await consumer.connect();
    // A group without committed offsets starts at the earliest record: nothing produced before
    // the first instance joined goes unscored (at-least-once from the first record on).
    await consumer.subscribe({ topics: [c.topicTransactions], fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      // Ownership only: the member fetches nothing (the feed reads what it owns). Paused once
      // it is in the group: kafkajs refuses a pause before run() has made the group (it threw
      // "Consumer group was not initialized" and the process exited).
      if (!c.kafkaScoreInput) consumer.pause([{ topic: c.topicTransactions }]);
      this.log.info('kafka group joined', { groupId: c.kafkaGroupId, partitions: e.payload.memberAssignment[c.topicTransactions]?.length ?? 0 });
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(consumer, p) });
    consumer.on(consumer.events.CRASH, (e) => this.log.error('kafka group member crashed', { error: String(e.payload.error) }));
  }

  private async onBatch(consumer: Consumer, p: EachBatchPayload): Promise<void> {
    await this.inputReady;
    if (this.input !== null) await this.input.onBatch(consumer, p);
  }

  /** After the feed and the sink are up: input scoring (KAFKA_SCORE_INPUT) and the routing hook. */
  async start(scorer: Scorer, feed: FeatureFeed, sink: KafkaSink): Promise<void> {
    this.feed = feed;
    const c = this.c;
    if (c.kafkaScoreInput) {
      this.input = new InputScorer(
        scorer,
        {
          ready: async (p) => {
            await feed.caughtUpPromise;
            await this.shards?.ready(p);
          },
          decode: (v) => feed.decode(v),
          acknowledged: () => sink.acknowledged(),
          budgetMs: c.requestBudgetMs,
        },
        this.log,
      );
      if (this.consumer === null) await this.startConsumer();
    }
    this.inputSet?.();
    if (this.shards !== null) scorer.route = (tx, value, ctx) => this.route(tx, value, ctx);
  }

  /** The scorer's hook: null to score here, else the owner's answer (or a 503 while it moves). */
  private route(tx: Transaction, value: unknown, ctx: ScoreContext): Promise<Answer> | null {
    const s = this.shards!;
    const r = s.route(tx.userId);
    if (r.kind === 'local') return null;
    if (ctx.forwarded === true || ctx.source === 'kafka') {
      // A forwarded request is never forwarded again; the input's own records are all ours.
      if (ctx.source === 'kafka') return null;
      throw moving(r.kind === 'rebuilding' || r.kind === 'fenced' ? UNAVAILABLE[r.kind] : 'this instance no longer owns this user (rebalance in progress)');
    }
    // What the client asked of the first instance travels with it: the explanation, and what is
    // left of its budget (the owner's deadline counts from its own receipt).
    const left = Math.max(1, Math.floor(ctx.budgetMs - (performance.now() - ctx.startedAt)));
    return this.forwarder!.forward(tx.userId, value, ctx.explain === true, left).catch((err: unknown) => {
      if (err instanceof LocalAgain) return Promise.reject(moving('ownership moved here while forwarding: retry'));
      throw err;
    });
  }

  private async rebuild(partitions: number[]): Promise<void> {
    const feed = this.feed;
    if (feed === null) return; // not started yet: its start-up replay reads what is owned
    const c = this.c;
    const parts = partitions.flatMap((p) => [
      { topic: c.topicScored, partition: p },
      { topic: c.topicUserEvents, partition: p % this.userEventsPartitions },
      ...(c.kafkaScoreInput ? [] : [{ topic: c.topicTransactions, partition: p }]),
    ]);
    await feed.rewind(parts, { partitions, timeoutMs: c.clusterRebuildTimeoutMs });
  }

  /** Records scored from the input (for tests and logs). */
  inputCounts(): { scored: number; replayed: number; rejected: number } | null {
    const i = this.input;
    return i === null ? null : { scored: i.scored, replayed: i.replayed, rejected: i.rejected };
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.inputSet?.();
    await consumer?.disconnect().catch(() => undefined);
    await this.shards?.stop();
    await this.forwarder?.close();
  }
}
