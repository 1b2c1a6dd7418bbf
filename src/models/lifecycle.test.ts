/**
 * The model lifecycle against a real MLflow server (sqlite, artifact proxy, webhooks on) and
 * the real gateway process: train-register-alias is served within seconds under steady load
 * with every answer a 200 naming one version; corrupt and signature-mismatched versions are
 * rejected while the old one serves; forged, stale and replayed deliveries change nothing;
 * rollback; a challenger shows in metrics; Databricks hooks; polling mode.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { databricksSignature, mlflowSignature } from '../http/signatures.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';

const exec = promisify(execFile);
const NAME = 'fraud-detector';
const SECRET = 'mlflow-hook-secret';
const DBX = 'databricks-hook-secret';
const ADMIN = 'admin-token-for-tests';
const state = mkdtempSync(join(tmpdir(), 'lifecycle-'));
let uri = '';
let python = '';
let gw: RunningGateway;
const started: RunningGateway[] = [];

async function py(...args: string[]): Promise<string> {
  const { stdout } = await exec(python, [join(REPO_ROOT, 'scripts/services/mlflow-register.py'), ...args], { timeout: 120_000 });
  return stdout.trim();
}

async function register(dir: string, alias?: string): Promise<string> {
  const out = await py('register', uri, NAME, dir, ...(alias === undefined ? [] : [alias]));
  return (JSON.parse(out.split('\n').pop()!) as { version: string }).version;
}

interface ModelsView {
  active: { version: string; name: string } | null;
  challenger: { version: string } | null;
  lastRejection: { version: string | null; reason: string } | null;
}

async function models(g = gw): Promise<ModelsView> {
  return (await (await fetch(`${g.url}/v1/models`)).json()) as ModelsView;
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 30_000): Promise<number> {
  const t0 = Date.now();
  while (!(await f().catch(() => false))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

function signedDelivery(body: string, deliveryId: string, ts = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-mlflow-delivery-id': deliveryId,
    'x-mlflow-timestamp': String(ts),
    'x-mlflow-signature': mlflowSignature(SECRET, deliveryId, String(ts), Buffer.from(body)),
  };
}

const aliasEvent = (alias: string, version: string): string =>
  JSON.stringify({ entity: 'model_version_alias', action: 'created', timestamp: new Date().toISOString(), data: { name: NAME, alias, version } });

beforeAll(async () => {
  const env = { ...process.env, SERVICES_DIR: state };
  const up = await exec('bash', [join(REPO_ROOT, 'scripts/services/mlflow-start.sh')], { env, timeout: 900_000 });
  uri = /MLFLOW_TRACKING_URI=(\S+)/.exec(up.stdout)![1]!;
  python = (await exec('bash', [join(REPO_ROOT, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 })).stdout.trim();
  expect(await register(join(REPO_ROOT, 'models/fraud-detector'), 'champion')).toBe('1');
  gw = await startGateway({
    MLFLOW_TRACKING_URI: uri,
    MLFLOW_WEBHOOK_SECRET: SECRET,
    DATABRICKS_WEBHOOK_SECRET: DBX,
    ADMIN_TOKEN: ADMIN,
    MODEL_CACHE_DIR: join(state, 'cache'),
  });
  started.push(gw);
  await py('webhook', uri, NAME, `${gw.url}/hooks/mlflow`, SECRET);
}, 900_000);

afterAll(async () => {
  for (const g of started) await g.stop();
  await exec('bash', [join(REPO_ROOT, 'scripts/services/mlflow-stop.sh'), '--clean'], { env: { ...process.env, SERVICES_DIR: state } }).catch(() => undefined);
}, 120_000);

describe('model lifecycle with MLflow', () => {
  it('serves the version the champion alias points at', async () => {
    expect((await models()).active).toMatchObject({ name: NAME, version: '1' });
    const r = await postJson(`${gw.url}/v1/score`, validTx());
    expect((r.json as { model: { version: string } }).model.version).toBe('1');
  });

  it('train, register, set the alias: served within seconds, every answer a 200 naming one version', async () => {
    const versions = new Map<string, number>();
    const failures: number[] = [];
    let stop = false;
    const load = Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        while (!stop) {
          const r = await postJson(`${gw.url}/v1/score`, validTx({ userId: `swap-${w}` }));
          if (r.status !== 200) failures.push(r.status);
          else {
            const v = (r.json as { model: { version: string } }).model.version;
            versions.set(v, (versions.get(v) ?? 0) + 1);
          }
          await new Promise((res) => setTimeout(res, 2));
        }
      }),
    );
    // The pipeline trains and registers a new version (alias "candidate": the gateway ignores
    // it); then the ML engineer promotes it by pointing the champion alias at it.
    const out = mkdtempSync(join(tmpdir(), 'train-'));
    const trained = await exec('bash', [join(REPO_ROOT, 'models/build.sh'), '--register', '--tracking-uri', uri, '--name', NAME, '--alias', 'candidate', '--out', out], { timeout: 600_000 });
    expect(trained.stdout).toContain('"version": "2"');
    expect((await models()).active?.version).toBe('1');
    await py('alias', uri, NAME, 'champion', '2');
    const t0 = Date.now();
    await waitFor('version 2 to serve', async () => (await models()).active?.version === '2');
    const servedAfterMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect([...versions.keys()].sort()).toEqual(['1', '2']);
    console.info(`lifecycle: alias set → version 2 serving in ${servedAfterMs} ms; answers by version ${JSON.stringify(Object.fromEntries(versions))}`);
  }, 600_000);

  it('rejects a corrupt version and a signature-mismatched one; the old one keeps serving', async () => {
    const corrupt = mkdtempSync(join(tmpdir(), 'corrupt-'));
    cpSync(join(REPO_ROOT, 'models/fraud-detector'), corrupt, { recursive: true });
    writeFileSync(join(corrupt, 'model.onnx'), 'not an onnx model');
    const v3 = await register(corrupt, 'champion');
    await waitFor('the corrupt version to be rejected', async () => (await models()).lastRejection?.version === v3);
    expect((await models()).active?.version).toBe('2');
    expect((await models()).lastRejection?.reason).toMatch(/failed to load/);

    const mismatched = mkdtempSync(join(tmpdir(), 'mismatch-'));
    cpSync(join(REPO_ROOT, 'models/fraud-detector'), mismatched, { recursive: true });
    const ml = readFileSync(join(mismatched, 'MLmodel'), 'utf8').replace('"name": "hour_of_day"', '"name": "hour_of_week"');
    writeFileSync(join(mismatched, 'MLmodel'), ml);
    const v4 = await register(mismatched, 'champion');
    await waitFor('the mismatched version to be rejected', async () => (await models()).lastRejection?.version === v4);
    expect((await models()).lastRejection?.reason).toMatch(/missing feature\(s\): hour_of_day; unknown feature\(s\): hour_of_week/);
    const r = await postJson(`${gw.url}/v1/score`, validTx());
    expect(r.status).toBe(200);
    expect((r.json as { model: { version: string } }).model.version).toBe('2');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/scoregate_model_rejections_total\{action="activate"\} [2-9]/);
  }, 120_000);

  it('a forged signature gets 401, a stale one too, and a replayed delivery changes nothing', async () => {
    const body = aliasEvent('champion', '1');
    const forged = { ...signedDelivery(body, 'forged-1'), 'x-mlflow-signature': mlflowSignature('wrong-secret', 'forged-1', String(Math.floor(Date.now() / 1000)), Buffer.from(body)) };
    const f = await postJson(`${gw.url}/hooks/mlflow`, body, forged);
    expect(f.status).toBe(401);
    expect((f.json as { error: { code: string } }).error.code).toBe('INVALID_SIGNATURE');
    const tampered = await postJson(`${gw.url}/hooks/mlflow`, body.replace('"1"', '"3"'), signedDelivery(body, 'tampered-1'));
    expect(tampered.status).toBe(401);
    const stale = await postJson(`${gw.url}/hooks/mlflow`, body, signedDelivery(body, 'stale-1', Math.floor(Date.now() / 1000) - 3600));
    expect((stale.json as { error: { code: string } }).error.code).toBe('STALE_DELIVERY');
    expect((await models()).active?.version).toBe('2');

    const headers = signedDelivery(body, 'replay-1');
    expect((await postJson(`${gw.url}/hooks/mlflow`, body, headers)).status).toBe(202);
    await waitFor('version 1 to serve', async () => (await models()).active?.version === '1');
    // Back to 2 by rollback; the same delivery again must not promote 1 a second time.
    const rb = await postJson(`${gw.url}/v1/models/rollback`, '', { authorization: `Bearer ${ADMIN}` });
    expect(rb.status).toBe(200);
    expect((await models()).active?.version).toBe('2');
    const replay = await postJson(`${gw.url}/hooks/mlflow`, body, headers);
    expect(replay.json).toEqual({ status: 'duplicate' });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await models()).active?.version).toBe('2');
  }, 60_000);

  it('rollback and reload need the admin token', async () => {
    expect((await postJson(`${gw.url}/v1/models/rollback`, '')).status).toBe(401);
    expect((await postJson(`${gw.url}/v1/models/rollback`, '', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await postJson(`${gw.url}/v1/models/reload`, '', { authorization: 'Bearer nope' })).status).toBe(401);
    // The champion alias still points at the rejected version: reload says so and changes nothing.
    const rejected = await postJson(`${gw.url}/v1/models/reload`, '', { authorization: `Bearer ${ADMIN}` });
    expect(rejected.status).toBe(422);
    expect((rejected.json as { error: { code: string } }).error.code).toBe('MODEL_REJECTED');
    expect((await models()).active?.version).toBe('2');
    await py('alias', uri, NAME, 'champion', '2');
    const rl = await postJson(`${gw.url}/v1/models/reload`, '', { authorization: `Bearer ${ADMIN}` });
    expect(rl.status).toBe(200);
    expect((await models()).active?.version).toBe('2');
  }, 60_000);

  it('a challenger alias is scored on the same traffic and shows in metrics, never in the answer', async () => {
    await py('alias', uri, NAME, 'challenger', '1');
    await waitFor('the challenger to load', async () => (await models()).challenger?.version === '1');
    for (let i = 0; i < 20; i++) {
      const r = await postJson(`${gw.url}/v1/score`, validTx({ userId: 'ch-user' }));
      expect((r.json as { model: { version: string } }).model.version).toBe('2');
    }
    await new Promise((r) => setTimeout(r, 300));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/scoregate_challenger_score_count\{version="1"\} ([2-9]\d|1\d\d)/);
    expect(metrics).toMatch(/scoregate_challenger_score_diff_count\{version="1"\}/);
  }, 60_000);

  it('Databricks registry webhooks promote on MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', async () => {
    const payload = JSON.stringify({
      event: 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
      webhook_id: 'c5596721253c4b429368cf6f4341b88a',
      event_timestamp: Date.now(),
      model_name: NAME,
      version: '1',
      to_stage: 'Production',
      from_stage: 'Staging',
      text: `Registered model ${NAME} version 1 transitioned from Staging to Production.`,
    });
    const forged = await postJson(`${gw.url}/hooks/databricks`, payload, { 'x-databricks-signature': databricksSignature('wrong', Buffer.from(payload)) });
    expect(forged.status).toBe(401);
    const ok = await postJson(`${gw.url}/hooks/databricks`, payload, { 'x-databricks-signature': databricksSignature(DBX, Buffer.from(payload)) });
    expect(ok.status).toBe(202);
    await waitFor('version 1 to serve', async () => (await models()).active?.version === '1');
    const again = await postJson(`${gw.url}/hooks/databricks`, payload, { 'x-databricks-signature': databricksSignature(DBX, Buffer.from(payload)) });
    expect(again.json).toEqual({ status: 'duplicate' });
  }, 60_000);

  it('with a keyring the model cache is one sealed archive per version, nothing in clear; a tampered archive is reported and fetched again', async () => {
    const keyring = join(state, 'keyring.json');
    writeFileSync(keyring, JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }));
    const cache = join(state, 'cache-sealed');
    const env = { MLFLOW_TRACKING_URI: uri, MODEL_CACHE_DIR: cache, SINK_KEYRING_FILE: keyring, MLFLOW_CHALLENGER_ALIAS: '' };
    const sealed = await startGateway(env);
    started.push(sealed);
    const serving = (await models(sealed)).active!.version;
    expect((await postJson(`${sealed.url}/v1/score`, validTx())).status).toBe(200);
    const files = readdirSync(cache, { recursive: true }).map(String);
    expect(files).toEqual([`${NAME}-v${serving}.sealed`]);
    const bytes = readFileSync(join(cache, files[0]!));
    for (const clear of ['MLmodel', 'flavors', 'ai.onnx.ml', 'onnxmltools', 'probabilities']) expect(bytes.includes(clear), clear).toBe(false);
    expect(await sealed.stop()).toBe(0);
    // Tamper one byte in the middle: the next start refuses the archive (its tag), says so, and downloads the version again.
    bytes[Math.floor(bytes.length / 2)] = bytes[Math.floor(bytes.length / 2)]! ^ 0x5a;
    writeFileSync(join(cache, files[0]!), bytes);
    const again = await startGateway(env);
    started.push(again);
    expect((await models(again)).active!.version).toBe(serving);
    expect(again.logs.some((l) => l.includes('sealed model archive could not be opened') && l.includes('CIPHER_TAG_MISMATCH'))).toBe(true);
    expect((await postJson(`${again.url}/v1/score`, validTx())).status).toBe(200);
    expect(await again.stop()).toBe(0);
  }, 120_000);

  it('polling mode follows the alias where webhooks cannot reach', async () => {
    const poller = await startGateway({ MLFLOW_TRACKING_URI: uri, MLFLOW_POLL_MS: '500', MODEL_CACHE_DIR: join(state, 'cache-poll'), MLFLOW_CHALLENGER_ALIAS: '' });
    started.push(poller);
    const before = (await models(poller)).active?.version;
    const target = before === '2' ? '1' : '2';
    await py('alias', uri, NAME, 'champion', target);
    const ms = await waitFor(`the poller to serve version ${target}`, async () => (await models(poller)).active?.version === target);
    console.info(`lifecycle: polling (500 ms) served version ${target} ${ms} ms after the alias-setting process exited`);
  }, 120_000);
});
