/**
 * The Open Inference Protocol routes, proven with Triton's own Python client (tritonclient[http]
 * from PyPI, test/oip/tritonclient_check.py) against the built gateway process, and with fetch
 * for the forms and refusals the client never sends. Scores are checked against the Python
 * pipeline's own predictions for the held-out rows, not only ranged.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, loadConfig } from '../core/config.js';
import { Logger } from '../core/log.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/contract.js';
import { Gateway } from '../gateway.js';
import { startGateway, type RunningGateway } from '../../test/support/gateway.js';

const HELDOUT = join(REPO_ROOT, 'models/parity/heldout.csv');
const MODEL = 'fraud-detector';
const TOLERANCE = 1e-5;

/** The held-out CSV's feature rows (contract order, by column name) and Python's predictions. */
function heldout(): { rows: number[][]; expected: number[] } {
  const [header, ...lines] = readFileSync(HELDOUT, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  const at = FEATURE_NAMES.map((n) => cols.indexOf(n));
  const exp = cols.indexOf('expected');
  const cells = lines.map((l) => l.split(',').map(Number));
  return { rows: cells.map((c) => at.map((i) => c[i]!)), expected: cells.map((c) => c[exp]!) };
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; json: any; headers: Headers; bytes: Buffer }> {
  const r = await fetch(url, init);
  const bytes = Buffer.from(await r.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: r.status, json, headers: r.headers, bytes };
}

function infer(url: string, body: unknown, path = `/v2/models/${MODEL}/infer`): ReturnType<typeof call> {
  return call(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function tensor(rows: number[][], nested: boolean): Record<string, unknown> {
  return { name: 'features', datatype: 'FP32', shape: [rows.length, FEATURE_COUNT], data: nested ? rows : rows.flat() };
}

describe('Open Inference Protocol against the gateway process', () => {
  let gw: RunningGateway;
  let python: string;
  const data = heldout();

  beforeAll(async () => {
    // From nothing (CI) this installs tritonclient from PyPI (~30 s); cached, it answers at once.
    const t0 = performance.now();
    const { stdout } = await promisify(execFile)('bash', [join(REPO_ROOT, 'scripts/services/tritonclient-venv.sh')], { timeout: 600_000 });
    python = stdout.trim();
    console.log(`tritonclient venv ready in ${Math.round(performance.now() - t0)} ms: ${python}`);
    gw = await startGateway();
  }, 660_000);

  afterAll(async () => {
    await gw?.stop();
  });

  /** Runs test/oip/tritonclient_check.py against a gateway; its exit code, stdout and stderr. */
  async function runCheck(port: number): Promise<{ code: number | null; out: string; err: string }> {
    const args = [join(REPO_ROOT, 'test/oip/tritonclient_check.py'), `127.0.0.1:${port}`, HELDOUT, FEATURE_NAMES.join(',')];
    const proc = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('close', r));
    return { code, out, err };
  }

  it('tritonclient: health, metadata, readiness, parity with Python on every held-out row in every tensor form, 400 and 404 refusals', async () => {
    const { code, out, err } = await runCheck(gw.port);
    expect(code, `tritonclient_check.py failed:\n${err}${out}`).toBe(0);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as { rows: number; maxAbsDiff: Record<string, number>; inferSeconds: number };
    console.log(`tritonclient: ${JSON.stringify(summary)}`);
    expect(summary.rows).toBe(data.rows.length);
    expect(Object.keys(summary.maxAbsDiff).length).toBeGreaterThanOrEqual(6);
    for (const d of Object.values(summary.maxAbsDiff)) expect(d).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the tritonclient check has teeth: another model served as fraud-detector fails it on parity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregate-oip-model-'));
    cpSync(join(REPO_ROOT, 'test/fixtures/linear-external'), dir, { recursive: true });
    const mlmodel = join(dir, 'MLmodel');
    writeFileSync(mlmodel, readFileSync(mlmodel, 'utf8').replace('model_name: linear-external', `model_name: ${MODEL}`));
    const other = await startGateway({ MODEL_DIR: dir });
    try {
      const { code, err } = await runCheck(other.port);
      expect(code).toBe(1);
      expect(err).toContain('rows off by more than');
    } finally {
      await other.stop();
    }
  });

  it('flat and nested JSON data score alike, match Python, echo the id and answer FP32 [N]', async () => {
    const rows = data.rows.slice(0, 50);
    const flat = await infer(gw.url, { id: 'flat-1', parameters: { any: 'thing' }, inputs: [tensor(rows, false)] });
    const nested = await infer(gw.url, { id: 'nested-1', inputs: [tensor(rows, true)], outputs: [{ name: 'score' }] });
    expect(flat.status).toBe(200);
    expect(nested.status).toBe(200);
    expect(flat.json).toMatchObject({ model_name: MODEL, id: 'flat-1', outputs: [{ name: 'score', datatype: 'FP32', shape: [50] }] });
    expect(nested.json.id).toBe('nested-1');
    expect(nested.json.outputs[0].data).toEqual(flat.json.outputs[0].data);
    flat.json.outputs[0].data.forEach((s: number, i: number) => expect(Math.abs(s - data.expected[i]!)).toBeLessThanOrEqual(TOLERANCE));
  });

  it('binary tensors both ways: raw FP32 rows after the JSON header in, raw FP32 scores out', async () => {
    const rows = data.rows.slice(100, 110);
    const bin = Buffer.from(new Float32Array(rows.flat()).buffer);
    const header = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [10, FEATURE_COUNT], parameters: { binary_data_size: bin.length } }], outputs: [{ name: 'score', parameters: { binary_data: true } }] });
    const r = await call(`${gw.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(Buffer.byteLength(header)) }, body: Buffer.concat([Buffer.from(header), bin]) });
    expect(r.status).toBe(200);
    const h = Number(r.headers.get('inference-header-content-length'));
    const meta = JSON.parse(r.bytes.subarray(0, h).toString('utf8'));
    expect(meta.outputs[0]).toEqual({ name: 'score', datatype: 'FP32', shape: [10], parameters: { binary_data_size: 40 } });
    const scores = new Float32Array(r.bytes.buffer.slice(r.bytes.byteOffset + h, r.bytes.byteOffset + h + 40));
    scores.forEach((s, i) => expect(Math.abs(s - data.expected[100 + i]!)).toBeLessThanOrEqual(TOLERANCE));
  });

  it('refusals: the protocol error body naming the field; unknown model or version 404; wrong method the coded 405', async () => {
    const row = data.rows[0]!;
    const cases: [unknown, number, string][] = [
      [{ inputs: [{ ...tensor([row], false), shape: [1, 25] }] }, 400, 'inputs[0].shape[1]'],
      [{ inputs: [{ ...tensor([row], false), shape: [26] }] }, 400, 'inputs[0].shape'],
      [{ inputs: [{ ...tensor([row], false), datatype: 'FP64' }] }, 400, 'inputs[0].datatype'],
      [{ inputs: [{ ...tensor([row], false), name: 'x' }] }, 400, 'inputs[0].name'],
      [{ inputs: [{ ...tensor([row], false), data: [...row.slice(1), 'x'] }] }, 400, 'inputs[0].data[25]'],
      [{ inputs: [{ ...tensor([row, row], true), data: [row, row.slice(1)] }] }, 400, 'inputs[0].data[1]'],
      [{ inputs: [{ ...tensor([row], false), data: row.slice(1) }] }, 400, 'inputs[0].data'],
      [{ inputs: [tensor(Array.from({ length: 501 }, () => row), false)] }, 400, 'BATCH_MAX_ITEMS'],
      [{ inputs: [tensor([row], false)], outputs: [{ name: 'probabilities' }] }, 400, 'outputs[0].name'],
      [{ id: 7, inputs: [tensor([row], false)] }, 400, 'id'],
      [{ inputs: [] }, 400, 'inputs'],
    ];
    for (const [body, status, field] of cases) {
      const r = await infer(gw.url, body);
      expect(r.status, JSON.stringify(r.json)).toBe(status);
      expect(typeof r.json.error, JSON.stringify(r.json)).toBe('string');
      expect(r.json.error).toContain(field);
    }
    const notJson = await call(`${gw.url}/v2/models/${MODEL}/infer`, { method: 'POST', body: '{"inputs": [' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toContain('not valid JSON');
    const shortBinary = await call(`${gw.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'inference-header-content-length': '9999' }, body: '{}' });
    expect(shortBinary.status).toBe(400);
    expect(shortBinary.json.error).toContain('Inference-Header-Content-Length');
    for (const path of ['/v2/models/nope', '/v2/models/nope/infer', `/v2/models/${MODEL}/versions/nope`, `/v2/models/${MODEL}/versions/nope/ready`]) {
      const r = path.endsWith('/infer') ? await infer(gw.url, { inputs: [tensor([row], false)] }, path) : await call(gw.url + path);
      expect(r.status, path).toBe(404);
      expect(r.json, path).toEqual({ error: expect.stringContaining('nope') });
    }
    const wrongMethod = await call(`${gw.url}/v2/models/${MODEL}/infer`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json.error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('Open Inference Protocol follows the model lifecycle', () => {
  let gw: Gateway;
  let url: string;

  beforeAll(async () => {
    const env = { PORT: '0', HOST: '127.0.0.1', INFERENCE_WORKERS: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'scoregate-oip-')), MODEL_DIR: join(REPO_ROOT, 'models/fraud-detector') };
    gw = new Gateway(loadConfig(env), { log: new Logger('error') });
    await gw.start();
    url = `http://127.0.0.1:${gw.port}`;
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('a challenger of the same name answers on its version; a hot swap answers with the new version at once', async () => {
    const row = heldout().rows[0]!;
    const body = { inputs: [tensor([row], false)] };
    const served = (await call(`${url}/v2/models/${MODEL}`)).json.versions[0] as string;
    await gw.models.setChallenger({ dir: join(REPO_ROOT, 'test/fixtures/linear-external'), name: MODEL, version: 'challenger-1', origin: 'test challenger' });
    expect((await call(`${url}/v2/models/${MODEL}`)).json.versions).toEqual([served, 'challenger-1']);
    expect((await call(`${url}/v2/models/${MODEL}/versions/challenger-1/ready`)).status).toBe(200);
    const champion = await infer(url, body);
    const challenger = await infer(url, body, `/v2/models/${MODEL}/versions/challenger-1/infer`);
    expect(champion.json.model_version).toBe(served);
    expect(challenger.json.model_version).toBe('challenger-1');
    expect(challenger.json.outputs[0].data[0]).not.toBe(champion.json.outputs[0].data[0]);

    await gw.models.activate({ dir: join(REPO_ROOT, 'test/fixtures/linear-external'), name: MODEL, version: 'swapped-2', origin: 'test swap' });
    const after = await infer(url, body);
    expect(after.json.model_version).toBe('swapped-2');
    expect(after.json.outputs[0].data[0]).toBe(challenger.json.outputs[0].data[0]);
    expect((await call(`${url}/v2/models/${MODEL}/versions/${served}/ready`)).status).toBe(404);
  });
});

describe('Open Inference Protocol with credentials configured', () => {
  let gw: RunningGateway;
  let scorer: string;
  let streamer: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregate-oip-auth-'));
    const keysFile = join(dir, 'keys.json');
    const createKey = (role: string): string => {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), 'keys', 'create', '--role', role, '--name', `oip-${role}`], { env: { ...process.env, AUTH_KEYS_FILE: keysFile }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    scorer = createKey('scorer');
    streamer = createKey('streamer');
    gw = await startGateway({ AUTH_KEYS_FILE: keysFile });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('infer takes the scorer role like /v1/score, refusing in the protocol error form; metadata and health stay open like /v1/models', async () => {
    const body = JSON.stringify({ inputs: [tensor([heldout().rows[0]!], false)] });
    const post = (headers: Record<string, string>): ReturnType<typeof call> => call(`${gw.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers, body });
    const anonymous = await post({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ error: expect.any(String) });
    const wrongRole = await post({ authorization: `Bearer ${streamer}` });
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.json).toEqual({ error: expect.any(String) });
    const ok = await post({ authorization: `Bearer ${scorer}` });
    expect(ok.status).toBe(200);
    expect(ok.json.outputs[0].shape).toEqual([1]);
    for (const path of ['/v2', '/v2/health/ready', `/v2/models/${MODEL}`, `/v2/models/${MODEL}/ready`]) expect((await call(gw.url + path)).status, path).toBe(200);
  });
});
