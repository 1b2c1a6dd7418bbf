/**
 * Saturation with `wrk` (C, Debian's package): a generator much cheaper per request than the
 * Node ones, so the transport ceiling (the echo) is measured as the echo's, not the generator's.
 *
 * The traffic's shape is pre-generated into a Lua data file (one entry per template: user,
 * time offset, the JSON members after the timestamp, or a fixed invalid body); the request
 * script (`loadtest/wrk/score.lua`) only concatenates per request: a unique transactionId
 * (run tag, wrk thread, sequence number), the user (with a pass prefix when the stream wraps,
 * as Feed does) and `timestamp = now + offset`. Feature-row peers get `loadtest/wrk/rows.lua`:
 * pre-rendered bodies (Open Inference Protocol JSON, or MLflow's dataframe_split) cycled in order.
 *
 * Both scripts count answers by status in `response()` and print one `WRKJSON {…}` line from
 * `done()` with requests, duration, latency percentiles (µs) and the status counts.
 *
 * The generator's CPU is what this process's reaped children used during the run
 * (/proc/self/stat cutime + cstime): wrk is the only child that exits while it runs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Traffic } from './traffic.js';

export interface WrkOptions {
  url: string;
  /** Lua script (score.lua or rows.lua) and the data file it loads. */
  script: string;
  data: string;
  connections: number;
  threads: number;
  seconds: number;
  /** Tag making this run's transactionIds unique (score.lua). */
  tag: string;
  headers?: Record<string, string>;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  statusCodes: Record<string, number>;
  /** Socket errors and timeouts as wrk counts them. */
  errors: { connect: number; read: number; write: number; timeout: number };
  latencyMs: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  /** CPU seconds the wrk process used. */
  cpuSeconds: number;
}

/** wrk on the PATH, or null. */
export function wrkPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

/** CPU seconds of this process's reaped children so far (/proc/self/stat fields 16 and 17). */
export function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3: cutime is field 16, cstime 17.
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return Number.NaN;
  }
}

const lua = (s: string): string => JSON.stringify(s); // a JSON string literal is a valid Lua one for our ASCII data

/**
 * Writes the score traffic as a Lua data file: the first `max` templates of `traffic`.
 * Entries are `{user, offset, rest}` or `{false, 0, body}` for a body sent as-is (invalid JSON).
 */
export function writeScoreData(traffic: Traffic, file: string, max: number): number {
  const n = Math.min(max, traffic.size);
  const out: string[] = ['return {'];
  for (let i = 0; i < n; i++) {
    const t = traffic.templates[i]!;
    if (t.bad === 'invalid_json') out.push(`{false,0,${lua(traffic.body(i, `bad-${i}`, '', 0))}},`);
    else out.push(`{${t.bad === 'missing_user' ? '""' : lua(t.userId)},${t.offset},${lua(t.rest)}},`);
  }
  out.push('}');
  writeFileSync(file, out.join('\n'));
  return n;
}

/** Writes pre-rendered bodies (one per request, cycled) as a Lua data file. */
export function writeRowsData(bodies: string[], file: string): void {
  writeFileSync(file, `return {\n${bodies.map((b) => `${lua(b)},`).join('\n')}\n}`);
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  // wrk takes whole seconds.
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${Math.max(1, Math.round(o.seconds))}s`, '--timeout', '10s', '-s', o.script];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const env = { ...process.env, WRK_DATA: o.data, WRK_TAG: o.tag };
  const c0 = childrenCpuSeconds();
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { env, timeout: (o.seconds + 60) * 1000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const cpuSeconds = childrenCpuSeconds() - c0;
      if (err !== null) return reject(new Error(`wrk failed: ${err.message}\n${stderr}${stdout}`.trim()));
      const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
      if (line === undefined) return reject(new Error(`wrk printed no WRKJSON line:\n${stdout}\n${stderr}`));
      const j = JSON.parse(line.slice(8)) as {
        requests: number;
        duration_us: number;
        errors: WrkResult['errors'];
        lat: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
        status: Record<string, number>;
      };
      const durationS = j.duration_us / 1e6;
      const us = (v: number): number => v / 1000;
      resolve({
        requests: j.requests,
        durationS,
        rps: j.requests / durationS,
        statusCodes: j.status,
        errors: j.errors,
        latencyMs: { p50: us(j.lat.p50), p90: us(j.lat.p90), p99: us(j.lat.p99), p99_9: us(j.lat.p999), max: us(j.lat.max), mean: us(j.lat.mean) },
        cpuSeconds,
      });
    });
  });
}

/** The scripts shipped beside this module's source (loadtest/wrk/). */
export function wrkScript(root: string, name: 'score.lua' | 'rows.lua'): string {
  return join(root, 'loadtest', 'wrk', name);
}
