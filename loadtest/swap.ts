/**
 * The hot-swap run: scoregate under a steady open-loop load (loadtest/paced.ts) while its model
 * is swapped twice, the way production does it:
 *
 *   1. a promotion through MLflow: a real MLflow server (scripts/services/mlflow-start.sh, the
 *      test suite's venv) holds the model registered twice; the champion alias is moved to
 *      version 2 and the gateway is told by a signed `model_version_alias.created` webhook on
 *      POST /hooks/mlflow — it downloads version 2 through MLflow's artifact proxy, validates
 *      it, warms a new worker pool and switches;
 *   2. the same back to version 1 (a hook naming version 1).
 *
 * Each swap's window runs from the call until GET /v1/models names the new version, plus one
 * second (the old pool drains). Reported: the p99 of the worst second (by issue time) touching
 * a window against the steady p99 (every request issued outside the windows), failed requests
 * (anything but a 2xx or the traffic's designed 400s, connection errors, unanswered), and
 * fallback answers.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mlflowSignature } from '../src/http/signatures.js';
import { paced, type PacedResult } from './paced.js';
import { percentiles } from './stats.js';

const exec = promisify(execFile);

export const SWAP_SECRET = 'loadtest-hook-secret';
const MODEL = 'fraud-detector';

export interface SwapRegistry {
  uri: string;
  stop: () => Promise<void>;
}

/** Starts a throwaway MLflow server under `state` and registers the model twice (champion → 1; the gateway does not poll, the hooks name the version). */
export async function swapRegistry(root: string, state: string, modelDir: string): Promise<SwapRegistry> {
  const env = { ...process.env, SERVICES_DIR: state };
  const up = await exec('bash', [join(root, 'scripts/services/mlflow-start.sh')], { env, timeout: 600_000 });
  const uri = /MLFLOW_TRACKING_URI=(\S+)/.exec(up.stdout)?.[1];
  const stop = async (): Promise<void> => {
    await exec('bash', [join(root, 'scripts/services/mlflow-stop.sh'), '--clean'], { env, timeout: 60_000 }).catch(() => undefined);
  };
  if (uri === undefined) {
    await stop();
    throw new Error(`mlflow-start.sh printed no MLFLOW_TRACKING_URI:\n${up.stdout}${up.stderr}`);
  }
  try {
    const python = (await exec('bash', [join(root, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 })).stdout.trim();
    const reg = join(root, 'scripts/services/mlflow-register.py');
    await exec(python, [reg, 'register', uri, MODEL, modelDir, 'champion'], { timeout: 180_000 });
    await exec(python, [reg, 'register', uri, MODEL, modelDir], { timeout: 180_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return { uri, stop };
}

export interface SwapEvent {
  what: string;
  /** ms since the run started: call sent, new version serving. */
  startMs: number;
  servingMs: number;
  status: number;
}

export interface SwapOut {
  rate: number;
  seconds: number;
  sent: number;
  completed: number;
  statusCodes: Record<string, number>;
  /** 5xx answers, connection errors and unanswered requests. */
  failed: number;
  fallbacks: number;
  swaps: SwapEvent[];
  steadyP99Ms: number;
  worstSwapSecond: { second: number; n: number; p99Ms: number } | null;
  ratio: number;
  /** Per second of the run: requests issued then, p99 (ms), and whether it touched a swap window. */
  timeline: { second: number; n: number; p99: number; swap: boolean }[];
  generatorLimited: boolean;
}

async function activeVersion(base: string): Promise<string | null> {
  try {
    const r = await fetch(`${base}/v1/models`, { signal: AbortSignal.timeout(2000) });
    const j = (await r.json()) as { active?: { version?: string } };
    return j.active?.version ?? null;
  } catch {
    return null;
  }
}

async function until(base: string, version: string, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if ((await activeVersion(base)) === version) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Runs the load and the two swaps; `body` gives each request's JSON. */
export async function swapRun(port: number, rate: number, seconds: number, body: () => string): Promise<SwapOut> {
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const swaps: SwapEvent[] = [];
  const load = paced({ host: '127.0.0.1', port, path: '/v1/score', rate, durationMs: seconds * 1000, connections: 64, body, mark: '"fallback":true' });
  const at = (f: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, f * seconds * 1000 - (performance.now() - t0))));
  const promote = async (version: string): Promise<void> => {
    const hook = JSON.stringify({ entity: 'model_version_alias', action: 'created', timestamp: new Date().toISOString(), data: { name: MODEL, alias: 'champion', version } });
    const ts = String(Math.floor(Date.now() / 1000));
    const id = `loadtest-${Date.now()}-${version}`;
    const s = performance.now() - t0;
    const r = await fetch(`${base}/hooks/mlflow`, {
      method: 'POST',
      body: hook,
      headers: { 'content-type': 'application/json', 'x-mlflow-delivery-id': id, 'x-mlflow-timestamp': ts, 'x-mlflow-signature': mlflowSignature(SWAP_SECRET, id, ts, Buffer.from(hook)) },
    });
    const text = await r.text();
    if (!(await until(base, version, 60_000))) throw new Error(`promotion to version ${version} not serving within 60 s (hook answered ${r.status} ${text.slice(0, 300)})`);
    swaps.push({ what: `promotion to version ${version} (MLflow webhook)`, startMs: s, servingMs: performance.now() - t0, status: r.status });
  };
  const driver = (async () => {
    await at(1 / 3);
    await promote('2');
    await at(2 / 3);
    await promote('1');
  })();
  const [p] = (await Promise.all([load, driver])) as [PacedResult, void];
  return summariseSwap(p, rate, seconds, swaps);
}

function summariseSwap(p: PacedResult, rate: number, seconds: number, swaps: SwapEvent[]): SwapOut {
  const inWindow = (t: number): boolean => swaps.some((w) => t >= w.startMs && t <= w.servingMs + 1000);
  const steady: number[] = [];
  const bySecond = new Map<number, { lat: number[]; swap: boolean }>();
  for (let i = 0; i < p.latencies.length; i++) {
    const t = p.issuedAtMs[i]!;
    const sec = Math.floor(t / 1000);
    let b = bySecond.get(sec);
    if (b === undefined) bySecond.set(sec, (b = { lat: [], swap: false }));
    b.lat.push(p.latencies[i]!);
    if (inWindow(t)) b.swap = true;
    else steady.push(p.latencies[i]!);
  }
  // A second is a swap second when any request issued in it was inside a window.
  const timeline = [...bySecond.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([second, b]) => ({ second, n: b.lat.length, p99: Math.round(percentiles(Float64Array.from(b.lat)).p99 * 1000) / 1000, swap: b.swap }));
  let worst: SwapOut['worstSwapSecond'] = null;
  for (const s of timeline) if (s.swap && (worst === null || s.p99 > worst.p99Ms)) worst = { second: s.second, n: s.n, p99Ms: s.p99 };
  const steadyP99 = percentiles(Float64Array.from(steady)).p99;
  let failed = p.errors + p.unsent;
  for (const [code, n] of Object.entries(p.statusCodes)) if (!code.startsWith('2') && code !== '400') failed += n;
  return {
    rate,
    seconds,
    sent: p.sent,
    completed: p.completed,
    statusCodes: p.statusCodes,
    failed,
    fallbacks: p.marked,
    swaps,
    steadyP99Ms: steadyP99,
    worstSwapSecond: worst,
    ratio: worst === null ? Number.NaN : worst.p99Ms / steadyP99,
    timeline,
    generatorLimited: p.achievedRps < 0.95 * rate,
  };
}
