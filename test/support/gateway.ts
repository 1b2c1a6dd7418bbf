/**
 * Starts the built gateway (dist/src/main.js) as a real child process on a free port, the way
 * an operator runs it, and waits until /readyz says ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch } from 'undici';
import { expectMatchesOpenApi } from './openapi.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), import.meta.url.includes('/dist/') ? '../../..' : '../..');
export const MAIN = join(ROOT, 'dist/src/main.js');

export interface RunningGateway {
  /** http://127.0.0.1:port, or https:// when the gateway was started with TLS_CERT_FILE. */
  url: string;
  /** With TLS: an undici dispatcher that trusts the test CA (for undici's fetch). */
  dispatcher: Agent | undefined;
  port: number;
  dataDir: string;
  /** The environment the process was started with (for loadConfig: the settings it runs with). */
  env: Record<string, string | undefined>;
  proc: ChildProcess;
  logs: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited(): boolean;
}

/**
 * Test gateways never let timing decide an answer: the budget is long enough that the model
 * always answers (tests of the fallback set REQUEST_BUDGET_MS and use a slow model), and the
 * admission limit never sheds (tests of shedding set ADMISSION_MAX_LIMIT).
 */
export const TEST_DEFAULTS: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  INFERENCE_WORKERS: '1',
  LOG_LEVEL: 'info',
  REQUEST_BUDGET_MS: '60000',
  ADMISSION_MIN_LIMIT: '1000000',
  ADMISSION_MAX_LIMIT: '1000000',
  // One test broker: the topics are created (the seed's partitions) with one replica.
  TOPICS_CREATE: 'true',
  KAFKA_REPLICATION_FACTOR: '1',
  KAFKA_MIN_INSYNC_REPLICAS: '1',
};

export interface StartOptions {
  waitReady?: boolean;
  /** With TLS_CERT_FILE: the CA (PEM) that the readiness poll and `dispatcher` trust. */
  tls?: { ca: string };
}

export async function startGateway(env: Record<string, string> = {}, opts: StartOptions = {}): Promise<RunningGateway> {
  const dataDir = env['DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'scoregate-'));
  const fullEnv = { ...process.env, ...TEST_DEFAULTS, DATA_DIR: dataDir, ...env };
  const proc = spawn(process.execPath, [MAIN], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let exitCode: number | null | undefined;
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r((exitCode = code))));
  const port = await new Promise<number>((res, rej) => {
    let buf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        const m = /"port":(\d+).*"msg":"listening"|"msg":"listening".*"port":(\d+)/.exec(line);
        if (m) res(Number(m[1] ?? m[2]));
      }
    });
    proc.stdout!.resume();
    void exit.then((code) => rej(new Error(`gateway exited with ${code} before listening:\n${logs.join('\n')}${buf}`)));
  });
  const tls = env['TLS_CERT_FILE'] !== undefined && env['TLS_CERT_FILE'] !== '';
  if (tls && opts.tls === undefined) throw new Error('startGateway: TLS_CERT_FILE given without opts.tls.ca');
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dispatcher = tls && opts.tls !== undefined ? new Agent({ connect: { ca: opts.tls.ca } }) : undefined;
  const gw: RunningGateway = {
    url,
    dispatcher,
    port,
    dataDir,
    env: fullEnv,
    proc,
    logs,
    exited: () => exitCode !== undefined,
    stop: async () => {
      if (exitCode === undefined) proc.kill('SIGTERM');
      const code = await exit;
      await dispatcher?.destroy();
      return code;
    },
  };
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await (dispatcher === undefined ? fetch(`${url}/readyz`) : undiciFetch(`${url}/readyz`, { dispatcher })).catch(() => null);
      if (r?.status === 200) break;
      if (Date.now() > deadline || exitCode !== undefined) throw new Error(`gateway not ready:\n${logs.join('\n')}`);
      await new Promise((s) => setTimeout(s, 50));
    }
  }
  return gw;
}

/** A transaction that passes every check, timestamped now. */
export function validTx(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    transactionId: `t-${Math.random().toString(36).slice(2)}-${Date.now()}`,
    userId: 'user-1',
    amount: '42.10',
    currency: 'EUR',
    timestamp: Date.now(),
    metadata: { country: 'DE' },
    merchantId: 'm-1',
    channel: 'web',
    ...over,
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  // Every answer the HTTP tests read is checked against the served API description.
  await expectMatchesOpenApi('POST', new URL(url).pathname, r.status, r.headers, text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text, headers: r.headers };
}
