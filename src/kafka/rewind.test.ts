/**
 * The windows feed's replays against a real broker (scripts/services): the start-up replay and a
 * shard's rebuild (rewind) finish on partitions that end with a transactional producer's commit
 * marker or hold nothing, a rebuild whose partitions were all lost stops, and a partition lost
 * and gained again while another rebuild runs is rebuilt whole. Topic names are fresh per test.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServices, type Services } from '../../scripts/services/services.js';
import { Logger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { FeatureEngine } from '../features/engine.js';
import { FeatureFeed } from './feed.js';
import { Registry } from './registry.js';

let svc: Services;
let kafka: Kafka;
const feeds: FeatureFeed[] = [];

beforeAll(async () => {
  svc = await startServices({ log: process.env['SERVICES_LOG'] ? (t) => process.stderr.write(t) : undefined });
  kafka = new Kafka({ clientId: 'rewind-test', brokers: [svc.kafkaBrokers], logLevel: logLevel.NOTHING });
}, 300_000);

afterEach(async () => {
  for (const f of feeds.splice(0)) await f.stop();
});

afterAll(async () => {
  await svc?.stop();
}, 120_000);

const tx = (userId: string, i: number): Buffer =>
  Buffer.from(JSON.stringify({ transactionId: `${userId}-${i}-${randomUUID().slice(0, 8)}`, userId, amount: '10.00', currency: 'EUR', timestamp: Date.now() - 60_000 + i, metadata: {}, merchantId: 'm-1', channel: 'web' }));

async function topicWith(partitions: number): Promise<string> {
  const topic = `rewind-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  return topic;
}

/** Records sent in one committed transaction: the partition ends with its commit marker. */
async function sendCommitted(topic: string, partition: number, values: Buffer[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const endOf = async (): Promise<number> => Number((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.high ?? 0);
  const before = await endOf();
  const p = kafka.producer({ transactionalId: `rewind-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const t = await p.transaction();
  await t.send({ topic, messages: values.map((value) => ({ partition, value })) });
  await t.commit();
  await p.disconnect();
  // commit() returns once the coordinator took it; the markers reach the partition after.
  // Until then a read-committed reader's end (the last stable offset, what a feed plans to)
  // is before these records: a feed started then is caught up with none of them, and reads
  // them later. Wait for the marker, so the start-up replay is the one that reads them.
  try {
    await vi.waitFor(async () => {
      const end = await endOf();
      if (end < before + values.length + 1) throw new Error(`the last stable offset is ${end}`);
    }, { timeout: 30_000, interval: 50 });
  } finally {
    await admin.disconnect();
  }
}

/** Users named `p<N>-…` are on shard partition N; `rebuilding` holds the partitions being rebuilt. */
function newFeed(topics: string[], rebuilding: Set<number>): { feed: FeatureFeed; engine: FeatureEngine } {
  const engine = new FeatureEngine({ maxUsers: 10_000, maxBytes: 64 * 1024 * 1024, maxEventsPerUser: 1000, allowedLatenessMs: 60_000, seenIdsMax: 100_000 });
  const partitionOf = (u: string): number => Number(/^p(\d+)-/.exec(u)?.[1] ?? -1);
  const feed = new FeatureFeed(kafka, new Registry(svc.registryUrl), engine, new Metrics(), new Logger('error'), {
    topics,
    groupId: `rewind-${randomUUID().slice(0, 8)}`,
    lookbackMs: FeatureFeed.lookback(60_000),
    rebuilding: (u) => {
      const p = partitionOf(u);
      return rebuilding.has(p) ? p : -1;
    },
  });
  feeds.push(feed);
  return { feed, engine };
}

/**
 * A feed started (as the gateway starts one: a start that fails, as kafkajs' first join on a
 * fresh broker can, is stopped and tried again with a new feed).
 */
async function startedFeed(topics: string[], rebuilding: Set<number>): Promise<{ feed: FeatureFeed; engine: FeatureEngine }> {
  for (let attempt = 1; ; attempt++) {
    const f = newFeed(topics, rebuilding);
    try {
      await f.feed.start();
      return f;
    } catch (err) {
      await f.feed.stop();
      if (attempt === 5) throw err;
    }
  }
}

const events = (engine: FeatureEngine, userId: string): number => engine.snapshot(userId)?.ts.length ?? 0;

/**
 * A feed started on `topic` (its start-up replay), then partition 0's users dropped and rebuilt
 * (a rebuild): `userId`'s events after each, and the feed, which goes on reading.
 */
async function replayedThenRebuilt(topic: string, userId: string): Promise<{ feed: FeatureFeed; engine: FeatureEngine; afterStart: number; afterRebuild: number }> {
  const rebuilding = new Set<number>();
  const { feed, engine } = await startedFeed([topic], rebuilding);
  await feed.caughtUpPromise;
  const afterStart = events(engine, userId);
  engine.dropUsers(() => true);
  rebuilding.add(0);
  await feed.rewind([{ topic, partition: 0 }], { partitions: [0], timeoutMs: 30_000 });
  rebuilding.delete(0);
  return { feed, engine, afterStart, afterRebuild: events(engine, userId) };
}

/** A scored record of `userId` (JSON, as the file sink and a JSON changelog write it) saying whether it joined the windows. */
const scored = (userId: string, i: number, joined: boolean): Buffer =>
  Buffer.from(JSON.stringify({ ...(JSON.parse(tx(userId, i).toString()) as object), lineage: [{ stage: 'validation', metrics: {} }, { stage: 'enrichment', metrics: { features: 26, joinedWindows: joined ? 1 : 0 } }] }));

describe('feed replays', () => {
  it('an event its scorer kept out of the windows (lineage joinedWindows 0: late or stale) stays out in the start-up replay, a rebuild and the live feed', async () => {
    const topic = await topicWith(1);
    const p = kafka.producer();
    await p.connect();
    // The second is the one a live scorer found too late behind the user's newest: a replay
    // takes any order, and joined it.
    await p.send({ topic, messages: [scored('p0-k', 1, true), scored('p0-k', 2, false), scored('p0-k', 3, true)].map((value) => ({ partition: 0, value })) });
    const { feed, engine, afterStart, afterRebuild } = await replayedThenRebuilt(topic, 'p0-k');
    expect(afterStart).toBe(2);
    expect(afterRebuild).toBe(2);

    const before = feed.consumed;
    await p.send({ topic, messages: [{ partition: 0, value: scored('p0-k', 4, false) }, { partition: 0, value: scored('p0-k', 5, true) }] });
    await p.disconnect();
    await vi.waitFor(() => expect(feed.consumed).toBe(before + 2), { timeout: 30_000 });
    expect(events(engine, 'p0-k')).toBe(3);
  }, 60_000);

  it('the start-up replay and a rebuild finish on a partition ending with a transaction commit marker, counting every record', async () => {
    const topic = await topicWith(1);
    await sendCommitted(topic, 0, [tx('p0-a', 1), tx('p0-a', 2), tx('p0-a', 3)]);
    const { afterStart, afterRebuild } = await replayedThenRebuilt(topic, 'p0-a');
    expect(afterStart).toBe(3);
    expect(afterRebuild).toBe(3);
  }, 60_000);

  it('a rebuild of an empty partition finishes at once', async () => {
    const topic = await topicWith(1);
    const { feed } = await startedFeed([topic], new Set([0]));
    await feed.caughtUpPromise;
    await feed.rewind([{ topic, partition: 0 }], { partitions: [0], timeoutMs: 30_000 });
  }, 60_000);

  it('a rebuild whose partitions were all lost stops', async () => {
    const topic = await topicWith(1);
    await sendCommitted(topic, 0, [tx('p0-a', 1)]);
    const { feed } = await startedFeed([topic], new Set([0]));
    const r = feed.rewind([{ topic, partition: 0 }], { partitions: [0], timeoutMs: 30_000 });
    feed.forget([0]);
    await expect(r).rejects.toThrow(/lost/);
  }, 60_000);

  it('a partition lost and gained again while another rebuild runs is rebuilt with every event', async () => {
    const topic = await topicWith(2);
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic, messages: [1, 2, 3].map((i) => ({ partition: 0, value: tx('p0-a', i) })) });
    await p.disconnect();
    // Ends with a commit marker: before rebuilds finished on those, this one never ended.
    await sendCommitted(topic, 1, [tx('p1-b', 1), tx('p1-b', 2)]);
    const rebuilding = new Set<number>();
    const { feed, engine } = await startedFeed([topic], rebuilding);
    await vi.waitFor(() => expect([events(engine, 'p0-a'), events(engine, 'p1-b')]).toEqual([3, 2]), { timeout: 30_000 });
    const ofPartition = (p: number) => (u: string) => u.startsWith(`p${p}-`);

    // Partition 1 gained: its rebuild runs alongside what follows.
    engine.dropUsers(ofPartition(1));
    rebuilding.add(1);
    const other = feed.rewind([{ topic, partition: 1 }], { partitions: [1], timeoutMs: 30_000 });
    // Partition 0 gained and rebuilt, then lost (its users dropped), then gained again.
    engine.dropUsers(ofPartition(0));
    rebuilding.add(0);
    await feed.rewind([{ topic, partition: 0 }], { partitions: [0], timeoutMs: 30_000 });
    rebuilding.delete(0);
    expect(events(engine, 'p0-a')).toBe(3);
    engine.dropUsers(ofPartition(0));
    feed.forget([0]);
    rebuilding.add(0);
    await feed.rewind([{ topic, partition: 0 }], { partitions: [0], timeoutMs: 30_000 });
    expect(events(engine, 'p0-a')).toBe(3);
    await other;
    expect(events(engine, 'p1-b')).toBe(2);
  }, 90_000);
});
