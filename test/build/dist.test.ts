/**
 * The build output runs on its own: the files the gateway reads at run time are in dist/ as
 * exact copies of the repository's originals (the .avsc schemas Spark users read, the golden
 * rows, the status page), and the production tree the image ships (scripts/docker/stage.sh)
 * starts, loads its model, serves its page, scores and writes its sink with no source tree beside
 * it and from any directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../../src/core/config.js';
import { postJson, validTx } from '../support/gateway.js';

const exec = promisify(execFile);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('assets in the build output', () => {
  const assets = [
    ...filesUnder(join(REPO_ROOT, 'src'))
      .filter((f) => !f.endsWith('.ts'))
      .map((f) => relative(REPO_ROOT, f)),
    'models/parity/heldout.csv',
  ];

  it('include both Avro schemas and the status page', () => {
    expect(assets).toEqual(expect.arrayContaining(['src/kafka/schemas/transactions.scored.avsc', 'src/kafka/schemas/transactions.dlq.avsc', 'src/ui/index.html']));
  });

  it.each(assets)('dist/%s is the same bytes as the original', (asset) => {
    const copy = join(REPO_ROOT, 'dist', asset);
    expect(existsSync(copy), `dist/${asset} missing: npm run build copies it (scripts/build-assets.mjs)`).toBe(true);
    expect(readFileSync(copy).equals(readFileSync(join(REPO_ROOT, asset))), `dist/${asset} differs from ${asset}: run npm run build`).toBe(true);
  });
});

describe('the staged production tree', () => {
  const stage = mkdtempSync(join(tmpdir(), 'scoregate-stage-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'scoregate-cwd-'));
  let proc: ChildProcess | null = null;

  afterAll(async () => {
    if (proc !== null && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(stage, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('holds no source and serves on path defaults found from its own folder', async () => {
    await exec('bash', [join(REPO_ROOT, 'scripts/docker/stage.sh'), stage], { timeout: 300_000 });
    expect(existsSync(join(stage, 'src'))).toBe(false);
    // The image adds the model beside the staged tree; here a copy of it, then the gateway runs
    // from another directory with no path setting at all.
    cpSync(join(REPO_ROOT, 'models/fraud-detector'), join(stage, 'models/fraud-detector'), { recursive: true });
    // A generous budget: on a loaded machine a cold first request must still get the model's answer.
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], PORT: '0', HOST: '127.0.0.1', INFERENCE_WORKERS: '1', REQUEST_BUDGET_MS: '60000' };
    proc = spawn(process.execPath, [join(stage, 'dist/src/main.js')], { cwd: elsewhere, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    const port = await new Promise<number>((resolve, reject) => {
      proc!.stderr!.on('data', (d: Buffer) => {
        logs += d.toString();
        const m = /"port":(\d+)[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"port":(\d+)/.exec(logs);
        if (m !== null) resolve(Number(m[1] ?? m[2]));
      });
      proc!.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${logs}`)));
      setTimeout(() => reject(new Error(`gateway not listening after 60 s:\n${logs}`)), 60_000).unref();
    });
    const url = `http://127.0.0.1:${port}`;
    await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 60_000, interval: 100 });
    expect(logs).toContain(`"origin":"MODEL_DIR ${join(stage, 'models/fraud-detector')}"`);
    // The status page's files come from beside the compiled module.
    const page = await fetch(`${url}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/^<!doctype html>/);
    for (const file of ['status.js', 'status.css']) {
      const r = await fetch(`${url}/ui/${file}`);
      expect(r.status, `/ui/${file}`).toBe(200);
      expect(await r.text()).toContain(readFileSync(join(REPO_ROOT, 'src/ui', file), 'utf8').split('\n')[0]);
    }

    const tx = validTx({ userId: `stage-${Date.now()}` });
    const answer = await postJson(`${url}/v1/score`, tx);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ transactionId: tx['transactionId'], model: { name: 'fraud-detector' } });
    // DATA_DIR's default is the package's var/, not the working directory's.
    await vi.waitFor(() => expect(readFileSync(join(stage, 'var/scored.jsonl'), 'utf8')).toContain(String(tx['transactionId'])), { timeout: 10_000, interval: 100 });
    expect(existsSync(join(elsewhere, 'var'))).toBe(false);
  }, 360_000);
});
