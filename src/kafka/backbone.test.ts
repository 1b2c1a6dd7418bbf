/**
 * The Kafka backbone against a real Kafka 4 broker (KRaft) and a real Confluent-compatible
 * registry (Apicurio), both started here on loopback: features from the topic, scored events
 * out as registered Avro, dead letters, a broker outage mid-load, a gateway restart, and schema
 * evolution. Topic names are fresh per run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices, type Services } from '../../scripts/services/services.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { leaks, PANS, shapes } from '../../test/support/privacy-corpus.js';
import { decimalBytes, readSchema } from './avro.js';
import { SEED_TRANSACTION_SCHEMA } from '../../test/support/financial-transaction.js';

let svc: Services;
let kafka: Kafka;
let registry: SchemaRegistry;
const run = randomUUID().slice(0, 8);
const topics = {
  TOPIC_TRANSACTIONS: `financial-transactions-${run}`,
  TOPIC_USER_EVENTS: `user-events-${run}`,
  TOPIC_SCORED: `transactions.scored-${run}`,
  TOPIC_DLQ: `transactions.dlq-${run}`,
};
const spoolDir = mkdtempSync(join(tmpdir(), 'spool-'));
function keyringFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'keyring-')), 'keyring.json');
  writeFileSync(file, JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }));
  return file;
}
let env: Record<string, string>;
let gw: RunningGateway | null = null;

const SEED_SCHEMA = JSON.stringify(SEED_TRANSACTION_SCHEMA);

beforeAll(async () => {
  svc = await startServices({ log: process.env['SERVICES_LOG'] ? (t) => process.stderr.write(t) : undefined });
  kafka = new Kafka({ clientId: 'backbone-test', brokers: [svc.kafkaBrokers], logLevel: logLevel.NOTHING });
  registry = new SchemaRegistry({ host: svc.registryUrl });
  // The spool is encrypted at rest in every test here: the outage, kill and restart tests prove a
  // sealed spool drains.
  env = { SINK_KEYRING_FILE: keyringFile(), ADMIN_TOKEN: 'backbone-admin', KAFKA_BROKERS: svc.kafkaBrokers, SCHEMA_REGISTRY_URL: svc.registryUrl, SPOOL_DIR: spoolDir, KAFKA_GROUP_ID: `gw-${run}`, ...topics };
}, 300_000);

afterAll(async () => {
  if (gw !== null) await gw.stop();
  await svc?.stop();
}, 120_000);

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface WindowAnswer {
  userId: string;
  events: { timestamp: number; amount: number; merchantId: string | null }[];
}

async function window(userId: string): Promise<WindowAnswer | undefined> {
  const r = await fetch(`${gw!.url}/v1/users/${encodeURIComponent(userId)}/window`, { headers: { authorization: 'Bearer backbone-admin' } });
  return r.status === 200 ? ((await r.json()) as WindowAnswer) : undefined;
}

/** Every record on a topic from the beginning, decoded through the registry. */
async function readTopic(topic: string, minCount: number, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const out: Record<string, unknown>[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push((await registry.decode(message.value!)) as Record<string, unknown>);
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (out.length < minCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 1000)); // anything beyond minCount (duplicates) shows too
  await consumer.disconnect();
  return out;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${gw!.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('Kafka backbone', () => {
  it('starts on Kafka: ready only after joining and replaying', async () => {
    gw = await startGateway(env);
    const models = await (await fetch(`${gw.url}/readyz`)).json();
    expect(models).toEqual({ status: 'ready' });
  });

  it('N transactions produced to the topic (JSON and Avro) show in the features', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const user = `feed-user-${run}`;
    const now = Date.now();
    const json = Array.from({ length: 10 }, (_, i) => validTx({ userId: user, transactionId: `feed-json-${run}-${i}`, amount: `${i + 1}.00`, timestamp: now - 60_000 + i * 1000 }));
    await producer.send({ topic: topics.TOPIC_TRANSACTIONS, messages: json.map((t) => ({ key: user, value: JSON.stringify(t) })) });
    const id = await registry.register({ type: SchemaType.AVRO, schema: SEED_SCHEMA }, { subject: `${topics.TOPIC_TRANSACTIONS}-value` });
    const avroTx = Array.from({ length: 5 }, (_, i) => ({ transactionId: `feed-avro-${run}-${i}`, userId: user, amount: decimalBytes(`${100 + i}.50`), currency: 'EUR', timestamp: now - 30_000 + i, metadata: {} }));
    await producer.send({ topic: topics.TOPIC_TRANSACTIONS, messages: await Promise.all(avroTx.map(async (t) => ({ key: user, value: await registry.encode(id.id, t) }))) });
    // The same transactionId again, as a user event: counted once.
    await producer.send({ topic: topics.TOPIC_USER_EVENTS, messages: [{ key: user, value: JSON.stringify(json[0]) }] });
    await producer.disconnect();
    const w = await waitFor('15 events in the window', async () => {
      const x = await window(user);
      return x !== undefined && x.events.length >= 15 ? x : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await window(user))!.events).toHaveLength(15);
    expect(w.events.map((e) => e.amount).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100.5, 101.5, 102.5, 103.5, 104.5]);
    // A transaction scored over HTTP after them is not a duplicate of any and its features saw them:
    // the gateway refuses a transactionId it already read from Kafka.
    const dup = await postJson(`${gw!.url}/v1/score`, json[3]);
    expect(dup.status).toBe(409);
  });

  it('N score requests give exactly N events on transactions.scored, decodable, each id once; bad input goes to the DLQ', async () => {
    const n = 200;
    const txs = Array.from({ length: n }, (_, i) => validTx({ userId: `scored-${i % 13}-${run}`, transactionId: `scored-${run}-${i}` }));
    const answers = await Promise.all(txs.map((t) => postJson(`${gw!.url}/v1/score`, t)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await postJson(`${gw!.url}/v1/score`, validTx({ transactionId: `dlq-${run}`, currency: 'ZZZ' }));
    const events = await readTopic(topics.TOPIC_SCORED, n);
    const ours = events.filter((e) => String(e['transactionId']).startsWith(`scored-${run}-`));
    expect(ours).toHaveLength(n);
    expect(new Set(ours.map((e) => e['transactionId'])).size).toBe(n);
    const first = ours.find((e) => e['transactionId'] === `scored-${run}-0`)!;
    expect(first).toMatchObject({ userId: `scored-0-${run}`, currency: 'EUR', modelName: 'fraud-detector', source: 'http', qualityScore: 1 });
    expect((first['lineage'] as { stage: string }[]).map((s) => s.stage)).toEqual(['validation', 'enrichment', 'quality_check', 'scoring']);
    const dl = await readTopic(topics.TOPIC_DLQ, 1);
    expect(dl.find((d) => String(d['raw']).includes(`dlq-${run}`))).toMatchObject({ code: 'INVALID_CURRENCY', field: 'currency', source: 'http' });
  });

  it('card numbers through Kafka input, HTTP and dead letters: none in the topics, the spool or the windows', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const user = `leak-kafka-${run}`;
    const now = Date.now();
    const inputs = PANS.map((p, i) => validTx({ userId: user, transactionId: `leak-in-${run}-${i}`, merchantId: shapes(p)[2]!, metadata: { card: shapes(p)[1]!, cvv: '9371' }, timestamp: now - 60_000 + i }));
    await producer.send({ topic: topics.TOPIC_TRANSACTIONS, messages: inputs.map((t) => ({ key: user, value: JSON.stringify(t) })) });
    await producer.disconnect();
    const scored = PANS.map((p, i) => validTx({ userId: `leak-http-${run}`, transactionId: `leak-http-${run}-${i}`, metadata: { pan: shapes(p)[0]!, cvc2: '9371' } }));
    for (const t of scored) expect((await postJson(`${gw!.url}/v1/score`, t)).status).toBe(200);
    for (const p of PANS) await postJson(`${gw!.url}/v1/score`, validTx({ transactionId: `leak-dlq-${run}-${p}`, amount: 'x', metadata: { card: p } }));
    const w = await waitFor('the Kafka input in the window', async () => {
      const x = await window(user);
      return x !== undefined && x.events.length >= PANS.length ? x : undefined;
    });
    const raw = async (topic: string, min: number): Promise<string> => {
      const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}`, maxWaitTimeInMs: 100 });
      const parts: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void parts.push((message.key?.toString('latin1') ?? '') + (message.value?.toString('latin1') ?? '')) });
      const deadline = Date.now() + 60_000;
      while (parts.length < min && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      return parts.join('\n');
    };
    const scoredBytes = await raw(topics.TOPIC_SCORED, 1);
    const dlqBytes = await raw(topics.TOPIC_DLQ, PANS.length);
    expect(scoredBytes).toContain(`leak-http-${run}-0`);
    expect(dlqBytes).toContain(`leak-dlq-${run}`);
    const spoolBytes = readdirSync(spoolDir).map((f) => readFileSync(join(spoolDir, f), 'latin1')).join('\n');
    const originals = PANS.flatMap((p) => shapes(p));
    expect(leaks(scoredBytes, originals)).toEqual([]);
    expect(leaks(dlqBytes, originals)).toEqual([]);
    expect(leaks(spoolBytes, originals)).toEqual([]);
    expect(leaks(JSON.stringify(w), originals)).toEqual([]);
    expect(/(^|[^\d.a-f])9371(?![\d])/.exec(scoredBytes)?.[0]).toBeUndefined(); // the CVV, never as a value of its own
    expect(gw!.logs.some((l) => leaks(l, originals).length > 0)).toBe(false);
  }, 120_000);

  it('the broker killed mid-load and restarted: no request fails, no scored event is missing', async () => {
    const ids: string[] = [];
    const failures: number[] = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const t = validTx({ userId: `outage-${w}-${run}`, transactionId: `outage-${run}-${w}-${i}` });
        const r = await postJson(`${gw!.url}/v1/score`, t);
        if (r.status === 200) ids.push(String(t['transactionId']));
        else failures.push(r.status);
        await new Promise((res) => setTimeout(res, 5));
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await new Promise((r) => setTimeout(r, 1000));
    await svc.killKafka();
    await new Promise((r) => setTimeout(r, 4000));
    const spooledDuringOutage = await metric('scoregate_spool_pending_records');
    await svc.restartKafka();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(spooledDuringOutage).toBeGreaterThan(0);
    await waitFor('the spool to drain', async () => ((await metric('scoregate_spool_pending_records')) === 0 ? true : undefined), 90_000);
    const events = await readTopic(topics.TOPIC_SCORED, ids.length, 90_000);
    const seen = new Set(events.map((e) => String(e['transactionId'])));
    const missing = ids.filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
  }, 240_000);

  it('a restarted gateway rebuilds the same windows from Kafka', async () => {
    const users = [`feed-user-${run}`, `scored-0-${run}`, `scored-5-${run}`, `outage-1-${run}`];
    const sorted = (w: WindowAnswer | undefined): string[] => (w?.events ?? []).map((e) => `${e.timestamp}|${e.amount}|${e.merchantId}`).sort();
    const before = await Promise.all(users.map(async (u) => sorted(await window(u))));
    expect(before.every((b) => b.length > 0)).toBe(true);
    expect(await gw!.stop()).toBe(0); // SIGTERM: answers in flight, flushes the spool, exits 0
    gw = await startGateway(env);
    const after = await Promise.all(users.map(async (u) => sorted(await window(u))));
    expect(after).toEqual(before);
  }, 120_000);

  it('SIGKILL mid-load: every transaction answered 200 is in transactions.scored after the restart, and its retry replays the answer', async () => {
    const answered = new Map<string, { tx: Record<string, unknown>; text: string }>(); // transactionId → what was sent and answered
    let stop = false;
    let sent = 0;
    const t0 = performance.now();
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const t = validTx({ userId: `kill-${w % 7}-${run}`, transactionId: `kill-${run}-${w}-${i}` });
        sent++;
        const r = await postJson(`${gw!.url}/v1/score`, t).catch(() => null); // the kill cuts requests short
        if (r?.status === 200) answered.set(String(t['transactionId']), { tx: t, text: r.text });
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    await new Promise((r) => setTimeout(r, 1500));
    gw!.proc.kill('SIGKILL');
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => gw!.proc.once('exit', r));
    stop = true;
    await load;
    console.log(`kill test: ${sent} sent, ${answered.size} answered 200 in ${seconds.toFixed(2)} s (${Math.round(answered.size / seconds)} req/s) before SIGKILL`);
    expect(answered.size).toBeGreaterThan(100);
    gw = await startGateway(env); // same SPOOL_DIR: what the killed process spooled is sent now
    await waitFor('the spool to drain', async () => ((await metric('scoregate_spool_pending_records')) === 0 ? true : undefined), 90_000);
    const events = await readTopic(topics.TOPIC_SCORED, answered.size, 90_000);
    const seen = new Set(events.map((e) => String(e['transactionId'])));
    const missing = [...answered.keys()].filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
    // The restarted gateway rebuilt its answers from the topic: retries replay them byte for byte.
    for (const { tx, text } of [...answered.values()].slice(-5)) {
      const retry = await postJson(`${gw.url}/v1/score`, tx);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.text).toBe(text);
    }
  }, 240_000);

  it('another instance replays an answer the first one gave, once it has read it from the topic', async () => {
    const other = await startGateway({ ...env, KAFKA_GROUP_ID: `gw-other-${run}`, SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-other-')) });
    try {
      const user = `twin-${run}`;
      const tx = validTx({ userId: user, transactionId: `twin-${run}` });
      const first = await postJson(`${gw!.url}/v1/score`, tx);
      expect(first.status).toBe(200);
      // Wait until the other instance has read the scored event (it shows in its window of the user).
      await waitFor('the other instance to read the scored event', async () => {
        const r = await fetch(`${other.url}/v1/users/${encodeURIComponent(user)}/window`, { headers: { authorization: 'Bearer backbone-admin' } });
        return r.status === 200 ? true : undefined;
      });
      const retry = await postJson(`${other.url}/v1/score`, tx);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.text).toBe(first.text);
      const reused = await postJson(`${other.url}/v1/score`, { ...tx, amount: '1.00' });
      expect(reused.status).toBe(422);
    } finally {
      expect(await other.stop()).toBe(0);
    }
  }, 120_000);

  it('a consumer holding the old schema still reads events after a field is added', async () => {
    const subject = `${topics.TOPIC_SCORED}-value`;
    const oldSchema = JSON.parse(readSchema('transactions.scored')) as { fields: unknown[] };
    const newSchema = { ...oldSchema, fields: [...oldSchema.fields, { name: 'reviewNote', type: ['null', 'string'], default: null }] };
    const v2 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(newSchema) }, { subject });
    const sample = (await readTopic(topics.TOPIC_SCORED, 1))[0]!;
    const buf = await registry.encode(v2.id, { ...sample, reviewNote: 'checked' });
    // The old consumer: its reader schema is the old one, the writer schema comes by id.
    const reader = avro.Type.forSchema(oldSchema as avro.Schema);
    const writer = avro.Type.forSchema(newSchema as avro.Schema);
    const decoded = reader.fromBuffer(buf.subarray(5), reader.createResolver(writer)) as Record<string, unknown>;
    expect(decoded['transactionId']).toBe(sample['transactionId']);
    expect('reviewNote' in decoded).toBe(false);
    // And the registry refuses a change old data could not be read with (BACKWARD).
    const breaking = { ...oldSchema, fields: [...oldSchema.fields, { name: 'mandatory', type: 'string' }] };
    await expect(registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject })).rejects.toThrow();
  });
});
