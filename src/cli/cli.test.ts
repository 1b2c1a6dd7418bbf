/**
 * The `scoregate` command as a user runs it: the built bin (npm run build first) spawned as a
 * child process, against a real gateway on loopback (test/support/gateway.ts) where it scores.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, ROOT, startGateway, TEST_DEFAULTS, validTx, type RunningGateway } from '../../test/support/gateway.js';

const BIN = join(ROOT, 'dist/src/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface OutLine {
  line: number;
  transactionId?: string;
  result?: { transactionId: string; score: number; riskCategory: string };
  replayed?: boolean;
  error?: { code: string; message: string; field?: string };
}

function outLines(text: string): OutLine[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as OutLine);
}

/** The last stderr line: the --json-summary object. */
function summaryOf(r: Run): Record<string, unknown> {
  const lines = r.stderr.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scoregate-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scoregate --help', () => {
  it.each([
    [[], /Usage: scoregate \[command\]/],
    [['serve'], /Usage: scoregate serve/],
    [['score'], /Usage: scoregate score FILE\.jsonl[\s\S]*--in-process[\s\S]*--concurrency N/],
    [['features', 'replay'], /Usage: scoregate features replay[\s\S]*--in FILE/],
    [['model', 'validate'], /Usage: scoregate model validate DIR/],
    [['keys'], /Usage: scoregate keys create\|list\|revoke/],
    [['keys', 'create'], /Usage: scoregate keys create[\s\S]*--role ROLE/],
    [['keys', 'list'], /Usage: scoregate keys list/],
    [['keys', 'revoke'], /Usage: scoregate keys revoke ID/],
    [['synth'], /Usage: scoregate synth[\s\S]*--out FILE/],
    [['config-table'], /Usage: scoregate config-table/],
  ])('%j --help prints usage on stdout and exits 0', async (cmd, usage) => {
    const r = await run([...cmd, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(usage);
  });

  it('package.json names the built dispatcher as the scoregate bin, with a shebang', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['scoregate']).toBe('dist/src/cli/main.js');
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('usage errors exit 2 and name the argument', () => {
  it.each([
    [['score', 'x.jsonl', '--concurrency', 'x'], 'score: --concurrency must be a whole number ≥ 1, got "x"'],
    [['score', 'x.jsonl', '--concurrency', '0'], 'score: --concurrency must be a whole number ≥ 1, got "0"'],
    [['score', 'x.jsonl', '--batch', '2.5'], 'score: --batch must be a whole number ≥ 1, got "2.5"'],
    [['score', 'x.jsonl', '--bogus'], 'score: unknown option --bogus; valid options: --url, --in-process, --concurrency, --batch'],
    [['score', 'x.jsonl', '--url'], 'score: --url needs a value (URL)'],
    [['score'], 'score: missing FILE.jsonl'],
    [['score', 'a.jsonl', 'b.jsonl'], 'score: unexpected argument "b.jsonl"'],
    [['score', 'x.jsonl', '--in-process', '--url', 'http://127.0.0.1:1'], 'score: give --url or --in-process, not both'],
    [['score', '/nonexistent/x.jsonl'], 'score: cannot read FILE.jsonl "/nonexistent/x.jsonl"'],
    [['model', 'validate'], 'model validate: missing DIR'],
    [['model', 'check', 'x'], 'model: unknown subcommand "check"; valid: validate'],
    [['features', 'replay', '--in', 'x'], 'features replay: --out is required'],
    [['synth', '--out', 'x', '--users', '-3'], 'synth: --users must be a whole number ≥ 1, got "-3"'],
    [['keys', 'create', '--role', 'root', '--name', 'x'], 'keys create: unknown role "root" for --role'],
    [['frobnicate'], 'unknown command "frobnicate"; valid commands: serve, score, features, model, keys, skew, synth, config-table'],
  ])('%j', async (args, message) => {
    const r = await run(args, { AUTH_KEYS_FILE: join(dir, 'keys.json') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});

describe('scoregate model validate', () => {
  it('passes the shipped model, printing each check that passed', async () => {
    const r = await run(['model', 'validate', join(ROOT, 'models/fraud-detector')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok +MLmodel and signature: fraud-detector /m);
    expect(r.stdout).toMatch(/^ok +load and warm: /m);
    expect(r.stdout).toMatch(/^ok +golden set: 256 rows scored/m);
    expect(r.stdout).toMatch(/^valid: fraud-detector /m);
  });

  it('fails a model that answers logits, with the golden-set reason, exit 1', async () => {
    const r = await run(['model', 'validate', join(ROOT, 'test/fixtures/linear-logits')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ok +MLmodel and signature: linear-logits fixture-1/m);
    expect(r.stdout).toMatch(/^FAIL +golden set: golden row 0 scored -?\d[\d.e-]*, not a probability in \[0, 1\]/m);
    expect(r.stderr).toMatch(/cannot serve: golden row 0 scored/);
  });

  it('fails a directory without an MLmodel file at the first check', async () => {
    const r = await run(['model', 'validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL +MLmodel and signature: .* is not an MLflow model directory: no MLmodel file/m);
  });
});

describe('scoregate features replay', () => {
  it('writes the CSV and its counts, and keeps the old `features --in` form', async () => {
    const input = join(dir, 'replay.jsonl');
    const t = Date.now();
    writeFileSync(input, [validTx({ transactionId: 'r1', timestamp: t }), validTx({ transactionId: 'r2', timestamp: t + 1 }), validTx({ transactionId: 'r1', timestamp: t })].map((x) => JSON.stringify(x)).join('\n') + '\n');
    for (const args of [['features', 'replay', '--in', input, '--out', join(dir, 'a.csv')], ['features', '--in', input, '--out', join(dir, 'b.csv')]]) {
      const r = await run(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('features: 2 rows (0 invalid, 1 duplicates skipped)');
    }
    expect(readFileSync(join(dir, 'a.csv'), 'utf8')).toBe(readFileSync(join(dir, 'b.csv'), 'utf8'));
    expect(readFileSync(join(dir, 'a.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('scoregate score', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** Good lines for two users (one repeats a transaction byte for byte), a bad amount, a line that is not JSON. */
  function file(tag: string): { path: string; good: Record<string, unknown>[] } {
    const t = Date.now() - 60_000;
    const u1 = `cli-${tag}-u1-${t}`;
    const u2 = `cli-${tag}-u2-${t}`;
    const good = [
      validTx({ transactionId: `${tag}-1-${t}`, userId: u1, amount: '12.50', timestamp: t }),
      validTx({ transactionId: `${tag}-2-${t}`, userId: u2, amount: '980.00', currency: 'USD', timestamp: t + 1000, merchantId: 'm-9' }),
      validTx({ transactionId: `${tag}-3-${t}`, userId: u1, amount: '14.00', timestamp: t + 2000, merchantId: 'm-2' }),
    ];
    const lines = [
      JSON.stringify(good[0]),
      JSON.stringify(good[1]),
      '{"transactionId": "oops", ',
      JSON.stringify(validTx({ transactionId: `${tag}-bad-${t}`, userId: u2, amount: '-5', timestamp: t + 1500 })),
      '',
      JSON.stringify(good[0]), // the same transaction again: its answer is replayed
      JSON.stringify(good[2]),
    ];
    const path = join(dir, `${tag}.jsonl`);
    writeFileSync(path, lines.join('\n') + '\n');
    return { path, good };
  }

  function checkLines(lines: OutLine[], good: Record<string, unknown>[]): void {
    expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(lines[0]!.result?.transactionId).toBe(good[0]!['transactionId']);
    expect(lines[1]!.result?.transactionId).toBe(good[1]!['transactionId']);
    expect(lines[2]!.error?.code).toBe('INVALID_JSON');
    expect(lines[2]!.error?.message).toMatch(/^line 3 is not JSON/);
    expect(lines[3]).toMatchObject({ transactionId: expect.stringContaining('-bad-'), error: { code: 'INVALID_AMOUNT', field: 'amount' } });
    expect(lines[4]!.replayed).toBe(true);
    expect(lines[4]!.result).toEqual(lines[0]!.result);
    expect(lines[5]!.result?.transactionId).toBe(good[2]!['transactionId']);
    for (const i of [0, 1, 4, 5]) {
      expect(lines[i]!.result!.score).toBeGreaterThanOrEqual(0);
      expect(lines[i]!.error).toBeUndefined();
    }
  }

  const SUMMARY = {
    lines: 6,
    outcomes: { scored: 3, fallback: 0, replayed: 1, error: 2 },
    replays: 1,
    errors: { INVALID_JSON: 1, INVALID_AMOUNT: 1 },
    fallbacks: {},
  };

  async function gatewayAnswer(tx: Record<string, unknown>): Promise<string> {
    const r = await postJson(`${gw.url}/v1/score`, tx);
    expect(r.status, r.text).toBe(200);
    return r.text;
  }

  it.each([
    ['one request per line', ['--concurrency', '4']],
    ['batches', ['--batch', '2', '--concurrency', '2']],
  ])('against the gateway (%s): answers in line order, errors by line, and each result is the gateway\'s answer byte for byte', async (tag, extra) => {
    const { path, good } = file(tag.replace(/\W/g, ''));
    const out = join(dir, `${tag.replace(/\W/g, '')}.out.jsonl`);
    const r = await run(['score', path, '--url', gw.url, '--out', out, '--json-summary', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = outLines(readFileSync(out, 'utf8'));
    checkLines(lines, good);
    expect(summaryOf(r)).toMatchObject(SUMMARY);
    const s = summaryOf(r) as { risk: Record<string, number>; linesPerSecond: number };
    expect(Object.values(s.risk).reduce((a, b) => a + b, 0)).toBe(4);
    expect(s.linesPerSecond).toBeGreaterThan(0);
    // transactionId is the idempotency key: the gateway replays what the command was answered.
    const text = readFileSync(out, 'utf8').trim().split('\n');
    for (const [i, k] of [[0, 0], [1, 1], [5, 2]] as const) {
      const answer = await gatewayAnswer(good[k]!);
      expect(text[i]).toBe(`{"line":${lines[i]!.line},"result":${answer}}`);
    }
  });

  it('--in-process gives the same scores as the gateway for the same file (fresh ids and users for each)', async () => {
    const a = file('inproc-gw');
    // The same file with its own ids and users: the same history, so the same features.
    const local = (text: string): string => text.replaceAll('inproc-gw', 'inproc-local');
    const bPath = join(dir, 'inproc-local.jsonl');
    writeFileSync(bPath, local(readFileSync(a.path, 'utf8')));
    const bGood = JSON.parse(local(JSON.stringify(a.good))) as Record<string, unknown>[];
    const viaGateway = await run(['score', a.path, '--url', gw.url, '--concurrency', '3', '--json-summary']);
    expect(viaGateway.code, viaGateway.stderr).toBe(0);
    const inProcess = await run(['score', bPath, '--in-process', '--json-summary'], { ...TEST_DEFAULTS, DATA_DIR: join(dir, 'inproc-data') });
    expect(inProcess.code, inProcess.stderr).toBe(0);
    const g = outLines(viaGateway.stdout);
    const l = outLines(inProcess.stdout);
    checkLines(g, a.good);
    checkLines(l, bGood);
    expect(l.map((x) => [x.line, x.result?.score, x.result?.riskCategory, x.error?.code, x.replayed])).toEqual(g.map((x) => [x.line, x.result?.score, x.result?.riskCategory, x.error?.code, x.replayed]));
    expect(summaryOf(inProcess)).toMatchObject(SUMMARY);
    // The in-process pipeline wrote its scored events where the gateway would (DATA_DIR).
    expect(readFileSync(join(dir, 'inproc-data', 'scored.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('a text summary when --json-summary is not given', async () => {
    const { path } = file('text');
    const r = await run(['score', path, '--url', gw.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/score: 6 lines in [\d.]+ s \([\d.]+ lines\/s\): 3 scored by the model, 0 by the fallback, 1 replayed, 2 errors/);
    expect(r.stderr).toMatch(/errors: INVALID_JSON 1, INVALID_AMOUNT 1/);
  });

  it('exits 1 naming the URL when no gateway answers there', async () => {
    const { path } = file('down');
    const r = await run(['score', path, '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the gateway at http://127.0.0.1:1');
  });
});

describe('scoregate score with credentials', () => {
  let gw: RunningGateway;
  let key: string;
  beforeAll(async () => {
    const keysFile = join(dir, 'auth-keys.json');
    const made = await run(['keys', 'create', '--role', 'scorer', '--name', 'cli-score'], { AUTH_KEYS_FILE: keysFile });
    expect(made.code, made.stderr).toBe(0);
    key = made.stdout.trim();
    gw = await startGateway({ AUTH_KEYS_FILE: keysFile });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('sends --api-key as a Bearer credential; without it every line is UNAUTHENTICATED, not retried', async () => {
    const path = join(dir, 'auth.jsonl');
    writeFileSync(path, JSON.stringify(validTx()) + '\n' + JSON.stringify(validTx()) + '\n');
    const denied = await run(['score', path, '--url', gw.url, '--json-summary'], { SCOREGATE_API_KEY: '' });
    expect(denied.code, denied.stderr).toBe(0);
    expect(outLines(denied.stdout).map((l) => l.error?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    const allowed = await run(['score', path, '--url', gw.url, '--api-key', key, '--json-summary']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(summaryOf(allowed)).toMatchObject({ lines: 2, outcomes: { scored: 2, error: 0 } });
  });
});
