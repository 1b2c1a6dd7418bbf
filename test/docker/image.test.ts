/**
 * The image, built from this checkout (scripts/docker/build.sh) and run as an operator runs it:
 * listening on all interfaces it refuses to start without credentials; with an API keys file
 * made by the CLI it gets ready, scores exactly as the gateway on this host does, runs as a
 * non-root user, writes its sink, reports healthy and exits 0 on `docker stop`; with
 * KAFKA_BROKERS and SCHEMA_REGISTRY_URL pointing at a real Kafka and Apicurio on loopback
 * (--network host) the scored event arrives in transactions.scored.
 *
 * Skipped, with the reason in its title, only when no docker daemon answers outside CI; under
 * CI (.ci/run sets CI and starts dockerd) a missing daemon fails the build.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServices, type Services } from '../../scripts/services/services.js';
import { REPO_ROOT } from '../../src/core/config.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../support/gateway.js';

const exec = promisify(execFile);
const dockerAnswers = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore' }).status === 0;
const inCi = (process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false';
const skip = !dockerAnswers && !inCi;
const BUDGET_MS = '60000';
if (skip) console.warn('test/docker/image.test.ts skipped: no docker daemon answers (`docker version` failed) and CI is not set');

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
  return stdout.trim();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

interface Answer {
  transactionId: string;
  score: number;
  riskCategory: string;
  model: { name: string; version: string };
  quality: { score: number; flags: string[] };
  tookMs: number;
}

async function score(url: string, tx: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await postJson(`${url}/v1/score`, tx, headers);
  expect(r.status, r.text).toBe(200);
  return r.json as Answer;
}

async function waitReady(url: string, name: string): Promise<void> {
  await vi
    .waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 90_000, interval: 200 })
    .catch(async (err: unknown) => {
      throw new Error(`${name} not ready: ${String(err)}\n${await logs(name, '--tail', '50').catch(() => '')}`);
    });
}

/** The container's output: the gateway logs JSON lines on stderr. */
async function logs(name: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await exec('docker', ['logs', ...args, name], { maxBuffer: 16 * 1024 * 1024, timeout: 30_000 });
  return stdout + stderr;
}

const health = (name: string): Promise<string> => docker('inspect', '--format', '{{.State.Health.Status}}', name);

describe.skipIf(skip)(skip ? 'the image (skipped: no docker daemon answers and CI is not set)' : 'the image', () => {
  const run = randomUUID().slice(0, 8);
  const containers: string[] = [];
  let image = '';
  let reference: RunningGateway | null = null;

  /**
   * Starts a container that is removed after the tests; `--health-interval 1s` only makes the
   * image's own check run sooner. REQUEST_BUDGET_MS is generous so that on a loaded machine a
   * cold first request still gets the model's answer, not the fallback rule's.
   */
  async function start(name: string, args: string[]): Promise<void> {
    containers.push(name);
    await docker('run', '-d', '--name', name, '--health-interval', '1s', '-e', `REQUEST_BUDGET_MS=${BUDGET_MS}`, ...args, image);
  }

  beforeAll(async () => {
    const { stdout } = await exec('bash', ['scripts/docker/build.sh'], { cwd: REPO_ROOT, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
    image = stdout.trim().split('\n').pop()!;
    reference = await startGateway({ REQUEST_BUDGET_MS: BUDGET_MS });
  }, 900_000);

  afterAll(async () => {
    for (const name of containers) await docker('rm', '-f', name).catch(() => undefined);
    await reference?.stop();
  }, 60_000);

  describe('on embedded defaults', () => {
    const name = `scoregate-test-${run}`;
    const keysDir = mkdtempSync(join(tmpdir(), 'scoregate-image-keys-'));
    let url = '';
    let auth: Record<string, string> = {};

    afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

    it('refuses to listen on all interfaces without credentials, naming HOST', async () => {
      const refused = await exec('docker', ['run', '--rm', image]).then(
        () => null,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(refused?.code).toBe(2);
      expect(refused?.stderr).toMatch(/HOST .*no credentials are configured/);
    });

    it('gets ready on a published port with an API keys file', async () => {
      // Made by this checkout's CLI; the file holds digests only, so the image's user may read it.
      const { stdout } = await exec(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), 'keys', 'create', '--role', 'scorer', '--name', 'image-test'], { env: { ...process.env, AUTH_KEYS_FILE: join(keysDir, 'keys.json') } });
      auth = { authorization: `Bearer ${stdout.trim()}` };
      chmodSync(keysDir, 0o755);
      chmodSync(join(keysDir, 'keys.json'), 0o644);
      await start(name, ['-p', '127.0.0.1::8080', '-v', `${keysDir}:/etc/scoregate:ro`, '-e', 'AUTH_KEYS_FILE=/etc/scoregate/keys.json']);
      const published = await docker('port', name, '8080/tcp');
      url = `http://${published.split('\n')[0]!}`;
      await waitReady(url, name);
      const output = await logs(name);
      expect(output).toContain('"origin":"MODEL_DIR /app/models/fraud-detector"');
      // uWebSockets.js would fall back to its JavaScript server if its native binary did not load.
      expect(output).not.toContain('Falling back');
    });

    it('scores a transaction as this host does, with every field of the answer', async () => {
      const tx = validTx({ userId: `image-${run}`, amount: '129.90' });
      expect((await postJson(`${url}/v1/score`, tx)).status).toBe(401);
      const inImage = await score(url, tx, auth);
      const onHost = await score(reference!.url, tx);
      expect(inImage).toEqual({
        transactionId: tx['transactionId'],
        score: onHost.score,
        riskCategory: onHost.riskCategory,
        model: { name: 'fraud-detector', version: onHost.model.version },
        quality: { score: 1, flags: [] },
        tookMs: expect.any(Number),
      });
      expect(inImage.riskCategory).toBe(inImage.score > 0.8 ? 'HIGH' : inImage.score > 0.5 ? 'MEDIUM' : 'LOW');
      // The default DATA_DIR is /app/var, writable by the gateway's user.
      await vi.waitFor(async () => expect(await docker('exec', name, 'cat', '/app/var/scored.jsonl')).toContain(String(tx['transactionId'])), { timeout: 10_000, interval: 200 });
    });

    it('runs as a user that is not root', async () => {
      expect(await docker('exec', name, 'id', '-u')).not.toBe('0');
      expect(await docker('inspect', '--format', '{{.Config.User}}', name)).not.toMatch(/^(|0|root)(:|$)/);
    });

    it("reaches healthy through the image's HEALTHCHECK", async () => {
      await vi.waitFor(async () => expect(await health(name)).toBe('healthy'), { timeout: 60_000, interval: 500 });
    });

    it('exits 0 on docker stop (SIGTERM to node as PID 1)', async () => {
      await docker('stop', '--time', '30', name);
      expect(await docker('inspect', '--format', '{{.State.ExitCode}}', name)).toBe('0');
    });
  });

  describe('on Kafka and the schema registry', () => {
    const name = `scoregate-test-kafka-${run}`;
    let svc: Services | null = null;
    let url = '';

    beforeAll(async () => {
      svc = await startServices({ log: process.env['SERVICES_LOG'] ? (t) => process.stderr.write(t) : undefined });
    }, 300_000);

    afterAll(async () => {
      await docker('rm', '-f', name).catch(() => undefined);
      await svc?.stop();
    }, 120_000);

    it('scores with worker threads and the scored event arrives in transactions.scored', async () => {
      const port = await freePort();
      // One test broker: the topics are created with one replica (the seed's 3 / 2 need three brokers).
      const env = { PORT: String(port), HOST: '127.0.0.1', KAFKA_BROKERS: svc!.kafkaBrokers, SCHEMA_REGISTRY_URL: svc!.registryUrl, INFERENCE_WORKERS: '1', TOPICS_CREATE: 'true', KAFKA_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '1' };
      await start(name, ['--network', 'host', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])]);
      url = `http://127.0.0.1:${port}`;
      await waitReady(url, name);

      const tx = validTx({ userId: `image-kafka-${run}` });
      const answer = await score(url, tx);
      expect(answer).toMatchObject({ transactionId: tx['transactionId'], model: { name: 'fraud-detector' } });
      expect(answer.score).toBe((await score(reference!.url, { ...tx, transactionId: `${String(tx['transactionId'])}-host` })).score);

      const kafka = new Kafka({ clientId: `image-test-${run}`, brokers: [svc!.kafkaBrokers], logLevel: logLevel.NOTHING });
      const registry = new SchemaRegistry({ host: svc!.registryUrl });
      const admin = kafka.admin();
      await admin.connect();
      await vi.waitFor(async () => expect((await admin.fetchTopicOffsets('transactions.scored')).some((p) => Number(p.high) > 0)).toBe(true), { timeout: 30_000, interval: 250 });
      await admin.disconnect();

      const consumer = kafka.consumer({ groupId: `image-test-${run}`, maxWaitTimeInMs: 100 });
      const seen: Record<string, unknown>[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: 'transactions.scored', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push((await registry.decode(message.value!)) as Record<string, unknown>);
        },
      });
      try {
        await vi.waitFor(() => expect(seen.map((e) => e['transactionId'])).toContain(tx['transactionId']), { timeout: 30_000, interval: 200 });
      } finally {
        await consumer.disconnect();
      }
      expect(seen.find((e) => e['transactionId'] === tx['transactionId'])).toMatchObject({
        userId: tx['userId'],
        currency: 'EUR',
        score: answer.score,
        riskCategory: answer.riskCategory,
        modelName: 'fraud-detector',
        modelVersion: answer.model.version,
        qualityScore: 1,
        source: 'http',
      });
      await vi.waitFor(async () => expect(await health(name)).toBe('healthy'), { timeout: 60_000, interval: 500 });
    }, 240_000);
  });
});
