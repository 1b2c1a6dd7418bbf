/**
 * The gateway's topics as the seed sets them (docs: platform-architecture §1), checked at start
 * and, with TOPICS_CREATE=true, created when missing.
 *
 * | topic                  | partitions                         | retention | why                                   |
 * |------------------------|------------------------------------|-----------|---------------------------------------|
 * | financial-transactions | TOPIC_TRANSACTIONS_PARTITIONS (24) | 7 d       | the seed                              |
 * | user-events            | TOPIC_USER_EVENTS_PARTITIONS (12)  | 90 d      | the seed                              |
 * | transactions.scored    | = financial-transactions' count    | 7 d       | co-partitioned: the changelog of a    |
 * | transactions.dlq       | = financial-transactions' count    | 7 d       | user's windows sits on the same       |
 * |                        |                                    |           | partition number as its input         |
 * | audit-logs             | TOPIC_AUDIT_PARTITIONS (12)        | 7 years   | the seed's audit trail retention       |
 * | fraud-labels           | 12                                 | 90 d      | outcomes arrive weeks late            |
 *
 * Every topic gets KAFKA_REPLICATION_FACTOR replicas (3) and min.insync.replicas
 * KAFKA_MIN_INSYNC_REPLICAS (2). user-events has half the partitions of the input in the seed:
 * that still works for user-affine shards because 12 divides 24 — a user on input partition p is
 * on user-events partition p mod 12 (murmur2(key) mod 24 mod 12 = murmur2(key) mod 12), so the
 * owner of p reads that partition and keeps only its own users' keys. A count that does not
 * divide the input's is refused like a scored topic whose count differs from the input's.
 *
 * Refusals are TopicError (the gateway exits 2 with the message, which names the topic).
 */
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Logger } from '../core/log.js';

// kafkajs is CommonJS: this enum is not visible as a named ESM export.
const { ConfigResourceTypes } = kafkajs;

const DAY_MS = 86_400_000;

export interface TopicSpec {
  name: string;
  partitions: number;
  retentionMs: number;
  /** How this topic's partition count must relate to the input's. */
  relation: 'input' | 'equal' | 'divides' | 'free';
}

export interface TopicSettings {
  topicTransactions: string;
  topicUserEvents: string;
  topicScored: string;
  topicDlq: string;
  topicAudit: string;
  topicLabels: string;
  topicTransactionsPartitions: number;
  topicUserEventsPartitions: number;
  topicAuditPartitions: number;
  kafkaReplicationFactor: number;
  kafkaMinInsyncReplicas: number;
  topicsCreate: boolean;
}

export class TopicError extends Error {
  constructor(readonly topic: string, message: string) {
    super(`topic ${topic}: ${message}`);
    this.name = 'TopicError';
  }
}

/** The topics of the seed's layout for these settings (scored and dlq sized on `inputPartitions`). */
export function topicPlan(s: TopicSettings, inputPartitions = s.topicTransactionsPartitions): TopicSpec[] {
  return [
    { name: s.topicTransactions, partitions: s.topicTransactionsPartitions, retentionMs: 7 * DAY_MS, relation: 'input' },
    { name: s.topicUserEvents, partitions: s.topicUserEventsPartitions, retentionMs: 90 * DAY_MS, relation: 'divides' },
    { name: s.topicScored, partitions: inputPartitions, retentionMs: 7 * DAY_MS, relation: 'equal' },
    { name: s.topicDlq, partitions: inputPartitions, retentionMs: 7 * DAY_MS, relation: 'equal' },
    { name: s.topicAudit, partitions: s.topicAuditPartitions, retentionMs: 7 * 365 * DAY_MS, relation: 'free' },
    // Confirmed outcomes (src/monitoring/): not in the seed; the cluster default's 12 partitions,
    // 90 d (chargebacks arrive weeks later).
    { name: s.topicLabels, partitions: 12, retentionMs: 90 * DAY_MS, relation: 'free' },
  ];
}

/** What was found: partitions per topic, and the topics this start created. */
export interface TopicLayout {
  partitions: Map<string, number>;
  created: string[];
}

/**
 * Checks (and with topicsCreate, creates) the topics; throws TopicError naming the topic when
 * one is missing, not co-partitioned with the input, or replicated below the settings.
 * Connection errors propagate as they are (the caller retries those).
 */
export async function ensureTopics(admin: Admin, s: TopicSettings): Promise<TopicLayout> {
  const existing = new Set(await admin.listTopics());
  const created: string[] = [];
  const create = async (specs: TopicSpec[]): Promise<void> => {
    const missing = specs.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    if (!s.topicsCreate) throw new TopicError(missing[0]!.name, 'does not exist (set TOPICS_CREATE=true to let the gateway create it, or create it as the seed sets it)');
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: s.kafkaReplicationFactor,
        configEntries: [
          { name: 'retention.ms', value: String(t.retentionMs) },
          { name: 'min.insync.replicas', value: String(s.kafkaMinInsyncReplicas) },
        ],
      })),
    });
    for (const t of missing) {
      created.push(t.name);
      existing.add(t.name);
    }
    await waitForLeaders(admin, missing.map((t) => t.name));
  };
  // The input first: scored and dlq are created with its actual partition count.
  const plan = topicPlan(s);
  await create(plan.filter((t) => t.relation === 'input'));
  const inputMeta = await admin.fetchTopicMetadata({ topics: [s.topicTransactions] });
  const inputPartitions = inputMeta.topics[0]!.partitions.length;
  const full = topicPlan(s, inputPartitions);
  await create(full.filter((t) => t.relation !== 'input'));

  const names = full.map((t) => t.name);
  const meta = await admin.fetchTopicMetadata({ topics: names });
  const partitions = new Map<string, number>();
  for (const t of meta.topics) partitions.set(t.name, t.partitions.length);
  for (const spec of full) {
    const n = partitions.get(spec.name) ?? 0;
    if (spec.relation === 'equal' && n !== inputPartitions) {
      throw new TopicError(spec.name, `has ${n} partitions but ${s.topicTransactions} has ${inputPartitions}: they must be co-partitioned (equal counts) so a user's changelog sits on its input partition's number`);
    }
    if (spec.relation === 'divides' && inputPartitions % n !== 0) {
      throw new TopicError(spec.name, `has ${n} partitions, which does not divide ${s.topicTransactions}'s ${inputPartitions}: a shard could not find its users there`);
    }
  }
  // In the plan's order (the input first), so the refusal names the same topic every time.
  for (const t of [...meta.topics].sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name))) {
    for (const p of t.partitions) {
      if (p.replicas.length < s.kafkaReplicationFactor) {
        throw new TopicError(t.name, `partition ${p.partitionId} has ${p.replicas.length} replica(s), below KAFKA_REPLICATION_FACTOR=${s.kafkaReplicationFactor}`);
      }
    }
  }
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['min.insync.replicas'] })),
  });
  for (const r of [...configs.resources].sort((a, b) => names.indexOf(a.resourceName) - names.indexOf(b.resourceName))) {
    const entry = r.configEntries.find((e) => e.configName === 'min.insync.replicas');
    const isr = Number(entry?.configValue ?? '1');
    if (isr < s.kafkaMinInsyncReplicas) {
      throw new TopicError(r.resourceName, `has min.insync.replicas=${isr}, below KAFKA_MIN_INSYNC_REPLICAS=${s.kafkaMinInsyncReplicas}`);
    }
  }
  return { partitions, created };
}

/**
 * Waits until every partition of `topics` has a leader. kafkajs' own waitForLeaders gives up on
 * UNKNOWN_TOPIC_OR_PARTITION, which a broker answers for a moment after creating many partitions.
 */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await admin.fetchTopicMetadata({ topics }).then(
      (m) => m.topics.length === topics.length && m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)),
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * ensureTopics through a fresh admin connection, retried while Kafka cannot be reached (it may
 * be electing leaders); a TopicError is final and propagates (the gateway exits 2).
 */
export async function prepareTopics(kafka: Kafka, s: TopicSettings, log: Logger, stopping: () => boolean): Promise<TopicLayout | null> {
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const layout = await ensureTopics(admin, s);
      log.info('kafka topics checked', { partitions: Object.fromEntries(layout.partitions), created: layout.created, replicationFactor: s.kafkaReplicationFactor, minInsyncReplicas: s.kafkaMinInsyncReplicas });
      return layout;
    } catch (err) {
      if (err instanceof TopicError) throw err;
      if (stopping()) return null;
      log.warn('kafka not reachable yet (topic check)', { attempt, error: String(err) });
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
