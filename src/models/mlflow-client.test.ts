/**
 * MlflowClient against a real MLflow server (scripts/services/mlflow-start.sh, own state dir
 * and port): the shipped model directory is registered as an MLflow 3 logged model (like
 * `mlflow.onnx.log_model` does) and as plain run artifacts, `champion` points at the first;
 * the client resolves the alias and downloads both versions into directories readModelDir
 * accepts. Also checks a real webhook delivery (headers, payload, signature).
 * The first run creates .cache/venv (pip install, a few minutes). SCOREGATE_SKIP_MLFLOW=1 skips.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient, MlflowError } from './mlflow-client.js';
import { readModelDir } from './mlmodel.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIPPED = join(ROOT, 'models/fraud-detector');
const NAME = 'fraud-detector';
const PYTHON = join(ROOT, '.cache/venv/bin/python');

// Logs the directory as is (no re-save, no model load: fast), in both layouts.
const REGISTER = join(ROOT, 'scripts/services/mlflow-register.py');

interface Registered {
  version: string;
  legacyVersion: string;
  runId: string;
  legacyRunId: string;
  modelId: string;
}

const sha256 = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

describe.skipIf(process.env['SCOREGATE_SKIP_MLFLOW'] === '1')('MlflowClient against a real MLflow server', () => {
  let state = '';
  let uri = '';
  let reg: Registered;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, SERVICES_DIR: state });

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'scoregate-mlflow-'));
    let t = Date.now();
    const started = await run('bash', [join(ROOT, 'scripts/services/mlflow-start.sh')], { env: env(), timeout: 600_000 })
      .catch((err: Error & { stderr?: string }) => Promise.reject(new Error(`mlflow-start.sh failed: ${err.message}\n${err.stderr ?? ''}`)));
    uri = /MLFLOW_TRACKING_URI=(\S+)/.exec(started.stdout)?.[1] ?? '';
    expect(uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    console.info(`mlflow server up in ${Date.now() - t} ms at ${uri}`);
    t = Date.now();
    const pyEnv = { ...env(), MLFLOW_DISABLE_TELEMETRY: 'true' };
    const last = (stdout: string): Record<string, string> => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
    const logged = last((await run(PYTHON, [REGISTER, 'register', uri, NAME, SHIPPED, 'champion'], { env: pyEnv, timeout: 120_000 })).stdout);
    const legacy = last((await run(PYTHON, [REGISTER, 'register-run-artifacts', uri, NAME, SHIPPED], { env: pyEnv, timeout: 120_000 })).stdout);
    reg = { version: logged['version']!, modelId: logged['modelId']!, runId: logged['runId']!, legacyVersion: legacy['version']!, legacyRunId: legacy['runId']! };
    console.info(`registered ${NAME} v${reg.version} (logged model) and v${reg.legacyVersion} (runs:/) in ${Date.now() - t} ms`);
  }, 660_000);

  afterAll(async () => {
    if (state === '') return;
    await run('bash', [join(ROOT, 'scripts/services/mlflow-stop.sh'), '--clean'], { env: env(), timeout: 60_000 });
    await rm(state, { recursive: true, force: true });
  }, 60_000);

  it('resolves the champion alias to the registered version', async () => {
    const client = new MlflowClient(uri);
    const v = await client.getVersionByAlias(NAME, 'champion');
    expect(v).toEqual({ name: NAME, version: reg.version, source: `models:/${reg.modelId}`, runId: reg.runId, status: 'READY' });
    expect(await client.getVersion(NAME, reg.legacyVersion)).toMatchObject({ version: reg.legacyVersion, source: `runs:/${reg.legacyRunId}/legacy-model` });
  }, 30_000);

  it('downloads the champion (logged model) and a runs:/ version into directories readModelDir accepts', async () => {
    const client = new MlflowClient(uri, { timeoutMs: 20_000 });
    const want = await readdir(SHIPPED);
    for (const version of [reg.version, reg.legacyVersion]) {
      const dest = join(state, `download-v${version}`);
      const dir = await client.downloadModel(NAME, version, dest);
      expect(dir).toBe(resolve(dest));
      expect((await readdir(dir)).sort()).toEqual(want.sort());
      const d = await readModelDir(dir, version);
      expect(d).toMatchObject({ name: NAME, version, dir });
      expect(await sha256(d.onnxPath)).toBe(await sha256(join(SHIPPED, 'model.onnx')));
      expect(await readFile(join(dir, 'MLmodel'), 'utf8')).toBe(await readFile(join(SHIPPED, 'MLmodel'), 'utf8'));
    }
  }, 60_000);

  it('names the model, alias or version and the HTTP status in errors', async () => {
    const client = new MlflowClient(uri);
    const alias = await client.getVersionByAlias(NAME, 'nope').catch((e: unknown) => e);
    expect(alias).toBeInstanceOf(MlflowError);
    expect(String(alias)).toMatch(/model fraud-detector@nope: HTTP 400 INVALID_PARAMETER_VALUE .*not found/);
    const version = await client.getVersion(NAME, '999').catch((e: unknown) => e);
    expect(version).toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(String(version)).toMatch(/model fraud-detector version 999: HTTP 404/);
    await expect(client.downloadModel('no-such-model', '1', join(state, 'none'))).rejects.toThrow(/model no-such-model version 1: HTTP 404/);
    await expect(new MlflowClient('http://127.0.0.1:9', { timeoutMs: 2000 }).getVersion(NAME, '1')).rejects.toThrow(/unreachable/);
  }, 30_000);

  it('delivers a signed model_version_alias.created webhook to a local listener', async () => {
    const got: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.end('ok');
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const port = (server.address() as AddressInfo).port;
      const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
        const res = await fetch(`${uri}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, await res.clone().text()).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      // Enum names must be upper case: lower case parses as *_UNSPECIFIED and the server answers 500.
      await post('/api/2.0/mlflow/webhooks', {
        name: 'scoregate-test',
        url: `http://127.0.0.1:${port}/hooks/mlflow`,
        events: [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
        secret: 'test-secret',
      });
      await post('/api/2.0/mlflow/registered-models/alias', { name: NAME, alias: 'challenger', version: reg.legacyVersion });
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(got).toHaveLength(1);
      const { headers, body } = got[0]!;
      const id = String(headers['x-mlflow-delivery-id']);
      const ts = String(headers['x-mlflow-timestamp']);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      // v1,<base64 HMAC-SHA256(secret, "<delivery id>.<timestamp>.<raw body>")>
      const mac = createHmac('sha256', 'test-secret').update(`${id}.${ts}.`).update(body).digest('base64');
      expect(headers['x-mlflow-signature']).toBe(`v1,${mac}`);
      expect(JSON.parse(body.toString('utf8'))).toEqual({
        entity: 'model_version_alias',
        action: 'created',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+\+00:00$/) as unknown,
        data: { name: NAME, alias: 'challenger', version: reg.legacyVersion },
      });
    } finally {
      server.close();
    }
  }, 30_000);
});

describe('MlflowClient.downloadModel path guard', () => {
  it('refuses an artifact listing entry that would climb out of destDir', async () => {
    // A stand-in server: the version lives at mlflow-artifacts:/x, whose listing holds "..".
    const server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (u.pathname.endsWith('/get-download-uri')) return res.end(JSON.stringify({ artifact_uri: 'mlflow-artifacts:/x' }));
      if (u.pathname === '/api/2.0/mlflow-artifacts/artifacts') return res.end(JSON.stringify({ files: [{ path: '..', is_dir: true }] }));
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const dest = await mkdtemp(join(tmpdir(), 'mlflow-guard-'));
    try {
      const client = new MlflowClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await expect(client.downloadModel('m', '1', join(dest, 'inner'))).rejects.toThrow(/model m version 1: refusing artifact name "\.\."/);
      expect(existsSync(join(dest, 'inner'))).toBe(true);
      expect(await readdir(join(dest, 'inner'))).toEqual([]);
    } finally {
      server.close();
      await rm(dest, { recursive: true, force: true });
    }
  });
});
