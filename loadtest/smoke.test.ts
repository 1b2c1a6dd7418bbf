/**
 * CI smoke of the load test: the whole harness (all four targets, HTTP fixed-rate and
 * saturation runs, the WebSocket run, scoregate's overload runs at 3× and 10× its saturation)
 * starts, runs briefly, prints its tables and stops its children. Only that is checked —
 * timings never decide a test, nor does the overload goal (met or missed is a measurement).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/core/config.js';

const run = promisify(execFile);

describe('loadtest smoke', () => {
  it('runs every target briefly and writes its table', async () => {
    // The rivals' own dependencies (Fastify) stay out of the gateway's: installed here when missing.
    if (!existsSync(join(REPO_ROOT, 'loadtest/node_modules/fastify'))) {
      await run('npm', ['ci', '--prefix', join(REPO_ROOT, 'loadtest'), '--no-audit', '--no-fund'], { timeout: 600_000 });
    }
    // The MLflow rival needs the pipeline's venv; make sure it exists (cached after the first run).
    await run('bash', [join(REPO_ROOT, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 });
    const out = mkdtempSync(join(tmpdir(), 'loadtest-'));
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/loadtest/run.js'), '--quick', '--out', out], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toContain('| target | saturation req/s |');
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const t of ['(a) uWS echo', '(b) scoregate', '(c) Fastify+ORT', '(d) MLflow serve']) expect(md).toMatch(new RegExp(`\\| ${t.replace(/[()+]/g, '\\$&')} \\| [\\d,]+ \\|`));
    expect(md).toContain('WebSocket /v1/stream');
    // The overload runs happened: a baseline and both multiples, each with its row, and the goal stated.
    expect(md).toContain('## Overload: (b) scoregate');
    for (const run of ['unloaded 500 req/s', '3×S', '10×S']) expect(md).toMatch(new RegExp(`\\| ${run.replace(/[()]/g, '\\$&')} \\| [\\d,]+ \\| [\\d,]+`));
    expect(md).toMatch(/Goal: admitted p99 ≤ 5× the unloaded p99 .*: \*\*(met|missed)\*\*/);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as { targets: { key: string; overload?: { runs: { crashed: boolean; sent: number }[] } }[] };
    const runs = json.targets.find((t) => t.key === 'b')?.overload?.runs ?? [];
    expect(runs).toHaveLength(3);
    for (const r of runs) expect(r.sent).toBeGreaterThan(0);
  }, 900_000);
});
