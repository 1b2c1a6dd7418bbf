/**
 * The data loop against real things: Kafka 4 and Apicurio (scripts/services), the gateway
 * process, the PySpark Delta sink in local[2] mode (one Spark session driven over stdin, so the
 * JVM and the jar resolve happen once), MLflow and the model pipeline.
 *
 * serve N transactions → transactions.scored → Delta: N rows with the features the model scored;
 * the topic replayed (duplicates produced, then a fresh checkpoint) → still N; dead letters in
 * their table; the quality view equals the test's own count from the topic; the served features
 * equal the replay CLI's (skew check); train from the table's logged features and labels from a
 * fraud-labels topic → register → promote through MLflow's webhook → the gateway hot swaps, and
 * the new version's scores on the logged rows equal the pipeline's own predictions.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices, type Services } from '../../scripts/services/services.js';
import { FEATURE_CONTRACT_VERSION, FEATURE_NAMES } from '../../src/features/contract.js';
import { ROOT, postJson, startGateway, type RunningGateway } from '../../test/support/gateway.js';

const exec = promisify(execFile);
const run = randomUUID().slice(0, 8);
const topics = { TOPIC_TRANSACTIONS: `tx-${run}`, TOPIC_USER_EVENTS: `ue-${run}`, TOPIC_SCORED: `scored-${run}`, TOPIC_DLQ: `dlq-${run}` };
const LABELS = `fraud-labels-${run}`;
const N = 80;
const USERS = 8;
const NAME = 'fraud-detector';
const SECRET = 'delta-loop-hook-secret';
const work = mkdtempSync(join(tmpdir(), 'delta-loop-'));
const tables = join(work, 'tables');

let svc: Services;
let kafka: Kafka;
let gw: RunningGateway;
let spark: SparkSession;
let mlflowUri = '';
let pipelinePython = '';
const sent: Record<string, unknown>[] = [];
const bad: Record<string, unknown>[] = [];

/** The Delta sink's `session` command: one JSON argv per line in, one JSON answer per line out. */
class SparkSession {
  private readonly lines: AsyncIterator<string>;
  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    proc.stderr.on('data', (d: Buffer) => {
      if (process.env['DELTA_LOG']) process.stderr.write(d);
    });
  }
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done === true) throw new Error('the Spark session ended');
      if (r.value.startsWith('{')) return JSON.parse(r.value) as Record<string, unknown>;
    }
  }
  async call<T>(...argv: string[]): Promise<T> {
    this.proc.stdin.write(JSON.stringify(argv) + '\n');
    const res = await this.next();
    if (res['ok'] !== true) throw new Error(`delta sink ${argv[0]}: ${String(res['error'])}`);
    return res['result'] as T;
  }
  async close(): Promise<void> {
    this.proc.stdin.end();
    await new Promise((r) => this.proc.once('exit', r));
  }
}

interface Report {
  scored: number;
  distinctIds?: number;
  deadLetters: number;
  deadLetterCodes?: Record<string, number>;
  partitions?: string[];
  quality5m: { window_start: string; total_records: number; quality_percentage: number; avg_fraud_score: number; unique_users: number; total_transaction_value: string }[];
  rows: { transactionId: string; featureContract: string; features: [string, number][]; modelName: string; modelVersion: string; sourceSystem: string; lineage: { stage: string; timestamp: string; status: string; metrics: Record<string, number> }[] }[];
  accessHistory?: { user: string; purpose: string; records_accessed: number; table_version: number }[];
  recordsWithAccess?: number;
}

const sinkArgs = (checkpoint: string): string[] => [
  'run', '--brokers', svc.kafkaBrokers, '--registry', svc.registryUrl, '--scored-topic', topics.TOPIC_SCORED, '--dlq-topic', topics.TOPIC_DLQ,
  '--checkpoint', join(work, checkpoint), '--available-now',
];

async function highWatermark(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f().catch(() => false))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function mlflowPy(...args: string[]): Promise<string> {
  const { stdout } = await exec(pipelinePython, [join(ROOT, 'scripts/services/mlflow-register.py'), ...args], { timeout: 180_000 });
  return stdout.trim();
}

beforeAll(async () => {
  const sparkPython = exec('bash', [join(ROOT, 'jobs/delta/venv.sh')], { timeout: 900_000 }).then((r) => r.stdout.trim());
  const mlEnv = { ...process.env, SERVICES_DIR: join(work, 'mlflow') };
  const mlflow = exec('bash', [join(ROOT, 'scripts/services/mlflow-start.sh')], { env: mlEnv, timeout: 900_000 });
  svc = await startServices();
  kafka = new Kafka({ clientId: 'delta-test', brokers: [svc.kafkaBrokers], logLevel: logLevel.NOTHING });
  mlflowUri = /MLFLOW_TRACKING_URI=(\S+)/.exec((await mlflow).stdout)![1]!;
  pipelinePython = (await exec('bash', [join(ROOT, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 })).stdout.trim();
  expect(JSON.parse((await mlflowPy('register', mlflowUri, NAME, join(ROOT, 'models/fraud-detector'), 'champion')).split('\n').pop()!)).toMatchObject({ version: '1' });
  gw = await startGateway({
    KAFKA_BROKERS: svc.kafkaBrokers, SCHEMA_REGISTRY_URL: svc.registryUrl, SPOOL_DIR: join(work, 'spool'), KAFKA_GROUP_ID: `gw-${run}`, ...topics,
    MLFLOW_TRACKING_URI: mlflowUri, MLFLOW_WEBHOOK_SECRET: SECRET, MODEL_CACHE_DIR: join(work, 'model-cache'),
  });
  await mlflowPy('webhook', mlflowUri, NAME, `${gw.url}/hooks/mlflow`, SECRET);
  const proc = spawn(await sparkPython, [join(ROOT, 'jobs/delta/sink.py'), '--master', 'local[2]', '--tables', tables, 'session'], { stdio: ['pipe', 'pipe', 'pipe'] });
  spark = new SparkSession(proc);
  expect(await spark.next()).toEqual({ ready: true });
}, 1_500_000);

afterAll(async () => {
  await spark?.close();
  await gw?.stop();
  await svc?.stop();
  await exec('bash', [join(ROOT, 'scripts/services/mlflow-stop.sh'), '--clean'], { env: { ...process.env, SERVICES_DIR: join(work, 'mlflow') } }).catch(() => undefined);
}, 180_000);

describe('the data loop: gateway → Kafka → Delta → training → MLflow → gateway', () => {
  it('N transactions scored by the gateway land as N Delta rows carrying the exact features the model scored', async () => {
    const t0 = Date.now() - 20 * 60_000;
    for (let i = 0; i < N; i++) {
      const user = `u${i % USERS}-${run}`;
      // Every 9th amount far above the user's usual: the consistency check flags it (quality 0.75).
      const amount = i % 9 === 8 ? '4800.00' : `${(10 + ((i * 37) % 90)).toFixed(2)}`;
      const tx = { transactionId: `loop-${run}-${i}`, userId: user, amount, currency: 'EUR', timestamp: t0 + i * 7_000, metadata: { country: 'DE' }, merchantId: `m-${i % 5}`, channel: 'web' };
      const r = await postJson(`${gw.url}/v1/score`, tx); // in order: the windows see them as the replay will
      expect(r.status).toBe(200);
      sent.push(tx);
    }
    for (const b of [{ currency: 'ZZZ' }, { amount: '-3' }, { userId: '' }]) {
      const tx = { transactionId: `bad-${run}-${bad.length}`, userId: 'u-bad', amount: '5.00', currency: 'EUR', timestamp: Date.now(), ...b };
      expect((await postJson(`${gw.url}/v1/score`, tx)).status).toBe(400);
      bad.push(tx);
    }
    await waitFor('the spool drained to Kafka', async () => (await highWatermark(topics.TOPIC_SCORED)) >= N && (await highWatermark(topics.TOPIC_DLQ)) >= bad.length);

    await spark.call(...sinkArgs('checkpoint'));
    const rep = await spark.call<Report>('report', '--ids', sent.map((t) => t['transactionId']).join(','));
    expect(rep.scored).toBe(N);
    expect(rep.distinctIds).toBe(N);
    expect(rep.rows).toHaveLength(N);
    expect(rep.partitions).toEqual([...new Set(sent.map((t) => new Date(t['timestamp'] as number).toISOString().slice(0, 10)))].sort());
    const byId = new Map(rep.rows.map((r) => [r.transactionId, r]));
    const feats = sent.map((t) => {
      const row = byId.get(t['transactionId'] as string)!;
      expect(row.featureContract).toBe(FEATURE_CONTRACT_VERSION);
      expect(row.features.map(([n]) => n)).toEqual(FEATURE_NAMES);
      expect(row).toMatchObject({ modelName: NAME, modelVersion: '1', sourceSystem: 'scoregate.http' });
      expect(row.features[0]![1]).toBe(Math.fround(Number(t['amount'])));
      // Lineage as measured: the four stages in order, times never going back, real durations.
      expect(row.lineage.map((s) => s.stage)).toEqual(['validation', 'enrichment', 'quality_check', 'scoring']);
      const times = row.lineage.map((s) => Date.parse(s.timestamp + 'Z'));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(row.lineage[3]!.metrics['durationMs']).toBeGreaterThan(0);
      return row.features.map(([, v]) => v);
    });
    // The exact vector the model scored: the served model on these rows gives back each answer's score.
    const answers = await Promise.all(sent.map(async (t) => ((await postJson(`${gw.url}/v1/score`, t)).json as { score: number }).score)); // idempotent replays
    const infer = await postJson(`${gw.url}/v2/models/${NAME}/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [N, FEATURE_NAMES.length], data: feats }] });
    const scores = (infer.json as { outputs: { data: number[] }[] }).outputs[0]!.data;
    for (let i = 0; i < N; i++) expect(Math.abs(scores[i]! - answers[i]!)).toBeLessThanOrEqual(1e-6);
  }, 600_000);

  it('replaying the topic never duplicates a row: duplicates produced, then a fresh checkpoint from the start', async () => {
    // The spool's at-least-once resend, for real: every scored record produced again as is.
    const consumer = kafka.consumer({ groupId: `copy-${run}`, maxWaitTimeInMs: 100 });
    const copies: { key: Buffer | null; value: Buffer | null }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topics.TOPIC_SCORED, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void copies.push({ key: message.key, value: message.value }) });
    await waitFor('the scored topic read', async () => copies.length >= N);
    await consumer.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.TOPIC_SCORED, messages: copies });
    await producer.disconnect();
    await spark.call(...sinkArgs('checkpoint'));
    expect((await spark.call<Report>('report')).scored).toBe(N);
    await spark.call(...sinkArgs('checkpoint-replay'));
    const rep = await spark.call<Report>('report');
    expect([rep.scored, rep.distinctIds]).toEqual([N, N]);
    expect(rep.deadLetters).toBe(bad.length);
  }, 600_000);

  it('dead letters are in their table, once each, with their codes', async () => {
    const rep = await spark.call<Report>('report');
    expect(rep.deadLetterCodes).toEqual({ INVALID_CURRENCY: 1, INVALID_AMOUNT: 1, MISSING_FIELD: 1 });
  }, 300_000);

  it('the five-minute quality view equals the test’s own count over the events on the topic', async () => {
    const registry = new SchemaRegistry({ host: svc.registryUrl });
    const consumer = kafka.consumer({ groupId: `count-${run}`, maxWaitTimeInMs: 100 });
    const events = new Map<string, Record<string, unknown>>();
    await consumer.connect();
    await consumer.subscribe({ topic: topics.TOPIC_SCORED, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => {
      const e = (await registry.decode(message.value!)) as Record<string, unknown>;
      events.set(e['transactionId'] as string, e);
    } });
    await waitFor('the events decoded', async () => events.size >= N);
    await consumer.disconnect();
    const windows = new Map<number, { n: number; good: number; score: number; users: Set<string>; cents: bigint }>();
    for (const e of events.values()) {
      const at = e['scoredAt'] instanceof Date ? (e['scoredAt'] as Date).getTime() : Number(e['scoredAt']);
      const start = at - (at % 300_000);
      const w = windows.get(start) ?? { n: 0, good: 0, score: 0, users: new Set<string>(), cents: 0n };
      w.n++;
      if ((e['qualityScore'] as number) >= 0.9) w.good++;
      w.score += e['score'] as number;
      w.users.add(e['userId'] as string);
      const tx = sent.find((t) => t['transactionId'] === e['transactionId'])!;
      w.cents += BigInt(Math.round(Number(tx['amount']) * 100));
      windows.set(start, w);
    }
    const mine = [...windows.entries()].sort(([a], [b]) => a - b).map(([start, w]) => ({
      window_start: new Date(start).toISOString().slice(0, 19), total_records: w.n, quality_percentage: (w.good / w.n) * 100,
      avg_fraud_score: w.score / w.n, unique_users: w.users.size, total_transaction_value: `${w.cents / 100n}.${String(w.cents % 100n).padStart(2, '0')}`,
    }));
    const view = (await spark.call<Report>('report')).quality5m.map((r) => ({ ...r, window_end: undefined }));
    expect(view).toHaveLength(mine.length);
    expect(mine.some((w) => w.quality_percentage < 100)).toBe(true); // the inconsistent amounts count
    view.forEach((v, i) => {
      const m = mine[i]!;
      expect({ ...v, avg_fraud_score: undefined, window_end: undefined }).toEqual({ ...m, avg_fraud_score: undefined, window_end: undefined });
      expect(Math.abs(v.avg_fraud_score - m.avg_fraud_score)).toBeLessThan(1e-12);
    });
  }, 300_000);

  let trainingSet: { rows: number; features: string; transactions: string };

  it('the training pipeline’s read of the table (logged features joined with fraud-labels) is in the access history', async () => {
    const producer = kafka.producer();
    await producer.connect();
    // Confirmed outcomes (amounts of 70 and more are fraud here, so a small model has something to
    // learn); a first wrong label is corrected later on the topic: the last one wins.
    const labels = sent.map((t) => ({ value: JSON.stringify({ transactionId: t['transactionId'], label: Number(t['amount']) >= 70 ? 1 : 0 }) }));
    const wrong = sent.find((t) => Number(t['amount']) >= 70)!;
    await producer.send({ topic: LABELS, messages: [{ value: JSON.stringify({ transactionId: wrong['transactionId'], label: 0 }) }, ...labels] });
    await producer.disconnect();
    trainingSet = await spark.call('training-set', '--out', join(work, 'training'), '--brokers', svc.kafkaBrokers, '--labels-topic', LABELS, '--contract', FEATURE_CONTRACT_VERSION);
    expect(trainingSet.rows).toBe(N);
    const header = readFileSync(trainingSet.features, 'utf8').split('\n')[0]!;
    expect(header).toBe(['transactionId', 'label', ...FEATURE_NAMES].join(','));
    const rep = await spark.call<Report>('report');
    expect(rep.accessHistory).toHaveLength(1);
    expect(rep.accessHistory![0]).toMatchObject({ user: 'ml_training_pipeline', purpose: 'model_training', records_accessed: N });
    expect(rep.recordsWithAccess).toBe(N);
  }, 300_000);

  it('skew check: the served feature vectors equal the replay CLI’s from the same events, and a changed value is reported', async () => {
    const ok = await exec(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'skew', '--served', trainingSet.features, '--events', trainingSet.transactions]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ sampled: N, compared: N, missing: [], mismatchedRows: 0 });
    const lines = readFileSync(trainingSet.features, 'utf8').split('\n');
    const cells = lines[10]!.split(',');
    const zi = 2 + FEATURE_NAMES.indexOf('amount_zscore_24h');
    cells[zi] = String(Number(cells[zi]) + 0.25);
    lines[10] = cells.join(',');
    const skewed = join(work, 'skewed.csv');
    writeFileSync(skewed, lines.join('\n'));
    const failed = await exec(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'skew', '--served', skewed, '--events', trainingSet.transactions]).then(() => null, (e: { code: number; stdout: string }) => e);
    expect(failed?.code).toBe(1);
    expect(JSON.parse(failed!.stdout)).toMatchObject({ compared: N, mismatchedRows: 1, byFeature: { amount_zscore_24h: 1 } });
  }, 300_000);

  it('retrained from served features, registered, promoted through the webhook: the new version answers and matches the pipeline (|Δ| ≤ 1e-5)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'retrain-'));
    const trained = await exec(pipelinePython, [join(ROOT, 'models/pipeline/train.py'), '--features', trainingSet.features, '--transactions', trainingSet.transactions,
      '--out', out, '--synth', 'served features from the Delta sink', '--register', '--tracking-uri', mlflowUri, '--name', NAME, '--alias', 'candidate'], { timeout: 600_000 });
    const reg = JSON.parse(trained.stdout.trim().split('\n').pop()!) as { version: string };
    expect(reg.version).toBe('2');
    await mlflowPy('alias', mlflowUri, NAME, 'champion', '2'); // the promotion: MLflow calls the gateway's hook
    await waitFor('version 2 to serve', async () => ((await (await fetch(`${gw.url}/v1/models`)).json()) as { active: { version: string } }).active.version === '2', 120_000);
    // The pipeline's own predictions on the held-out logged rows, against the gateway serving the new version.
    const parity = readFileSync(join(out, 'parity/heldout.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(parity.length).toBeGreaterThan(0);
    const rows = parity.map((c) => c.slice(2, 2 + FEATURE_NAMES.length).map(Number));
    const r = await postJson(`${gw.url}/v2/models/${NAME}/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, FEATURE_NAMES.length], data: rows }] });
    expect((r.json as { model_version: string }).model_version).toBe('2');
    const got = (r.json as { outputs: { data: number[] }[] }).outputs[0]!.data;
    parity.forEach((c, i) => expect(Math.abs(got[i]! - Number(c[c.length - 1]))).toBeLessThanOrEqual(1e-5));
    const fresh = await postJson(`${gw.url}/v1/score`, { transactionId: `after-${run}`, userId: `u0-${run}`, amount: '12.00', currency: 'EUR', timestamp: Date.now() });
    expect((fresh.json as { model: { version: string } }).model.version).toBe('2');
  }, 900_000);
});
