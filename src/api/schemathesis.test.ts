/**
 * schemathesis (PyPI, pinned in scripts/services/schemathesis-venv.sh) fuzzes the live gateway
 * from the /openapi.json it serves: examples, coverage (every documented status, boundary and
 * negative values, other methods) and fuzzing phases. Passes with no 5xx, no answer that breaks
 * the document, no request that hangs (each request ≤ 5 s, the whole run bounded).
 * Settings and the reason for each exclusion: src/api/schemathesis.toml.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGateway, type RunningGateway } from '../../test/support/gateway.js';

const RUN_LIMIT_MS = 100_000;

let gw: RunningGateway;
let st: string;
beforeAll(async () => {
  const venv = spawnSync('bash', [join(ROOT, 'scripts/services/schemathesis-venv.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (venv.status !== 0) throw new Error(`schemathesis venv: ${venv.stderr}`);
  st = venv.stdout.trim();
  gw = await startGateway();
}, 660_000);
afterAll(async () => {
  await gw?.stop();
});

function run(args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(st, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), RUN_LIMIT_MS);
    p.once('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

describe('schemathesis against the live gateway', () => {
  it('finds no server error, no answer outside the document and no hang', async () => {
    const r = await run([
      '--config-file', join(ROOT, 'src/api/schemathesis.toml'),
      'run', `${gw.url}/openapi.json`,
      '--checks', 'all',
      // Credentials are not configured in this gateway (loopback, anonymous), so every call is
      // allowed without them: that is the setting, not an ignored Authorization header.
      '--exclude-checks', 'ignored_auth',
      '--generation-with-security-parameters', 'false',
      // A WebSocket: schemathesis speaks HTTP only (the 426 of a plain GET is checked in api.test.ts).
      '--exclude-path', '/v1/stream',
      '--phases', 'examples,coverage,fuzzing',
      '--max-examples', '25',
      '--workers', '2',
      '--request-timeout', '5',
      '--no-color',
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.ms).toBeLessThan(RUN_LIMIT_MS);
    expect(gw.exited()).toBe(false);
  }, RUN_LIMIT_MS + 10_000);
});
