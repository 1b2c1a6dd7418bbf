/**
 * Scale-out against a real Kafka 4 broker (KRaft) and Apicurio, started here on loopback: the
 * seed's topic layout (created, and the refusals), scoring the Kafka stream, and user-affine
 * shards across gateway processes. Topic names are fresh per test.
 */
import { randomUUID } from 'node:crypto';
import kafkajs, { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForLeaders } from './topics.js';
import { startServices, type Services } from '../../scripts/services/services.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTopic, topicSet } from '../../test/support/kafka-topics.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { partitionOf } from './partition.js';

const { ConfigResourceTypes } = kafkajs;
let svc: Services;
let kafka: Kafka;
let admin: Admin;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  svc = await startServices({ env: { KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m' }, log: process.env['SERVICES_LOG'] ? (t) => process.stderr.write(t) : undefined });
  kafka = new Kafka({ clientId: 'cluster-test', brokers: [svc.kafkaBrokers], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
}, 300_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop().catch(() => undefined)));
  await admin?.disconnect();
  await svc?.stop();
}, 120_000);

function kafkaEnv(topics: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return { KAFKA_BROKERS: svc.kafkaBrokers, SCHEMA_REGISTRY_URL: svc.registryUrl, KAFKA_GROUP_ID: `gw-${randomUUID().slice(0, 8)}`, ...topics, ...extra };
}

/** Creates topics through a fresh admin (one reused across tests kept stale metadata). */
async function createTopics(opts: Parameters<Admin['createTopics']>[0]): Promise<void> {
  const a = kafka.admin();
  await a.connect();
  try {
    await a.createTopics({ ...opts, waitForLeaders: false });
    await waitForLeaders(a, opts.topics.map((t) => t.topic));
  } finally {
    await a.disconnect();
  }
}

/** Starts a gateway expected to refuse: resolves with its exit code and everything it wrote. */
async function refusal(env: Record<string, string>): Promise<{ code: number | null; text: string }> {
  const gw = await startGateway(env, { waitReady: false });
  const code = await new Promise<number | null>((r) => (gw.exited() ? r(gw.proc.exitCode) : gw.proc.once('exit', (c) => r(c))));
  return { code, text: gw.logs.join('\n') };
}

describe('topics as the seed sets them', () => {
  it('TOPICS_CREATE=true creates every topic with the seed\'s partitions, retention and min.insync.replicas', async () => {
    const t = topicSet('create');
    const gw = await startGateway(kafkaEnv(t));
    gateways.push(gw);
    const meta = await admin.fetchTopicMetadata({ topics: Object.values(t) });
    const counts = Object.fromEntries(meta.topics.map((x) => [x.name, x.partitions.length]));
    expect(counts).toEqual({ [t.TOPIC_TRANSACTIONS]: 24, [t.TOPIC_USER_EVENTS]: 12, [t.TOPIC_SCORED]: 24, [t.TOPIC_DLQ]: 24, [t.TOPIC_AUDIT]: 12, [t.TOPIC_LABELS]: 12 });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: Object.values(t).map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms', 'min.insync.replicas'] })),
    });
    const day = 86_400_000;
    const got = Object.fromEntries(configs.resources.map((r) => [r.resourceName, Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue]))]));
    expect(got[t.TOPIC_TRANSACTIONS]).toEqual({ 'retention.ms': String(7 * day), 'min.insync.replicas': '1' });
    expect(got[t.TOPIC_USER_EVENTS]).toEqual({ 'retention.ms': String(90 * day), 'min.insync.replicas': '1' });
    expect(got[t.TOPIC_SCORED]!['retention.ms']).toBe(String(7 * day));
    expect(got[t.TOPIC_AUDIT]!['retention.ms']).toBe(String(7 * 365 * day));
    expect(gw.logs.some((l) => l.includes('kafka topics checked'))).toBe(true);
    expect(await gw.stop()).toBe(0);
    gateways.splice(gateways.indexOf(gw), 1);
  }, 120_000);

  it('a scored topic not co-partitioned with the input refuses to start (exit 2), naming the topic', async () => {
    const t = topicSet('copart');
    await createTopics({ waitForLeaders: true, topics: [{ topic: t.TOPIC_TRANSACTIONS, numPartitions: 24 }, { topic: t.TOPIC_SCORED, numPartitions: 4 }] });
    const r = await refusal(kafkaEnv(t));
    expect(r.code).toBe(2);
    expect(r.text).toContain(`topic ${t.TOPIC_SCORED}: has 4 partitions but ${t.TOPIC_TRANSACTIONS} has 24`);
    // The topics it could create were created with the input's actual count (24), never a mismatch of its own.
    const meta = await admin.fetchTopicMetadata({ topics: [t.TOPIC_DLQ] });
    expect(meta.topics[0]!.partitions).toHaveLength(24);
  }, 120_000);

  it('a user-events count that does not divide the input\'s refuses to start, naming the topic', async () => {
    const t = topicSet('divide');
    await createTopics({ waitForLeaders: true, topics: [{ topic: t.TOPIC_TRANSACTIONS, numPartitions: 24 }, { topic: t.TOPIC_USER_EVENTS, numPartitions: 5 }] });
    const r = await refusal(kafkaEnv(t));
    expect(r.code).toBe(2);
    expect(r.text).toContain(`topic ${t.TOPIC_USER_EVENTS}: has 5 partitions, which does not divide`);
  }, 120_000);

  it('a topic replicated below KAFKA_REPLICATION_FACTOR refuses to start, naming the topic', async () => {
    const t = topicSet('rf');
    // The layout exists, as the seed sets it but with one replica (this is a one-broker cluster).
    await createTopics({
      waitForLeaders: true,
      topics: [
        { topic: t.TOPIC_TRANSACTIONS, numPartitions: 4, replicationFactor: 1 },
        { topic: t.TOPIC_USER_EVENTS, numPartitions: 2, replicationFactor: 1 },
        { topic: t.TOPIC_SCORED, numPartitions: 4, replicationFactor: 1 },
        { topic: t.TOPIC_DLQ, numPartitions: 4, replicationFactor: 1 },
        { topic: t.TOPIC_AUDIT, numPartitions: 1, replicationFactor: 1 },
        { topic: t.TOPIC_LABELS, numPartitions: 1, replicationFactor: 1 },
      ],
    });
    const r = await refusal(kafkaEnv(t, { KAFKA_REPLICATION_FACTOR: '2', TOPICS_CREATE: 'false' }));
    expect(r.code).toBe(2);
    expect(r.text).toMatch(new RegExp(`topic ${t.TOPIC_TRANSACTIONS.replace(/[.-]/g, '\\$&')}: partition \\d+ has 1 replica\\(s\\), below KAFKA_REPLICATION_FACTOR=2`));
  }, 120_000);

  it('a missing topic without TOPICS_CREATE refuses to start, naming the topic', async () => {
    const t = topicSet('missing');
    const r = await refusal(kafkaEnv(t, { TOPICS_CREATE: 'false' }));
    expect(r.code).toBe(2);
    expect(r.text).toContain(`topic ${t.TOPIC_TRANSACTIONS}: does not exist`);
  }, 120_000);
});

/** Every record of `topic` from the beginning, decoded, until `done` says so (or the timeout). */
const readAll = (topic: string, done: (rows: Record<string, unknown>[]) => boolean, timeoutMs = 90_000): Promise<Record<string, unknown>[]> =>
  readTopic(kafka, svc.registryUrl, topic, done, { timeoutMs });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('scoring the Kafka stream (KAFKA_SCORE_INPUT=true)', () => {
  it('N produced → N scored events; SIGKILL mid-stream and restart: none lost, none duplicated after dedupe by transactionId', async () => {
    const t = topicSet('input');
    const env = kafkaEnv(t, { KAFKA_SCORE_INPUT: 'true', SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-input-')) });
    let gw = await startGateway(env);
    gateways.push(gw);
    const producer = kafka.producer();
    await producer.connect();
    const n = 3000;
    const bad = 10;
    const now = Date.now();
    const txs = Array.from({ length: n }, (_, i) => validTx({ userId: `in-user-${i % 60}`, transactionId: `in-${i}`, amount: `${(i % 97) + 1}.25`, timestamp: now - 60_000 + i }));
    const invalid = Array.from({ length: bad }, (_, i) => validTx({ userId: `in-user-${i}`, transactionId: `in-bad-${i}`, currency: 'ZZZ' }));
    const all = [...txs, ...invalid];
    const t0 = performance.now();
    const feeding = (async () => {
      for (let i = 0; i < all.length; i += 100) {
        await producer.send({ topic: t.TOPIC_TRANSACTIONS, messages: all.slice(i, i + 100).map((x) => ({ key: String(x['userId']), value: JSON.stringify(x) })) });
        await sleep(60);
      }
    })();
    // Killed once it has scored some of the stream, mid-way.
    const scoredSoFar = async (): Promise<number> => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return Number(/^scoregate_transactions_total\{source="kafka",outcome="scored"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const deadline = Date.now() + 60_000;
    let before = 0;
    while ((before = await scoredSoFar()) < 300 && Date.now() < deadline) await sleep(50);
    gw.proc.kill('SIGKILL');
    await new Promise((r) => gw.proc.once('exit', r));
    gateways.splice(gateways.indexOf(gw), 1);
    await feeding;
    await producer.disconnect();
    gw = await startGateway(env); // same group and spool: what was spooled is sent, uncommitted input is scored again
    gateways.push(gw);
    const ids = new Set(txs.map((x) => String(x['transactionId'])));
    const rows = await readAll(t.TOPIC_SCORED, (r) => new Set(r.map((e) => e['transactionId'])).size >= n, 30_000);
    const seconds = (performance.now() - t0) / 1000;
    const distinct = new Set(rows.map((e) => String(e['transactionId'])));
    const missing = [...ids].filter((id) => !distinct.has(id));
    console.log(`kafka input: killed after ${before} scored; ${n} produced, ${rows.length} scored records, ${distinct.size} distinct, ${rows.length - distinct.size} duplicates (at-least-once) in ${seconds.toFixed(1)} s with a SIGKILL`);
    if (missing.length > 0) console.log(gw.logs.slice(-25).join('\n'));
    expect(missing).toEqual([]);
    expect(distinct.size).toBe(n);
    expect(rows.every((e) => e['source'] === 'kafka')).toBe(true);
    expect(before).toBeGreaterThanOrEqual(300);
    expect(before).toBeLessThan(n);
    const dl = await readAll(t.TOPIC_DLQ, (r) => r.length >= bad);
    const badSeen = new Set(dl.filter((d) => d['code'] === 'INVALID_CURRENCY').map((d) => /in-bad-\d+/.exec(String(d['raw']))?.[0]));
    expect(badSeen.size).toBe(bad);
    // The committed offsets reach the end: nothing left to score.
    const offsets = await admin.fetchOffsets({ groupId: env['KAFKA_GROUP_ID']!, topics: [t.TOPIC_TRANSACTIONS] });
    const ends = await admin.fetchTopicOffsets(t.TOPIC_TRANSACTIONS);
    const behind = offsets[0]!.partitions.reduce((sum, p) => sum + Number(ends.find((e) => e.partition === p.partition)!.high) - Math.max(0, Number(p.offset)), 0);
    expect(behind).toBe(0);
    expect(await gw.stop()).toBe(0);
    gateways.splice(gateways.indexOf(gw), 1);
  }, 240_000);
});
