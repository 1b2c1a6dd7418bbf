/**
 * CI smoke of the load test: the whole harness (targets a–d, HTTP fixed-rate and saturation
 * runs with autocannon and with wrk, the WebSocket run, scoregate's overload runs at 3× and 10×
 * its saturation) starts, runs briefly, prints its tables and stops its children. Only that is
 * checked — timings never decide a test, nor does a goal (met or missed is a measurement). The
 * serving peers (10–15 s each to start) and the hot-swap run (an MLflow server, a minute) are
 * left out of --quick; a second, short run of the peers alone checks they run or say why not.
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
  it("README's performance summary is the committed results' (scripts/readme-performance.mjs)", async () => {
    // A full run rewrites it; a hand edit of either side, or a results file without the
    // sections the summary quotes, fails here.
    await expect(run(process.execPath, [join(REPO_ROOT, 'scripts/readme-performance.mjs'), '--check'])).resolves.toBeDefined();
  });

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
    // wrk ran on the echo and scoregate (scripts/ci/debian-deps.sh installs it), with the CPU of both sides.
    expect(md).toContain('## Saturation with wrk');
    for (const t of ['(a) uWS echo', '(b) scoregate']) expect(md).toMatch(new RegExp(`\\| ${t.replace(/[()]/g, '\\$&')} \\| /v1/score \\| [\\d,]+ \\|`));
    expect(md).toContain('## Goals (issue 11)');
    // Issue 11's letter: each run reports the generator's CPU beside the target's and marks the
    // generator-bound ones; the 5000 req/s goal is a median of repeated runs; the WebSocket
    // figure is set against the echo's WebSocket in the same run.
    expect(md).toContain('| wrk CPU % | target CPU % | other % | generator |');
    expect(md).toMatch(/\| \(a\) uWS echo \| \/v1\/score \|.*\| (ok|\*\*bound\*\*) \|/);
    expect(md).toContain('| target | run | server CPU % | generator CPU % |');
    expect(md).toMatch(/server p99 ≤ 2 ms at \d+ req\/s \(median of \d+\) \| [\d.]+ ms \(runs: /);
    expect(md).toMatch(/WebSocket ≥ 30k scored msg\/s on one connection \| [\d,]+ results\/s, window \d+; echo [\d,]+ msg\/s: [\d.]+×/);
    // The overload runs happened: a baseline and both multiples, each with its row, and the goal stated.
    expect(md).toContain('## Overload: (b) scoregate');
    for (const run of ['unloaded 500 req/s', '3×S', '10×S']) expect(md).toMatch(new RegExp(`\\| ${run.replace(/[()]/g, '\\$&')} \\| [\\d,]+ \\| [\\d,]+`));
    expect(md).toMatch(/Goal: admitted p99 ≤ 5× the unloaded p99 .*: \*\*(met|missed)\*\*/);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as { targets: { key: string; overload?: { runs: { crashed: boolean; sent: number }[] } }[] };
    const runs = json.targets.find((t) => t.key === 'b')?.overload?.runs ?? [];
    expect(runs).toHaveLength(3);
    for (const r of runs) expect(r.sent).toBeGreaterThan(0);
  }, 900_000);

  it('runs the serving peers that are installed and skips the others with the reason, exit code 0', async () => {
    const out = mkdtempSync(join(tmpdir(), 'loadtest-peers-'));
    // Exit code 0 even when a peer is missing or does not start: a rejected promise fails the test.
    await run(process.execPath, [join(REPO_ROOT, 'dist/loadtest/run.js'), '--quick', '--targets', 'e,f,g', '--out', out], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    for (const t of ['(e) MLServer+mlflow', '(f) MLServer+ONNX', '(g) PyTriton']) {
      expect(md).toMatch(new RegExp(`\\| ${t.replace(/[()+]/g, '\\$&')} \\| (/v2/models/fraud-detector/infer \\| [\\d,]+|not installed|install failed|did not start|wrk not installed)`));
    }
  }, 900_000);
});
