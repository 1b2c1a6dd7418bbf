/**
 * Whole-gateway load test, side by side on this machine in one run:
 *   (a) echo     bare uWebSockets.js: JSON.parse + echo (the transport ceiling)
 *   (b) scoregate dist/src/main.js
 *   (c) fastify  Fastify + onnxruntime-node on the main thread, same model and features, no batching
 *   (d) mlflow   `mlflow models serve` (features precomputed: inference + HTTP only)
 *   (e) MLServer with its MLflow runtime, (f) MLServer with a small ONNX runtime of its own,
 *   (g) Triton through PyTriton (onnxruntime in its Python function, dynamic batching): serving
 *       peers over the Open Inference Protocol, sent precomputed feature rows
 *   (s) the hot-swap run: scoregate under steady load while MLflow promotes a version and an
 *       operator rolls it back
 *
 * Each target is a child process on a free loopback port; once ready it gets a short warm-up,
 * (1) a fixed-rate open-loop run for latency, (2) a saturation run with autocannon for
 * throughput, and for (a)/(b) a WebSocket run (one connection, a window of messages in flight).
 * Every target also gets a saturation run with `wrk` (C; loadtest/wrk.ts), the generator cheap
 * enough that the echo is measured rather than the generator; the peers get only wrk runs.
 * Children are stopped at the end and on any error or signal.
 *
 *   npm install --prefix loadtest && npx tsc -p tsconfig.json
 *   node dist/loadtest/run.js [--quick] [--targets a,b,c,d] [--out DIR] [--rate 5000]
 *
 * Writes DIR/latest.md, DIR/latest.json, DIR/latency.png (default loadtest/results, with
 * --quick loadtest/results/quick). Targets inherit the environment (INFERENCE_WORKERS etc. for
 * scoregate, ORT_INTRA_OP_THREADS for the Fastify rival); LOADTEST_NODE_ARGS adds node flags
 * to the Node targets. See loadtest/README.md.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { goal, goalTable, overloadNotes, overloadTable, sampleRss, summarise, P99_FACTOR, RSS_FACTOR, type OverloadGoal, type OverloadRun } from './overload.js';
import { paced, type PacedResult } from './paced.js';
import { SWAP_SECRET, swapRegistry, swapRun, type SwapOut } from './swap.js';
import { percentiles, type Pcts } from './stats.js';
import { Feed, Traffic } from './traffic.js';
import { wsLoad, type WsResult } from './wsload.js';
import { runWrk, wrkPath, wrkScript, writeRowsData, writeScoreData, type WrkResult } from './wrk.js';

// ---------------------------------------------------------------- options

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}
for (const a of argv) {
  if (a.startsWith('--') && !['--quick', '--targets', '--out', '--rate', '--connections', '--seconds', '--overload-connections', '--fixed-repeats', '--wrk-threads', '--ws-window', '--help'].includes(a)) {
    console.error(`unknown flag ${a}`);
    process.exit(2);
  }
}
if (argv.includes('--help')) {
  console.log('node dist/loadtest/run.js [--quick] [--targets a,b,c,d,e,f,g,s] [--out DIR] [--rate REQ_PER_S] [--connections N] [--seconds S] [--overload-connections N] [--fixed-repeats N] [--wrk-threads N] [--ws-window N]');
  process.exit(0);
}
const QUICK = argv.includes('--quick');
/**
 * --quick leaves out the serving peers (10–15 s each to start) and the hot-swap run (an MLflow
 * server: a minute) unless asked for with --targets.
 */
const TARGET_KEYS = (flag('--targets') ?? (QUICK ? 'a,b,c,d' : 'a,b,c,d,e,f,g,s')).split(',').map((s) => s.trim()).filter(Boolean);
const OUT = resolve(flag('--out') ?? join(ROOT, 'loadtest', 'results', QUICK ? 'quick' : ''));
const RATE = Number(flag('--rate') ?? 5000);
const SECONDS = Number(flag('--seconds') ?? (QUICK ? 2 : 10));
const SAT_CONNECTIONS = Number(flag('--connections') ?? 50);
/**
 * Keep-alive connections of the overload runs: enough that the generator need not wait for a
 * free one — at 10× a 2-core saturation (~150k req/s) 1000 connections allow answers up to
 * ~6 ms; 400 were too few on a machine shared with other work (answers slowed by CPU starvation
 * held every connection and requests went unsent).
 */
const OVERLOAD_CONNECTIONS = Number(flag('--overload-connections') ?? 1000);
/** Multiples of the measured saturation offered in the overload runs, and the unloaded baseline's rate just before them. */
const OVERLOAD_MULTIPLES = [3, 10] as const;
const UNLOADED_RATE = 500;
/** Overload runs are bounded: SECONDS each (1 s with --quick), with a pause between them for the gateway to drain. */
const OVERLOAD_SECONDS = QUICK ? 1 : SECONDS;
const SETTLE_MS = QUICK ? 300 : 2000;
const FIXED_CONNECTIONS = 64;
/** scoregate's fixed-rate run is repeated; the goals take the median (5 in a full run). */
const FIXED_REPEATS = Number(flag('--fixed-repeats') ?? (QUICK ? 1 : 5));
/**
 * Messages in flight on the one WebSocket. The admission limit sheds messages whose latency
 * would pass ADMISSION_TARGET_MS (5 ms): 64 in flight at ~30k msg/s is ~2 ms of queue, inside
 * it; 256 would be ~8 ms, and the limit would answer part of them OVERLOADED.
 */
const WS_WINDOW = Number(flag('--ws-window') ?? 64);
/** wrk threads: one, so the generator takes at most one of the two cores. */
const WRK_THREADS = Number(flag('--wrk-threads') ?? 1);
const WRK_SECONDS = QUICK ? 2 : SECONDS;
/** One-connection runs (latency without queueing), wrk -c1. */
const ONE_CONN_SECONDS = QUICK ? 1 : 5;
/** The hot-swap run: steady open-loop rate and length. */
const SWAP_RATE = 1500;
const SWAP_SECONDS = QUICK ? 6 : 30;
/** Templates of the synthetic traffic written for wrk's Lua script, and feature-row bodies. */
const WRK_TEMPLATES = 60_000;
const WRK_ROWS = 4000;
const WARMUP_S = QUICK ? 0.5 : 2;
const BAD_SHARE = 0.02;
const USERS = QUICK ? 8000 : 30000;
const SEED = 20261127;
if (!(RATE > 0) || !(SECONDS > 0) || !(SAT_CONNECTIONS > 0) || !(OVERLOAD_CONNECTIONS > 0)) throw new Error('--rate, --seconds, --connections and --overload-connections must be positive');
if (!(FIXED_REPEATS >= 1) || !(WRK_THREADS >= 1) || !(WS_WINDOW >= 1)) throw new Error('--fixed-repeats, --wrk-threads and --ws-window must be ≥ 1');
for (const k of TARGET_KEYS) if (!'abcdefgs'.includes(k) || k.length !== 1) throw new Error(`unknown target ${k}: use a, b, c, d, e, f, g, s`);

const log = (msg: string): void => {
  process.stderr.write(`[loadtest ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

// ---------------------------------------------------------------- targets

type Key = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 's';
/** What a target is sent: scoring transactions, MLflow dataframe_split rows, OIP rows (one FP32 [1, 26] input, or one input per column). */
type BodyKind = 'score' | 'mlflow' | 'oip' | 'oip-columns';

interface TargetDef {
  key: Key;
  short: string;
  name: string;
  path: string;
  readyPath: string;
  ws: boolean;
  metrics: boolean;
  mlflow: boolean;
  /** Gets the overload runs (3× and 10× its saturation) after the others. */
  overload: boolean;
  body: BodyKind;
  /** A serving peer: only the wrk runs (saturation and one connection), no Node-generator runs. */
  peer: boolean;
  /** How it is configured for 2 cores (workers, threads, batching), stated in the results. */
  config: string;
  /** Work it skips that scoregate does, or null. */
  lessWork: string | null;
  startTimeoutMs: number;
  /** Why it cannot run here, or null. */
  missing: () => string | null;
  command: (port: number, tmp: string, extra: [number, number]) => { cmd: string; args: string[]; env: NodeJS.ProcessEnv };
}

const VENV_BIN = join(ROOT, '.cache', 'venv', 'bin');
/** Extra node flags for the Node targets (a, b, c), e.g. LOADTEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env['LOADTEST_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const CACHE = process.env['SCOREGATE_CACHE'] ?? join(os.homedir(), '.cache', 'scoregate');
const MLSERVER_VENV = join(CACHE, 'venv-mlserver-1.7.1');
const PYTRITON_VENV = join(CACHE, 'venv-pytriton-0.7.0');
/** Best found for 2 cores with the generator on one of them (see loadtest/README.md); override to try others. */
const MLSERVER_WORKERS = Number(process.env['MLSERVER_WORKERS'] ?? 1);
const PYTRITON_INSTANCES = Number(process.env['PYTRITON_INSTANCES'] ?? 1);
const MODEL_DIR = resolve(ROOT, process.env['MODEL_DIR'] ?? 'models/fraud-detector');
const PEER_LESS_WORK = 'precomputed feature rows over the Open Inference Protocol: no parsing of transactions, checks, feature windows, idempotency or sink';
/** What the serving peers (e, f, g) share: the Open Inference Protocol route, no WebSocket, metrics, MLflow or overload run. */
const OIP_PEER = {
  path: '/v2/models/fraud-detector/infer',
  readyPath: '/v2/models/fraud-detector/ready',
  ws: false,
  metrics: false,
  mlflow: false,
  overload: false,
  peer: true,
  lessWork: PEER_LESS_WORK,
  startTimeoutMs: 180_000,
} as const;

/** A peer's venv (scripts/services/peer-venv.sh): null when installed; a full run installs it when missing, a failed install is the reason it is skipped. */
function peerVenv(peer: 'mlserver' | 'pytriton', venv: string): string | null {
  if (existsSync(join(venv, '.installed'))) return null;
  if (QUICK) return `not installed (bash scripts/services/peer-venv.sh ${peer})`;
  try {
    log(`installing ${peer} (scripts/services/peer-venv.sh ${peer}), a few minutes`);
    execFileSync('bash', [join(ROOT, 'scripts/services/peer-venv.sh'), peer], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 1_200_000 });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return `install failed: ${(e.stderr?.toString() ?? e.message).trim().split('\n').slice(-2).join(' ')}`;
  }
}

/** MLServer's settings.json and one model's model-settings.json in a fresh folder; returns the folder. */
function mlserverDir(tmp: string, name: string, port: number, extra: [number, number], model: object): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'fraud-detector'), { recursive: true });
  const settings = { debug: false, host: '127.0.0.1', http_port: port, grpc_port: extra[0], metrics_port: extra[1], parallel_workers: MLSERVER_WORKERS };
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
  writeFileSync(join(dir, 'fraud-detector', 'model-settings.json'), JSON.stringify({ name: 'fraud-detector', ...model }));
  return dir;
}

const TARGETS: Record<Exclude<Key, 's'>, TargetDef> = {
  a: {
    key: 'a',
    short: 'uWS echo',
    name: 'bare uWebSockets.js JSON echo (transport ceiling)',
    path: '/v1/score',
    readyPath: '/readyz',
    ws: true,
    metrics: false,
    mlflow: false,
    overload: false,
    body: 'score',
    peer: false,
    config: 'one thread: JSON.parse + JSON.stringify per request',
    lessWork: 'no checks, features or inference: the transport alone',
    startTimeoutMs: 15_000,
    missing: () => (existsSync(join(ROOT, 'dist/loadtest/servers/echo.js')) ? null : 'dist/loadtest/servers/echo.js missing: run npx tsc -p tsconfig.json'),
    command: (port) => ({ cmd: process.execPath, args: [...NODE_ARGS, join(ROOT, 'dist/loadtest/servers/echo.js')], env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' } }),
  },
  b: {
    key: 'b',
    short: 'scoregate',
    name: 'scoregate (dist/src/main.js, default settings)',
    path: '/v1/score',
    readyPath: '/readyz',
    ws: true,
    metrics: true,
    mlflow: false,
    overload: true,
    body: 'score',
    peer: false,
    config: 'default settings: INFERENCE_WORKERS 0 on 2 cores (inference on the event loop), ORT 1 intra-op thread, micro-batching',
    lessWork: null,
    startTimeoutMs: 30_000,
    missing: () => (existsSync(join(ROOT, 'dist/src/main.js')) ? null : 'dist/src/main.js missing: run npx tsc -p tsconfig.json'),
    command: (port, tmp) => ({
      cmd: process.execPath,
      args: [...NODE_ARGS, join(ROOT, 'dist/src/main.js')],
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: join(tmp, 'data'),
        SPOOL_DIR: join(tmp, 'spool'),
        MODEL_CACHE_DIR: join(tmp, 'models'),
        KAFKA_BROKERS: '',
        MLFLOW_TRACKING_URI: '',
      },
    }),
  },
  c: {
    key: 'c',
    short: 'Fastify+ORT',
    name: 'Fastify + onnxruntime-node on the main thread (same features, session.run per request)',
    path: '/v1/score',
    readyPath: '/readyz',
    ws: false,
    metrics: false,
    mlflow: false,
    overload: false,
    body: 'score',
    peer: false,
    config: 'one thread, ORT default session options',
    lessWork: 'no idempotency, sink or admission',
    startTimeoutMs: 30_000,
    missing: () => (existsSync(join(ROOT, 'loadtest/node_modules/fastify')) ? null : 'fastify not installed: run npm install --prefix loadtest'),
    command: (port) => ({ cmd: process.execPath, args: [...NODE_ARGS, join(ROOT, 'loadtest/servers/fastify-onnx.mjs')], env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' } }),
  },
  d: {
    key: 'd',
    short: 'MLflow serve',
    name: 'mlflow models serve --env-manager local (precomputed features: inference + HTTP only)',
    path: '/invocations',
    readyPath: '/ping',
    ws: false,
    metrics: false,
    mlflow: true,
    overload: false,
    body: 'mlflow',
    peer: false,
    config: 'mlflow models serve defaults (uvicorn, 1 worker)',
    lessWork: 'precomputed feature rows: no parsing, checks, feature windows, idempotency or sink',
    startTimeoutMs: 120_000,
    missing: () => (existsSync(join(VENV_BIN, 'mlflow')) ? null : '.cache/venv has no mlflow: run bash models/build.sh'),
    command: (port) => ({
      cmd: join(VENV_BIN, 'mlflow'),
      args: ['models', 'serve', '-m', resolve(ROOT, process.env['MODEL_DIR'] ?? 'models/fraud-detector'), '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(port)],
      // mlflow execs `uvicorn` by name: the venv's bin must be on PATH.
      env: { ...process.env, PATH: `${VENV_BIN}:${process.env['PATH'] ?? ''}`, VIRTUAL_ENV: dirname(VENV_BIN) },
    }),
  },
  e: {
    key: 'e',
    short: 'MLServer+mlflow',
    name: 'Seldon MLServer 1.7.1, mlserver-mlflow runtime (OIP, one input per column, pandas)',
    ...OIP_PEER,
    body: 'oip-columns',
    config: `parallel_workers ${MLSERVER_WORKERS} (MLSERVER_WORKERS), adaptive batching off (it returns wrong scores with this runtime)`,
    missing: () => peerVenv('mlserver', MLSERVER_VENV),
    command: (port, tmp, extra) => ({
      cmd: join(MLSERVER_VENV, 'bin', 'mlserver'),
      args: ['start', mlserverDir(tmp, 'mlserver-mlflow', port, extra, { implementation: 'mlserver_mlflow.MLflowRuntime', parameters: { uri: MODEL_DIR } })],
      env: { ...process.env, PATH: `${join(MLSERVER_VENV, 'bin')}:${process.env['PATH'] ?? ''}`, VIRTUAL_ENV: MLSERVER_VENV },
    }),
  },
  f: {
    key: 'f',
    short: 'MLServer+ONNX',
    name: 'Seldon MLServer 1.7.1, a small ONNX runtime (loadtest/servers/mlserver_onnx.py, onnxruntime)',
    ...OIP_PEER,
    body: 'oip',
    config: `parallel_workers ${MLSERVER_WORKERS} (MLSERVER_WORKERS), ORT 1 intra-op thread per worker`,
    missing: () => peerVenv('mlserver', MLSERVER_VENV),
    command: (port, tmp, extra) => ({
      cmd: join(MLSERVER_VENV, 'bin', 'mlserver'),
      args: ['start', mlserverDir(tmp, 'mlserver-onnx', port, extra, { implementation: 'mlserver_onnx.OnnxRuntime', parameters: { uri: join(MODEL_DIR, 'model.onnx') } })],
      env: { ...process.env, PATH: `${join(MLSERVER_VENV, 'bin')}:${process.env['PATH'] ?? ''}`, VIRTUAL_ENV: MLSERVER_VENV, PYTHONPATH: join(ROOT, 'loadtest', 'servers') },
    }),
  },
  g: {
    key: 'g',
    short: 'PyTriton',
    name: 'NVIDIA Triton 2.51 via PyTriton 0.7.0 (onnxruntime in its Python function, dynamic batching)',
    ...OIP_PEER,
    body: 'oip',
    config: `${PYTRITON_INSTANCES} instance(s) (PYTRITON_INSTANCES), dynamic batching max 64 rows, 100 µs queue delay, ORT 1 intra-op thread`,
    missing: () => peerVenv('pytriton', PYTRITON_VENV),
    command: (port, _tmp, extra) => {
      const py = join(PYTRITON_VENV, 'bin', 'python');
      // Triton's Python stub links the interpreter's libpython: pyenv's lib folder must be on the path.
      let libdir = '';
      try {
        libdir = execFileSync(py, ['-c', 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))'], { encoding: 'utf8' }).trim();
      } catch {
        /* the start fails and says why */
      }
      return {
        cmd: py,
        args: [join(ROOT, 'loadtest', 'servers', 'pytriton_onnx.py'), join(MODEL_DIR, 'model.onnx')],
        env: {
          ...process.env,
          PORT: String(port),
          GRPC_PORT: String(extra[0]),
          METRICS_PORT: String(extra[1]),
          PEER_INSTANCES: String(PYTRITON_INSTANCES),
          LD_LIBRARY_PATH: [libdir, process.env['LD_LIBRARY_PATH'] ?? ''].filter(Boolean).join(':'),
        },
      };
    },
  },
};

// ---------------------------------------------------------------- children

interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  logFile: string;
  exited: boolean;
  exitCode: number | null;
}
const children = new Set<Child>();

function killGroup(c: Child, signal: NodeJS.Signals): void {
  try {
    process.kill(-c.pid, signal); // the child leads its own process group (detached)
  } catch {
    /* already gone */
  }
}
process.on('exit', () => {
  for (const c of children) if (!c.exited) killGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping children`);
    for (const c of children) killGroup(c, 'SIGKILL');
    process.exit(130);
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function startChild(t: TargetDef, tmp: string): Promise<Child> {
  const port = await freePort();
  const { cmd, args, env } = t.command(port, tmp, [await freePort(), await freePort()]);
  const logFile = join(tmp, `${t.key}.log`);
  const fd = openSync(logFile, 'a');
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${t.short}: could not start ${cmd}`);
  const c: Child = { proc, pid: proc.pid, port, logFile, exited: false, exitCode: null };
  children.add(c);
  proc.on('exit', (code) => {
    c.exited = true;
    c.exitCode = code;
  });
  const deadline = Date.now() + t.startTimeoutMs;
  for (;;) {
    if (c.exited) throw new Error(`${t.short} exited with ${c.exitCode} before it was ready:\n${tail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`${t.short} not ready after ${t.startTimeoutMs} ms:\n${tail(logFile)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}${t.readyPath}`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return c;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
}

async function stopChild(c: Child): Promise<void> {
  if (!c.exited) {
    killGroup(c, 'SIGTERM');
    const deadline = Date.now() + 8000;
    while (!c.exited && Date.now() < deadline) await sleep(50);
  }
  // The group may hold grandchildren (mlflow's uvicorn) even when the leader is gone.
  killGroup(c, 'SIGKILL');
  children.delete(c);
}

/** CPU seconds used so far by every process in the group `pgid` (utime + stime, /proc). */
function groupCpuSeconds(pgid: number): number {
  const hz = 100;
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
      if (Number(f[2]) !== pgid) continue;
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* process went away */
    }
  }
  return ticks / hz;
}

/**
 * Machine-wide CPU seconds so far (/proc/stat, all cores): `tasks` is user + nice + system + irq
 * (time charged to processes), `softirq` is kernel work not charged to any process (loopback
 * TCP, mostly), `steal` is time the hypervisor gave this VM's vCPUs to someone else.
 */
interface MachineCpu {
  tasks: number;
  softirq: number;
  steal: number;
}
function machineCpu(): MachineCpu {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { tasks: (f[0]! + f[1]! + f[2]! + f[5]!) / 100, softirq: f[6]! / 100, steal: f[7]! / 100 };
  } catch {
    return { tasks: Number.NaN, softirq: Number.NaN, steal: Number.NaN };
  }
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// ---------------------------------------------------------------- stats

function timeline(lat: Float64Array, issuedAt: Float64Array): FixedOut['timeline'] {
  const secs = new Map<number, number[]>();
  for (let i = 0; i < lat.length; i++) {
    const s = Math.floor(issuedAt[i]! / 1000);
    let a = secs.get(s);
    if (a === undefined) secs.set(s, (a = []));
    a.push(lat[i]!);
  }
  return [...secs.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([second, a]) => {
      const p = percentiles(Float64Array.from(a));
      return { second, n: a.length, p99: Math.round(p.p99 * 1000) / 1000, max: Math.round(p.max * 1000) / 1000 };
    });
}

/** scoregate's /metrics, the histograms we need: cumulative bucket counts by `le`, summed over labels matching `match`. */
interface Hist {
  le: number[];
  counts: number[];
  sum: number;
  count: number;
}
function parseHist(text: string, name: string, match: (labels: string) => boolean): Hist {
  const by = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const metric = m[1]!;
    const labels = m[2] ?? '';
    const value = m[3]!;
    if (!match(labels)) continue;
    const v = Number(value);
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)?.[1] ?? '+Inf';
      const key = le === '+Inf' ? Infinity : Number(le);
      by.set(key, (by.get(key) ?? 0) + v);
    } else if (metric === `${name}_sum`) sum += v;
    else if (metric === `${name}_count`) count += v;
  }
  const le = [...by.keys()].sort((x, y) => x - y);
  return { le, counts: le.map((k) => by.get(k)!), sum, count };
}
function histDelta(a: Hist, b: Hist): Hist {
  return { le: b.le, counts: b.counts.map((c, i) => c - (a.counts[i] ?? 0)), sum: b.sum - a.sum, count: b.count - a.count };
}
/** Prometheus histogram_quantile: linear interpolation inside the bucket. */
function histQuantile(h: Hist, q: number): number {
  const total = h.counts[h.counts.length - 1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  for (let i = 0; i < h.le.length; i++) {
    if (h.counts[i]! >= rank) {
      const hi = h.le[i]!;
      const lo = i === 0 ? 0 : h.le[i - 1]!;
      const below = i === 0 ? 0 : h.counts[i - 1]!;
      if (!Number.isFinite(hi)) return lo;
      const inBucket = h.counts[i]! - below;
      return lo + (hi - lo) * (inBucket === 0 ? 1 : (rank - below) / inBucket);
    }
  }
  return Number.NaN;
}

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

interface ServerSide {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  inferenceBatches: number;
  meanBatchRows: number;
  meanBatchMs: number;
}
function serverSide(before: string, after: string): ServerSide {
  const req = histDelta(
    parseHist(before, 'scoregate_request_duration_seconds', (l) => l.includes('route="score"')),
    parseHist(after, 'scoregate_request_duration_seconds', (l) => l.includes('route="score"')),
  );
  const rows = histDelta(parseHist(before, 'scoregate_inference_batch_rows', () => true), parseHist(after, 'scoregate_inference_batch_rows', () => true));
  const bt = histDelta(
    parseHist(before, 'scoregate_inference_batch_duration_seconds', () => true),
    parseHist(after, 'scoregate_inference_batch_duration_seconds', () => true),
  );
  return {
    requests: req.count,
    p50Ms: histQuantile(req, 0.5) * 1000,
    p99Ms: histQuantile(req, 0.99) * 1000,
    meanMs: req.count > 0 ? (req.sum / req.count) * 1000 : Number.NaN,
    inferenceBatches: rows.count,
    meanBatchRows: rows.count > 0 ? rows.sum / rows.count : Number.NaN,
    meanBatchMs: bt.count > 0 ? (bt.sum / bt.count) * 1000 : Number.NaN,
  };
}

// ---------------------------------------------------------------- runs

interface Cpu {
  serverPct: number;
  clientPct: number;
  /** Other processes on the machine during the run (other people's builds and tests). */
  otherPct: number;
  /** Kernel softirq work (loopback networking), charged to no process. */
  softirqPct: number;
  /** CPU the hypervisor took away from this VM (other VMs on the host). */
  stealPct: number;
}

interface FixedOut {
  offeredRps: number;
  achievedRps: number;
  sent: number;
  completed: number;
  unsent: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  errorKinds: PacedResult['errorKinds'];
  latencyMs: Pcts;
  /** Per second of the run: requests completed, p99 and max latency (ms), to see stalls. */
  timeline: { second: number; n: number; p99: number; max: number }[];
  /** Percentiles of the `tookMs` the server put in its 2xx answers, when it does. */
  tookMs: Pcts | null;
  cpu: Cpu;
  server: ServerSide | null;
}
interface SatOut {
  /** Every answer per second, 503s included (autocannon's average). */
  rps: number;
  /** Answers that are not 503 per second: 2xx and the 4xx of the bad requests — what the target served. */
  servedRps: number;
  okRps: number;
  /** 503 answers per second (scoregate sheds with OVERLOADED). */
  shedRps: number;
  requests: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number; p99_9: number; max: number };
  cpu: Cpu;
  server: ServerSide | null;
}
interface WsOut {
  msgPerS: number;
  /** Result answers per second: error answers (OVERLOADED, the bad requests) not counted. */
  resultsPerS: number;
  completed: number;
  errorAnswers: number;
  errorCodes: Record<string, number>;
  lost: number;
  closed: string | null;
  latencyMs: Pcts;
  tookMs: Pcts | null;
  cpu: Cpu;
  server: ServerSide | null;
}
interface TargetOut {
  key: Key;
  short: string;
  name: string;
  startupS?: number;
  error?: string;
  skipped?: string;
  badShareSent?: number;
  fixed?: FixedOut;
  saturation?: SatOut;
  ws?: WsOut;
  overload?: OverloadOut;
  /** The fixed-rate run repeated (scoregate): each run's latency; the goals take the medians. */
  fixedRepeats?: { achievedRps: number; p50: number; p99: number; p99_9: number; serverP99: number }[];
  /** wrk saturation on the target's own route and body. */
  wrk?: WrkOut;
  /** scoregate only: wrk saturation on its Open Inference Protocol route with the peers' bodies. */
  wrkOip?: WrkOut;
  /** wrk -c1: one connection, latency without queueing. */
  oneConn?: WrkOut;
  oneConnOip?: WrkOut;
  wrkSkipped?: string;
  config?: string;
  lessWork?: string | null;
}
interface WrkOut {
  route: string;
  connections: number;
  threads: number;
  seconds: number;
  rps: number;
  /** Answers that are not 503 per second. */
  servedRps: number;
  okRps: number;
  shedRps: number;
  statusCodes: Record<string, number>;
  errors: number;
  latencyMs: WrkResult['latencyMs'];
  /** wrk's CPU over the run (100 = one core). */
  generatorPct: number;
  /** The generator was the bottleneck: wrk used ≥ 90% of its threads' cores. */
  generatorBound: boolean;
  cpu: Cpu;
  server: ServerSide | null;
}
interface OverloadOut {
  /** The saturation S the multiples apply to (served answers per second of the saturation run). */
  saturationRps: number;
  loadavgBefore: string;
  loadavgAfter: string;
  runs: OverloadRun[];
  goal: OverloadGoal | null;
}

async function measured<T>(c: Child, metrics: boolean, fn: () => Promise<T>): Promise<{ value: T; cpu: Cpu; server: ServerSide | null; before: string; after: string }> {
  const before = metrics ? await scrape(c.port) : '';
  const s0 = groupCpuSeconds(c.pid);
  const c0 = selfCpuSeconds();
  const m0 = machineCpu();
  const t0 = performance.now();
  const value = await fn();
  const wall = (performance.now() - t0) / 1000;
  const serverPct = ((groupCpuSeconds(c.pid) - s0) / wall) * 100;
  const clientPct = ((selfCpuSeconds() - c0) / wall) * 100;
  const m1 = machineCpu();
  const otherPct = Math.max(0, ((m1.tasks - m0.tasks) / wall) * 100 - serverPct - clientPct);
  const cpu = { serverPct, clientPct, otherPct, softirqPct: ((m1.softirq - m0.softirq) / wall) * 100, stealPct: ((m1.steal - m0.steal) / wall) * 100 };
  const after = metrics && !c.exited ? await scrape(c.port).catch(() => '') : '';
  const server = metrics && after !== '' ? serverSide(before, after) : null;
  return { value, cpu, server, before, after };
}

function cannon(c: Child, t: TargetDef, feed: Feed, connections: number, seconds: number): Promise<autocannon.Result> {
  const body = (): string => feed.next();
  return autocannon({
    url: `http://127.0.0.1:${c.port}`,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: t.path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: body() }),
      },
    ],
  });
}

function statusCounts(r: autocannon.Result): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) out[code] = (v as { count?: number }).count ?? 0;
  return out;
}

function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

/** The target is alive: its process has not exited and /healthz answers 200 within 2 s. */
async function alive(c: Child): Promise<boolean> {
  if (c.exited) return false;
  try {
    const r = await fetch(`http://127.0.0.1:${c.port}/healthz`, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * The overload phase (see overload.ts): an unloaded baseline at UNLOADED_RATE, then each
 * multiple of `saturation` offered open-loop over OVERLOAD_CONNECTIONS connections. Stops early
 * when the target died (the run that killed it says so).
 */
async function overloadRuns(c: Child, t: TargetDef, feed: Feed, saturation: number): Promise<OverloadOut> {
  const loadavgBefore = loadavg();
  const runs: OverloadRun[] = [];
  const plan: { label: string; multiple: number | null; rate: number }[] = [
    { label: `unloaded ${UNLOADED_RATE} req/s`, multiple: null, rate: UNLOADED_RATE },
    ...OVERLOAD_MULTIPLES.map((k) => ({ label: `${k}×S`, multiple: k, rate: Math.round(k * saturation) })),
  ];
  for (const step of plan) {
    await sleep(SETTLE_MS);
    log(`(${t.key}) ${t.short}: overload: ${step.label}, ${step.rate} req/s offered over ${OVERLOAD_CONNECTIONS} connections for ${OVERLOAD_SECONDS} s (loadavg ${loadavg()})`);
    const rss = sampleRss(c.pid);
    const m = await measured(c, t.metrics, () =>
      paced({
        host: '127.0.0.1',
        port: c.port,
        path: t.path,
        rate: step.rate,
        durationMs: OVERLOAD_SECONDS * 1000,
        connections: OVERLOAD_CONNECTIONS,
        body: () => feed.next(),
        mark: '"fallback":true',
      }),
    );
    const r = rss.stop();
    const crashed = !(await alive(c));
    const run = summarise(step.label, step.multiple, step.rate, OVERLOAD_CONNECTIONS, OVERLOAD_SECONDS, m.value, m.cpu, r, crashed, m.before, m.after);
    runs.push(run);
    log(
      `(${t.key}) ${t.short}: overload: ${step.label}: sent ${Math.round(run.sentRps)}/s${run.generatorLimited !== null ? ` (generator-limited: ${run.generatorLimited})` : ''}, ` +
        `200 ${Math.round(run.admitted.perS)}/s p99 ${run.admitted.latencyMs.p99.toFixed(2)} ms, 503 ${Math.round(run.shed.perS)}/s p99 ${run.shed.latencyMs.p99.toFixed(2)} ms, ` +
        `peak RSS ${run.rss.peakMiB.toFixed(0)} MiB, limit ${run.admissionLimitEnd}${crashed ? ', CRASHED' : ''}`,
    );
    if (crashed) break;
  }
  return { saturationRps: saturation, loadavgBefore, loadavgAfter: loadavg(), runs, goal: goal(runs) };
}

const WRK = wrkPath();
const OIP_PATH = '/v2/models/fraud-detector/infer';
/** Lua data files for wrk, written once per run (main). */
const wrkData: Record<BodyKind, string> = { score: '', mlflow: '', oip: '', 'oip-columns': '' };
let wrkRuns = 0;

function writeWrkData(traffic: Traffic, tmp: string): void {
  const rows = Math.min(WRK_ROWS, traffic.rowCount);
  const r = (f: (i: number) => string): string[] => Array.from({ length: rows }, (_, i) => f(i));
  wrkData.score = join(tmp, 'wrk-score.lua');
  const n = writeScoreData(traffic, wrkData.score, WRK_TEMPLATES);
  for (const [kind, bodies] of [
    ['mlflow', r((i) => traffic.mlflowBody(i))],
    ['oip', r((i) => traffic.oipBody(i))],
    ['oip-columns', r((i) => traffic.oipColumnsBody(i))],
  ] as const) {
    wrkData[kind] = join(tmp, `wrk-${kind}.lua`);
    writeRowsData(bodies, wrkData[kind]);
  }
  log(`wrk: ${n} transaction templates and ${rows} feature rows written for its Lua scripts`);
}

/** One wrk run against `c` (CPU accounted: the target's group, wrk's, the rest of the machine). */
async function wrkRun(c: Child, t: TargetDef, body: BodyKind, route: string, connections: number, seconds: number): Promise<WrkOut> {
  const threads = Math.min(WRK_THREADS, connections);
  const m = await measured(c, t.metrics && route === t.path, () =>
    runWrk({
      url: `http://127.0.0.1:${c.port}${route}`,
      script: wrkScript(ROOT, body === 'score' ? 'score.lua' : 'rows.lua'),
      data: wrkData[body],
      connections,
      threads,
      seconds,
      tag: `w${Date.now().toString(36)}${t.key}${wrkRuns++}`,
    }),
  );
  const r = m.value;
  const generatorPct = (r.cpuSeconds / r.durationS) * 100;
  // measured() counts wrk (a child, not this thread) among the other processes: take it out.
  const cpu = { ...m.cpu, otherPct: Math.max(0, m.cpu.otherPct - generatorPct), clientPct: generatorPct };
  const total = Math.max(1, r.requests);
  const n503 = r.statusCodes['503'] ?? 0;
  const n2xx = Object.entries(r.statusCodes).reduce((a, [k, v]) => (k.startsWith('2') ? a + v : a), 0);
  const errors = r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
  const out: WrkOut = {
    route,
    connections,
    threads,
    seconds,
    rps: r.rps,
    servedRps: (r.rps * (total - n503)) / total,
    okRps: (r.rps * n2xx) / total,
    shedRps: (r.rps * n503) / total,
    statusCodes: r.statusCodes,
    errors,
    latencyMs: r.latencyMs,
    generatorPct,
    generatorBound: generatorPct >= 90 * threads,
    cpu,
    server: m.server,
  };
  log(
    `(${t.key}) ${t.short}: wrk ${route} c${connections}: ${Math.round(out.servedRps)} req/s served${codes(r.statusCodes)}, p50 ${ms(r.latencyMs.p50)} ms; ` +
      `CPU wrk ${generatorPct.toFixed(0)}% target ${cpu.serverPct.toFixed(0)}%${out.generatorBound ? ' (GENERATOR-BOUND)' : ''}`,
  );
  return out;
}

async function runTarget(t: TargetDef, traffic: Traffic, tmp: string): Promise<TargetOut> {
  const out: TargetOut = { key: t.key, short: t.short, name: t.name };
  const missing = t.missing();
  if (missing !== null) {
    out.skipped = missing;
    log(`(${t.key}) ${t.short}: skipped: ${missing}`);
    return out;
  }
  out.config = t.config;
  out.lessWork = t.lessWork;
  const feed = new Feed(traffic, `lt${Date.now().toString(36)}${t.key}`, t.mlflow);
  log(`(${t.key}) ${t.short}: starting`);
  const t0 = performance.now();
  let c: Child;
  try {
    c = await startChild(t, tmp);
  } catch (err) {
    // A peer that does not start here is skipped with the reason; it never fails the run.
    if (!t.peer) throw err;
    out.skipped = `did not start: ${err instanceof Error ? err.message : String(err)}`;
    log(`(${t.key}) ${t.short}: skipped: ${out.skipped}`);
    for (const x of children) if (x.port > 0 && !x.exited) killGroup(x, 'SIGKILL');
    return out;
  }
  try {
    if (t.peer) {
      out.startupS = (performance.now() - t0) / 1000;
      if (WRK === null) {
        out.skipped = 'wrk not installed (apt-get install wrk)';
        return out;
      }
      log(`(${t.key}) ${t.short}: ready on port ${c.port} after ${out.startupS.toFixed(1)} s; warm-up ${WARMUP_S} s`);
      await wrkRun(c, t, t.body, t.path, 8, WARMUP_S);
      log(`(${t.key}) ${t.short}: wrk saturation, ${SAT_CONNECTIONS} connections for ${WRK_SECONDS} s`);
      out.wrk = await wrkRun(c, t, t.body, t.path, SAT_CONNECTIONS, WRK_SECONDS);
      out.oneConn = await wrkRun(c, t, t.body, t.path, 1, ONE_CONN_SECONDS);
      return out;
    }
    out.startupS = (performance.now() - t0) / 1000;
    log(`(${t.key}) ${t.short}: ready on port ${c.port} after ${out.startupS.toFixed(1)} s; warm-up ${WARMUP_S} s`);
    await cannon(c, t, feed, 8, WARMUP_S);

    const repeats = t.key === 'b' ? FIXED_REPEATS : 1;
    const badBefore = feed.bad;
    const seqBefore = feed.seq;
    for (let rep = 1; rep <= repeats; rep++) {
    log(`(${t.key}) ${t.short}: fixed rate ${RATE} req/s for ${SECONDS} s${repeats > 1 ? ` (${rep} of ${repeats})` : ''}`);
    if (rep > 1) await sleep(SETTLE_MS);
    const fx = await measured(c, t.metrics, () =>
      paced({ host: '127.0.0.1', port: c.port, path: t.path, rate: RATE, durationMs: SECONDS * 1000, connections: FIXED_CONNECTIONS, body: () => feed.next() }),
    );
    const p: PacedResult = fx.value;
    out.fixed = {
      offeredRps: RATE,
      achievedRps: p.achievedRps,
      sent: p.sent,
      completed: p.completed,
      unsent: p.unsent,
      statusCodes: p.statusCodes,
      non2xx: p.non2xx,
      errors: p.errors,
      errorKinds: p.errorKinds,
      latencyMs: percentiles(p.latencies),
      timeline: timeline(p.latencies, p.issuedAtMs),
      tookMs: p.serverMs.length > 0 ? percentiles(p.serverMs) : null,
      cpu: fx.cpu,
      server: fx.server,
    };
    const l = out.fixed.latencyMs;
    (out.fixedRepeats ??= []).push({ achievedRps: p.achievedRps, p50: l.p50, p99: l.p99, p99_9: l.p99_9, serverP99: fx.server?.p99Ms ?? out.fixed.tookMs?.p99 ?? Number.NaN });
    }
    if (!t.mlflow) out.badShareSent = (feed.bad - badBefore) / Math.max(1, feed.seq - seqBefore);

    log(`(${t.key}) ${t.short}: saturation, ${SAT_CONNECTIONS} connections for ${SECONDS} s`);
    const sat = await measured(c, t.metrics, () => cannon(c, t, feed, SAT_CONNECTIONS, SECONDS));
    const r = sat.value;
    const satCodes = statusCounts(r);
    const answers = Math.max(1, r.requests.total);
    const n2xx = Object.entries(satCodes).reduce((a, [k, v]) => (k.startsWith('2') ? a + v : a), 0);
    const n503 = satCodes['503'] ?? 0;
    out.saturation = {
      rps: r.requests.average,
      servedRps: (r.requests.average * (r.requests.total - n503)) / answers,
      okRps: (r.requests.average * n2xx) / answers,
      shedRps: (r.requests.average * n503) / answers,
      requests: r.requests.total,
      statusCodes: satCodes,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      latencyMs: { p50: r.latency.p50, p99: r.latency.p99, p99_9: r.latency.p99_9, max: r.latency.max },
      cpu: sat.cpu,
      server: sat.server,
    };

    if (WRK === null) out.wrkSkipped = 'wrk not installed (apt-get install wrk)';
    else {
      log(`(${t.key}) ${t.short}: wrk saturation, ${SAT_CONNECTIONS} connections, ${WRK_THREADS} thread(s), ${WRK_SECONDS} s`);
      out.wrk = await wrkRun(c, t, t.body, t.path, SAT_CONNECTIONS, WRK_SECONDS);
      if (t.key === 'b') {
        log(`(${t.key}) ${t.short}: wrk saturation on the Open Inference Protocol route (the peers' bodies)`);
        out.wrkOip = await wrkRun(c, t, 'oip', OIP_PATH, SAT_CONNECTIONS, WRK_SECONDS);
        out.oneConn = await wrkRun(c, t, t.body, t.path, 1, ONE_CONN_SECONDS);
        out.oneConnOip = await wrkRun(c, t, 'oip', OIP_PATH, 1, ONE_CONN_SECONDS);
      }
    }

    if (t.ws) {
      log(`(${t.key}) ${t.short}: WebSocket /v1/stream, window ${WS_WINDOW}, ${SECONDS} s`);
      const w = await measured(c, t.metrics, () =>
        wsLoad({ url: `ws://127.0.0.1:${c.port}/v1/stream`, window: WS_WINDOW, durationMs: SECONDS * 1000, maxMessages: 5_000_000, transaction: () => feed.next(true) }),
      );
      const v: WsResult = w.value;
      out.ws = {
        msgPerS: v.msgPerS,
        resultsPerS: v.resultsPerS,
        completed: v.completed,
        errorAnswers: v.errorAnswers,
        errorCodes: v.errorCodes,
        lost: v.lost,
        closed: v.closed,
        latencyMs: percentiles(v.latencies),
        tookMs: v.serverMs.length > 0 ? percentiles(v.serverMs) : null,
        cpu: w.cpu,
        server: w.server,
      };
    }

    if (t.overload) out.overload = await overloadRuns(c, t, feed, out.saturation.servedRps);
  } finally {
    await stopChild(c);
    if (c.exitCode !== null && c.exitCode !== 0 && c.exitCode !== 143 && !t.mlflow) log(`(${t.key}) ${t.short}: exited with ${c.exitCode}:\n${tail(c.logFile, 5)}`);
  }
  log(`(${t.key}) ${t.short}: done`);
  return out;
}

// ---------------------------------------------------------------- report

function machine(): { cpu: string; cores: number; memoryGiB: number; node: string; os: string } {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    /* not Linux */
  }
  return { cpu, cores: os.availableParallelism(), memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10, node: process.version, os: `${os.type()} ${os.release()}` };
}

function git(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return head + (dirty ? ' (with uncommitted changes)' : '');
  } catch {
    return 'unknown';
  }
}

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const int = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(a / b >= 10 ? 1 : 2)}×`);

function codes(c: Record<string, number>): string {
  const parts = Object.entries(c)
    .filter(([k]) => !k.startsWith('2'))
    .sort()
    .map(([k, v]) => `${k}: ${v}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

function tables(results: TargetOut[]): string {
  const a = results.find((r) => r.key === 'a')?.saturation?.servedRps;
  const d = results.find((r) => r.key === 'd')?.saturation?.servedRps;
  const lines: string[] = [];
  lines.push(
    `| target | saturation req/s | 2xx/s | 503/s | vs (a) | vs (d) | fixed ${RATE} req/s: achieved | p50 ms | p99 ms | p99.9 ms | server p99 ms | non-2xx (fixed / saturation) | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  );
  for (const r of results) {
    const label = `(${r.key}) ${r.short}`;
    // The serving peers get only wrk runs: they are in the wrk table.
    if (r.key !== 's' && TARGETS[r.key].peer) continue;
    if (r.skipped !== undefined || r.error !== undefined) {
      const why = (r.skipped ?? r.error ?? '').split('\n').filter((l) => l.trim() !== '');
      const text = (why.length > 1 ? `${why[0]} … ${why[why.length - 1]}` : (why[0] ?? '')).replace(/\|/g, '\\|').slice(0, 300);
      lines.push(`| ${label} | ${r.skipped !== undefined ? 'skipped' : 'FAILED'}: ${text} |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const f = r.fixed!;
    const s = r.saturation!;
    const saturated = f.achievedRps < 0.95 * RATE ? ` (saturated${f.unsent > 0 ? `; ${int(f.unsent)} never sent` : ''})` : '';
    const pct = (n: number, total: number): string => (total > 0 ? `${((n / total) * 100).toFixed(1)}%` : '–');
    const serverP99 = f.server !== null ? ms(f.server.p99Ms) : f.tookMs !== null ? `${ms(f.tookMs.p99)}*` : '–';
    lines.push(
      `| ${label} | ${int(s.servedRps)} | ${int(s.okRps)} | ${int(s.shedRps)} | ${ratio(s.servedRps, a)} | ${ratio(s.servedRps, d)} | ${int(f.achievedRps)}${saturated} | ${ms(f.latencyMs.p50)} | ${ms(f.latencyMs.p99)} | ${ms(f.latencyMs.p99_9)} | ${serverP99} | ${pct(f.non2xx, f.completed)} / ${pct(s.non2xx, s.requests)}${codes(s.statusCodes)} | ${f.errors + s.errors} |`,
    );
  }
  const ws = results.filter((r) => r.ws !== undefined);
  if (ws.length > 0) {
    lines.push('', `WebSocket /v1/stream: one connection, ${WS_WINDOW} messages in flight, ${SECONDS} s`, '');
    lines.push('| target | answers/s | results/s | round trip p50 ms | p99 ms | p99.9 ms | server p99 ms | error answers |', '|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of ws) {
      const w = r.ws!;
      lines.push(
        `| (${r.key}) ${r.short} | ${int(w.msgPerS)} | ${int(w.resultsPerS)} | ${ms(w.latencyMs.p50)} | ${ms(w.latencyMs.p99)} | ${ms(w.latencyMs.p99_9)} | ${w.tookMs !== null ? `${ms(w.tookMs.p99)}*` : '–'} | ${w.errorAnswers}${codes(w.errorCodes)}${w.lost > 0 ? `, ${w.lost} unanswered` : ''}${w.closed !== null ? `, closed ${w.closed}` : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The hot-swap run (loadtest/swap.ts): a throwaway MLflow, scoregate following it, steady load, two swaps. */
async function swapPhase(traffic: Traffic, tmp: string): Promise<SwapOut | { skipped: string } | { error: string }> {
  const b = TARGETS.b;
  const missing = b.missing();
  if (missing !== null) return { skipped: missing };
  log(`(s) hot swap: starting a throwaway MLflow and registering the model twice`);
  let reg;
  try {
    reg = await swapRegistry(ROOT, join(tmp, 'swap-mlflow'), MODEL_DIR);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`(s) hot swap: skipped: MLflow could not be set up: ${why}`);
    return { skipped: `MLflow could not be set up: ${why.split('\n').slice(-3).join(' ')}` };
  }
  const t: TargetDef = {
    ...b,
    command: (port, dir, extra) => {
      const c = b.command(port, dir, extra);
      return { ...c, env: { ...c.env, MLFLOW_TRACKING_URI: reg.uri, MLFLOW_WEBHOOK_SECRET: SWAP_SECRET, DATA_DIR: join(dir, 'swap-data'), SPOOL_DIR: join(dir, 'swap-spool'), MODEL_CACHE_DIR: join(dir, 'swap-models') } };
    },
  };
  try {
    const c = await startChild(t, tmp);
    try {
      const feed = new Feed(traffic, `sw${Date.now().toString(36)}`);
      await cannon(c, t, feed, 8, WARMUP_S);
      log(`(s) hot swap: ${SWAP_RATE} req/s for ${SWAP_SECONDS} s; promotion to version 2 at 1/3, back to 1 at 2/3`);
      const out = await swapRun(c.port, SWAP_RATE, SWAP_SECONDS, () => feed.next());
      log(`(s) hot swap: worst swap second p99 ${ms(out.worstSwapSecond?.p99Ms)} ms vs steady p99 ${ms(out.steadyP99Ms)} ms (${out.ratio.toFixed(2)}×), ${out.failed} failed, ${out.fallbacks} fallbacks`);
      return out;
    } finally {
      await stopChild(c);
    }
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log(`(s) hot swap: FAILED: ${why}`);
    return { error: why };
  } finally {
    await reg.stop();
  }
}

function swapSection(swap: SwapOut | { skipped: string } | { error: string } | null): string[] {
  if (swap === null) return [];
  const head = `## Hot swap: scoregate at ${SWAP_RATE} req/s open-loop while its model is swapped`;
  if ('skipped' in swap) return [head, '', `Skipped: ${swap.skipped}`, ''];
  if ('error' in swap) return [head, '', `FAILED: ${swap.error.replace(/\n/g, ' ')}`, ''];
  const other = Object.entries(swap.statusCodes).filter(([k]) => !k.startsWith('2')).map(([k, v]) => `${k}: ${v}`).join(', ');
  return [
    head,
    '',
    `A throwaway MLflow server (scripts/services/mlflow-start.sh) holds the shipped model as versions 1 and 2; scoregate serves the champion alias (version 1). ` +
      `Under ${SWAP_RATE} req/s for ${swap.seconds} s (loadtest/paced.ts, 64 connections), at a third of the run a signed MLflow webhook (POST /hooks/mlflow, champion alias created on version 2) promotes version 2 ` +
      '(download through the artifact proxy, validation, a new worker pool warmed, the switch, the old pool drained); at two thirds a second hook promotes version 1 again. ' +
      "A swap's window runs from the call until GET /v1/models names the new version, plus 1 s; a second is a swap second when a request issued in it fell in a window.",
    '',
    '| swap | call answered | serving after |',
    '|---|---:|---:|',
    ...swap.swaps.map((w) => `| ${w.what} | ${w.status} | ${int(w.servingMs - w.startMs)} ms |`),
    '',
    `Sent ${int(swap.sent)}, answered ${int(swap.completed)}${other !== '' ? ` (non-2xx: ${other}; the 400s are the traffic's designed bad requests)` : ''}; **failed ${swap.failed}** (5xx, connection errors, unanswered, never sent); fallback answers ${swap.fallbacks}${swap.generatorLimited ? '; **generator-limited**: less than 95% of the rate was sent' : ''}.`,
    '',
    `Steady p99 (requests outside the swap windows) ${ms(swap.steadyP99Ms)} ms; worst swap second ${swap.worstSwapSecond === null ? '–' : `(second ${swap.worstSwapSecond.second}, ${swap.worstSwapSecond.n} requests) p99 ${ms(swap.worstSwapSecond.p99Ms)} ms`}: **${swap.ratio.toFixed(2)}×** the steady p99 (goal ≤ 1.5×).`,
    '',
    `Second by second (p99 ms, * = swap second): ${swap.timeline.map((x) => `${ms(x.p99)}${x.swap ? '*' : ''}`).join(' · ')}`,
    '',
  ];
}

function wrkTable(results: TargetOut[]): string {
  const echo = results.find((r) => r.key === 'a')?.wrk?.servedRps;
  const lines = [
    `wrk ${WRK ?? '(not installed)'}, ${WRK_THREADS} thread(s), ${SAT_CONNECTIONS} connections, ${WRK_SECONDS} s, Lua scripts in loadtest/wrk/ (score.lua: unique transactionIds, the synthetic traffic pre-generated; rows.lua: pre-rendered feature rows). ` +
      'Served req/s counts answers that are not 503. CPU: 100% = one core; the generator is **bound** when wrk used ≥ 90% of its threads\' cores (the target was then offered less than it could take). One connection: wrk -c1, p50 / p99.',
    '',
    '| target | route | served req/s | 2xx/s | 503/s | non-2xx | errors | vs (a) echo | client p50 / p99 ms | wrk CPU % | target CPU % | other % | generator | one connection p50 / p99 ms |',
    '|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---|---|',
  ];
  for (const r of results) {
    const label = `(${r.key}) ${r.short}`;
    if (r.wrk === undefined) {
      if (r.skipped !== undefined || r.error !== undefined || r.wrkSkipped !== undefined) lines.push(`| ${label} | ${(r.skipped ?? r.error ?? r.wrkSkipped ?? '').split('\n')[0]!.replace(/\|/g, '\\|').slice(0, 200)} |  |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    const rows: [WrkOut, WrkOut | undefined][] = [[r.wrk, r.oneConn]];
    if (r.wrkOip !== undefined) rows.push([r.wrkOip, r.oneConnOip]);
    for (const [w, one] of rows) {
      const non2xx = Object.entries(w.statusCodes).filter(([k]) => !k.startsWith('2')).map(([k, v]) => `${k}: ${v}`).join(', ');
      lines.push(
        `| ${label} | ${w.route} | ${int(w.servedRps)} | ${int(w.okRps)} | ${int(w.shedRps)} | ${non2xx} | ${w.errors} | ${ratio(w.servedRps, echo)} | ${ms(w.latencyMs.p50)} / ${ms(w.latencyMs.p99)} | ${w.generatorPct.toFixed(0)} | ${w.cpu.serverPct.toFixed(0)} | ${(w.cpu.otherPct + w.cpu.stealPct).toFixed(0)} | ${w.generatorBound ? '**bound**' : 'ok'} | ${one === undefined ? '–' : `${ms(one.latencyMs.p50)} / ${ms(one.latencyMs.p99)}`} |`,
      );
    }
  }
  return lines.join('\n');
}

function peerTable(results: TargetOut[]): string {
  const lines = ['| target | configuration for 2 cores | does less work than scoregate |', '|---|---|---|'];
  for (const r of results) lines.push(`| (${r.key}) ${r.short}${r.skipped !== undefined ? ' (skipped)' : ''} | ${r.config ?? ''} | ${r.lessWork ?? 'no: the whole path (checks, windows, idempotency, inference, durable sink)'} |`);
  return lines.join('\n');
}

function median(v: number[]): number {
  const a = v.filter(Number.isFinite).sort((x, y) => x - y);
  if (a.length === 0) return Number.NaN;
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

function fixedRepeatLines(results: TargetOut[]): string[] {
  const b = results.find((r) => r.key === 'b')?.fixedRepeats;
  if (b === undefined || b.length < 2) return [];
  return [
    `scoregate's fixed-rate run, ${b.length} times (the table shows the last): client p50 / p99 / p99.9 ms, server p99 ms, achieved req/s`,
    '',
    ...b.map((x, i) => `- run ${i + 1}: ${ms(x.p50)} / ${ms(x.p99)} / ${ms(x.p99_9)}, server ${ms(x.serverP99)}, ${int(x.achievedRps)}`),
    `- median: ${ms(median(b.map((x) => x.p50)))} / ${ms(median(b.map((x) => x.p99)))} / ${ms(median(b.map((x) => x.p99_9)))}, server ${ms(median(b.map((x) => x.serverP99)))}`,
    '',
  ];
}

interface GoalRow {
  goal: string;
  measured: string;
  met: boolean | null;
}

function goalRows(results: TargetOut[], swap: SwapOut | { skipped: string } | { error: string } | null): GoalRow[] {
  const a = results.find((r) => r.key === 'a');
  const b = results.find((r) => r.key === 'b');
  const rows: GoalRow[] = [];
  const bound = (w: WrkOut | undefined): string => (w?.generatorBound === true ? ' (generator-bound)' : '');
  if (a?.wrk !== undefined && b?.wrk !== undefined) {
    const q = b.wrk.servedRps / a.wrk.servedRps;
    rows.push({ goal: 'saturation ≥ 0.6× the bare uWS echo, same generator (wrk)', measured: `${int(b.wrk.servedRps)}${bound(b.wrk)} / ${int(a.wrk.servedRps)}${bound(a.wrk)} req/s = ${q.toFixed(2)}× (wrk CPU ${b.wrk.generatorPct.toFixed(0)}% / ${a.wrk.generatorPct.toFixed(0)}%, target CPU ${b.wrk.cpu.serverPct.toFixed(0)}% / ${a.wrk.cpu.serverPct.toFixed(0)}%)`, met: q >= 0.6 });
  }
  if (a?.saturation !== undefined && b?.saturation !== undefined) {
    const q = b.saturation.servedRps / a.saturation.servedRps;
    rows.push({ goal: '(same, autocannon: the Node generator)', measured: `${int(b.saturation.servedRps)} / ${int(a.saturation.servedRps)} req/s = ${q.toFixed(2)}× (autocannon CPU ${b.saturation.cpu.clientPct.toFixed(0)}% / ${a.saturation.cpu.clientPct.toFixed(0)}%${a.saturation.cpu.clientPct >= 90 ? ': generator-bound on the echo' : ''})`, met: null });
  }
  const f = b?.fixedRepeats;
  if (f !== undefined && f.length > 0) {
    const sp = median(f.map((x) => x.serverP99));
    const cp = median(f.map((x) => x.p99_9));
    rows.push({ goal: `server p99 ≤ 2 ms at ${RATE} req/s (median of ${f.length})`, measured: `${ms(sp)} ms (runs: ${f.map((x) => ms(x.serverP99)).join(', ')})`, met: sp <= 2 });
    rows.push({ goal: `client p99.9 ≤ 10 ms at ${RATE} req/s (median of ${f.length})`, measured: `${ms(cp)} ms (runs: ${f.map((x) => ms(x.p99_9)).join(', ')})`, met: cp <= 10 });
  }
  if (b?.ws !== undefined) {
    const e = a?.ws?.resultsPerS;
    rows.push({ goal: 'WebSocket ≥ 30k scored msg/s on one connection', measured: `${int(b.ws.resultsPerS)} results/s, window ${WS_WINDOW}${e !== undefined ? `; echo ${int(e)} msg/s: ${ratio(b.ws.resultsPerS, e)}` : ''}${b.ws.errorCodes['OVERLOADED'] !== undefined ? `; ${b.ws.errorCodes['OVERLOADED']} OVERLOADED` : ''}`, met: b.ws.resultsPerS >= 30_000 });
  }
  if (swap !== null) {
    if ('skipped' in swap || 'error' in swap) rows.push({ goal: 'hot swap: worst second p99 ≤ 1.5× steady, 0 failed', measured: 'skipped' in swap ? `skipped: ${swap.skipped}` : `failed: ${swap.error.split('\n')[0]}`, met: null });
    else rows.push({ goal: 'hot swap: worst second p99 ≤ 1.5× steady, 0 failed', measured: `${ms(swap.worstSwapSecond?.p99Ms)} / ${ms(swap.steadyP99Ms)} ms = ${swap.ratio.toFixed(2)}×, ${swap.failed} failed of ${int(swap.sent)}`, met: swap.ratio <= 1.5 && swap.failed === 0 });
  }
  const o = b?.overload?.goal;
  if (o !== undefined) rows.push({ goal: 'overload (3×S, 10×S): admitted p99 ≤ 5× unloaded, shed as fast, RSS ≤ 2×, no crash', measured: o === null ? 'no baseline' : `see the overload section (S = ${int(b?.overload?.saturationRps)} req/s)`, met: o === null ? null : o.met });
  const peers = results.filter((r) => TARGETS[r.key as Exclude<Key, 's'>]?.peer === true && r.wrk !== undefined);
  if (b?.wrk !== undefined && peers.length > 0) {
    const best = peers.reduce((x, y) => (y.wrk!.servedRps > x.wrk!.servedRps ? y : x));
    const q = b.wrk.servedRps / best.wrk!.servedRps;
    rows.push({ goal: '≥ 15× the best serving peer\'s saturation (wrk, 50 connections)', measured: `${int(b.wrk.servedRps)} vs (${best.key}) ${best.short} ${int(best.wrk!.servedRps)} req/s = ${q.toFixed(1)}× (the peers do less work)`, met: q >= 15 });
    const fast = peers.filter((r) => r.oneConn !== undefined).reduce<TargetOut | null>((x, y) => (x === null || y.oneConn!.latencyMs.p50 < x.oneConn!.latencyMs.p50 ? y : x), null);
    if (fast !== null && b.oneConn !== undefined) {
      const q1 = b.oneConn.latencyMs.p50 / fast.oneConn!.latencyMs.p50;
      rows.push({ goal: 'one-connection p50 ≤ 0.1× the best peer\'s', measured: `${ms(b.oneConn.latencyMs.p50)} ms vs (${fast.key}) ${fast.short} ${ms(fast.oneConn!.latencyMs.p50)} ms = ${q1.toFixed(2)}×`, met: q1 <= 0.1 });
    }
  }
  return rows;
}

function goalTableMd(rows: GoalRow[]): string {
  return ['| goal | measured | |', '|---|---|---|', ...rows.map((r) => `| ${r.goal} | ${r.measured.replace(/\|/g, '\\|')} | ${r.met === null ? '–' : r.met ? 'met' : '**missed**'} |`)].join('\n');
}

function details(results: TargetOut[]): string {
  const lines: string[] = ['| target | run | server CPU % | generator CPU % | softirq % | other processes % | stolen by host % | notes |', '|---|---|---:|---:|---:|---:|---:|---|'];
  for (const r of results) {
    const runs: [string, { cpu: Cpu; server: ServerSide | null } | undefined][] = [
      ['fixed', r.fixed],
      ['saturation', r.saturation],
      ['websocket', r.ws],
      ['wrk saturation', r.wrk],
      ['wrk saturation, OIP route', r.wrkOip],
    ];
    for (const [name, x] of runs) {
      if (x === undefined) continue;
      const sv = x.server;
      const parts: string[] = [];
      // The Node generator is one thread: at 90% of a core it, not the target, set the pace.
      if (name !== 'fixed' && x.cpu.clientPct >= 90 * (name.startsWith('wrk') ? WRK_THREADS : 1)) parts.push('**generator-bound**');
      if (name === 'saturation' && r.saturation !== undefined) parts.push(`client p50 ${ms(r.saturation.latencyMs.p50)} / p99 ${ms(r.saturation.latencyMs.p99)} ms at ${SAT_CONNECTIONS} connections`);
      if (sv !== null && name !== 'websocket') parts.push(`server histogram p50 ${ms(sv.p50Ms)} / p99 ${ms(sv.p99Ms)} / mean ${ms(sv.meanMs)} ms`);
      const took = name === 'fixed' ? r.fixed?.tookMs : name === 'websocket' ? r.ws?.tookMs : null;
      if (took !== null && took !== undefined) parts.push(`server tookMs p50 ${ms(took.p50)} / p99 ${ms(took.p99)} ms`);
      if (sv !== null) parts.push(`${int(sv.inferenceBatches)} inference runs of ${sv.meanBatchRows.toFixed(1)} rows, ${ms(sv.meanBatchMs)} ms each (dispatch → scores back)`);
      const note = parts.join('; ');
      lines.push(`| (${r.key}) ${r.short} | ${name} | ${x.cpu.serverPct.toFixed(0)} | ${x.cpu.clientPct.toFixed(0)} | ${x.cpu.softirqPct.toFixed(0)} | ${x.cpu.otherPct.toFixed(0)} | ${x.cpu.stealPct.toFixed(0)} | ${note} |`);
    }
  }
  return lines.join('\n');
}

function overloadSection(r: TargetOut): string[] {
  const o = r.overload!;
  const g = o.goal;
  return [
    `## Overload: (${r.key}) ${r.short} offered ${OVERLOAD_MULTIPLES.map((k) => `${k}×`).join(' and ')} its saturation`,
    '',
    `S = ${int(o.saturationRps)} req/s (the saturation run's answers that are not 503). Just before, an unloaded run at ${UNLOADED_RATE} req/s; then each multiple of S offered open-loop (loadtest/paced.ts) for ${OVERLOAD_SECONDS} s over ${OVERLOAD_CONNECTIONS} keep-alive connections, ${SETTLE_MS / 1000} s apart. ` +
      'Latency counts from when the generator issued the request; 200s and 503s are split by the status of each answer; fallbacks are 200 bodies with `"fallback":true` (and `scoregate_fallback_total` by reason); ' +
      'peak RSS is the target process\'s VmRSS sampled every 100 ms; "crashed" means the process exited or /healthz did not answer after the run; the admission limit is `scoregate_admission_limit` right after the run. ' +
      'A run is **generator-limited** when the generator (one Node thread on the same 2 cores) sent less than 95% of the offered rate or used 90% of its core or more: the target was then offered less than the label says.',
    '',
    `Load average (/proc/loadavg) ${o.loadavgBefore} before the overload runs, ${o.loadavgAfter} after.`,
    '',
    overloadTable(o.runs),
    '',
    overloadNotes(o.runs),
    '',
    ...(g === null
      ? ['No unloaded baseline: the goal could not be checked.']
      : [
          `Goal: admitted p99 ≤ ${P99_FACTOR}× the unloaded p99 (${ms(g.unloadedP99Ms)} ms, so ≤ ${ms(g.p99BoundMs)} ms), shed answers at least as fast, RSS bounded (≤ ${RSS_FACTOR}× the unloaded run's peak), no crash: **${g.met ? 'met' : 'missed'}**.`,
          '',
          goalTable(g),
        ]),
    '',
  ];
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const started = Date.now();
  const loadavgStart = loadavg();
  const command = `node ${relative(ROOT, process.argv[1] ?? 'dist/loadtest/run.js')}${argv.length > 0 ? ' ' + argv.join(' ') : ''}`;
  mkdirSync(OUT, { recursive: true });
  const tmp = mkdtempSync(join(os.tmpdir(), 'scoregate-loadtest-'));
  const b0 = machineCpu();
  await sleep(1000);
  const b1 = machineCpu();
  const backgroundPct = (b1.tasks - b0.tasks + b1.steal - b0.steal) * 100;
  if (backgroundPct > 25) log(`warning: the machine is already busy (${backgroundPct.toFixed(0)}% CPU used by other processes or stolen by the host): results will be noisy`);
  log(`traffic: generating ${USERS} users over 2 days (compressed into the last 23.5 h), ${BAD_SHARE * 100}% bad`);
  const traffic = new Traffic({ users: USERS, seed: SEED, badShare: BAD_SHARE });
  log(`traffic: ${traffic.size} transactions (${traffic.badCount} bad), ${traffic.rowCount} precomputed feature rows for MLflow`);

  if (WRK !== null) writeWrkData(traffic, tmp);
  else log('wrk not installed: the wrk runs are skipped (apt-get install wrk)');

  const results: TargetOut[] = [];
  let swap: SwapOut | { skipped: string } | { error: string } | null = null;
  for (const key of TARGET_KEYS as Key[]) {
    if (key === 's') {
      swap = await swapPhase(traffic, tmp);
      continue;
    }
    const t = TARGETS[key];
    try {
      results.push(await runTarget(t, traffic, tmp));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      log(`(${key}) ${t.short}: FAILED: ${msg}`);
      results.push({ key, short: t.short, name: t.name, error: msg });
    }
  }

  const m = machine();
  const date = new Date().toISOString();
  const settings = {
    quick: QUICK,
    rate: RATE,
    seconds: SECONDS,
    warmupSeconds: WARMUP_S,
    fixedConnections: FIXED_CONNECTIONS,
    saturationConnections: SAT_CONNECTIONS,
    pipelining: 1,
    wsWindow: WS_WINDOW,
    fixedRepeats: FIXED_REPEATS,
    wrk: { threads: WRK_THREADS, seconds: WRK_SECONDS, connections: SAT_CONNECTIONS, oneConnectionSeconds: ONE_CONN_SECONDS, templates: WRK_TEMPLATES, rows: WRK_ROWS, binary: WRK },
    swap: { rate: SWAP_RATE, seconds: SWAP_SECONDS },
    peers: { mlserverWorkers: MLSERVER_WORKERS, pytritonInstances: PYTRITON_INSTANCES },
    overload: { multiples: OVERLOAD_MULTIPLES, unloadedRate: UNLOADED_RATE, seconds: OVERLOAD_SECONDS, connections: OVERLOAD_CONNECTIONS, settleMs: SETTLE_MS, p99Factor: P99_FACTOR, rssFactor: RSS_FACTOR },
    traffic: { users: USERS, days: 2, seed: SEED, transactions: traffic.size, bad: traffic.badCount, badShare: BAD_SHARE, mlflowRows: traffic.rowCount },
  };
  const maxOther = Math.max(
    0,
    ...results.flatMap((r) => [r.fixed, r.saturation, r.ws, r.wrk, r.wrkOip, ...(r.overload?.runs ?? [])].map((x) => (x === undefined ? 0 : x.cpu.otherPct + x.cpu.stealPct))),
  );
  const loadavgEnd = loadavg();
  const goals = goalRows(results, swap);
  const json = { date, command, git: git(), machine: m, loadavg: { start: loadavgStart, end: loadavgEnd }, backgroundCpuPct: backgroundPct, maxOtherCpuPct: maxOther, settings, targets: results, swap, goals, wallSeconds: (Date.now() - started) / 1000 };
  const table = tables(results);
  const md = [
    '# scoregate load test',
    '',
    `- date: ${date}`,
    `- command: \`${command}\` (git ${json.git})`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB memory, ${m.os}, Node ${m.node}`,
    `- everything on this machine over loopback: the load generator (this process, one thread) shares the ${m.cores} cores with the target`,
    `- CPU not ours (other processes + stolen by the hypervisor): ${backgroundPct.toFixed(0)}% just before the run, at most ${maxOther.toFixed(0)}% during a run (of ${m.cores * 100}%)${maxOther > 25 ? ' — **the machine was shared: numbers are noisy** (see the CPU table)' : ''}`,
    `- load average (/proc/loadavg, 1/5/15 min): ${loadavgStart} at the start, ${loadavgEnd} at the end${Number(loadavgStart.split(' ')[0]) > m.cores / 2 || Number(loadavgEnd.split(' ')[0]) > m.cores ? ' — other work was running on this machine' : ''}`,
    `- traffic: synthetic generator, ${USERS} users, 2 days of event time compressed into the last 23.5 h and replayed onto the wall clock; ${traffic.size} transactions cycled with fresh transactionIds (a wrap-around moves to new user ids); ${(BAD_SHARE * 100).toFixed(0)}% bad requests (invalid JSON, missing or bad fields: 400 by design, counted as non-2xx)`,
    `- (d) MLflow gets the same transactions' features precomputed by the gateway's FeatureEngine, as dataframe_split rows (valid rows only): it is measured on inference + HTTP only, without parsing, quality checks or feature windows`,
    `- fixed rate: ${RATE} req/s offered open-loop for ${SECONDS} s over ${FIXED_CONNECTIONS} keep-alive connections (loadtest/paced.ts); latency counts from when the generator issued a request (waiting in its queue when all connections are busy), so a target that falls behind shows it: "saturated" when it completed < 95% of the offered rate, "never sent" for requests still queued at the end`,
    `- errors: connection errors, timeouts, and requests unanswered 2 s after a run's end`,
    `- saturation: autocannon, ${SAT_CONNECTIONS} connections, pipelining 1, ${SECONDS} s, after a ${WARMUP_S} s warm-up at 8 connections; "saturation req/s" counts the answers that are not 503 (2xx, and the 400s of the bad requests): a 503 (scoregate's OVERLOADED, shed before the body is read) is counted apart, not as throughput; the ratios use the same count`,
    `- server p99: scoregate's own \`scoregate_request_duration_seconds\` (route score) histogram delta over the run, interpolated within its buckets (1, 1.5, 2, 3, 5, 7.5 ms …); values marked * are percentiles of the \`tookMs\` each answer carries (scoregate: request received → answer written; the Fastify rival: onRequest hook → handler returns, i.e. without writing the answer)`,
    '',
    '## Goals (issue 11)',
    '',
    goalTableMd(goals),
    '',
    '## Saturation with wrk (one generator for every target)',
    '',
    wrkTable(results),
    '',
    '## Peers: what each target was given and how it was configured',
    '',
    peerTable(results),
    '',
    ...swapSection(swap),
    '## Node generator runs (paced fixed rate, autocannon saturation, WebSocket)',
    '',
    table,
    '',
    ...fixedRepeatLines(results),
    'CPU (of 100% per core; the load generator runs beside the target on the same cores) and scoregate internals:',
    '',
    details(results),
    '',
    'Fixed-rate run, second by second (requests issued in that second: p99 / max latency, ms) — a stall shows as one bad second:',
    '',
    ...results
      .filter((r) => r.fixed !== undefined)
      .map((r) => `- (${r.key}) ${r.short}: ${r.fixed!.timeline.map((x) => `${ms(x.p99)}/${ms(x.max)}`).join(' · ')}`),
    '',
    ...results.filter((r) => r.overload !== undefined).flatMap((r) => overloadSection(r)),
  ].join('\n');

  const jsonPath = join(OUT, 'latest.json');
  writeFileSync(jsonPath, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(join(OUT, 'latest.md'), md);
  const py = join(VENV_BIN, 'python');
  const png = join(OUT, 'latency.png');
  if (existsSync(py)) {
    try {
      execFileSync(py, [join(ROOT, 'loadtest', 'plot.py'), jsonPath, png], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60_000 });
    } catch (err) {
      log(`plot failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else log('plot skipped: no .cache/venv python (bash models/build.sh makes it, with matplotlib)');

  // README's performance summary is regenerated from the committed results (a full run only).
  if (OUT === join(ROOT, 'loadtest', 'results') && !QUICK) {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'readme-performance.mjs')], { stdio: 'inherit' });
    log('README performance summary regenerated (scripts/readme-performance.mjs)');
  }
  console.log(`\n${table}\n`);
  log(`wrote ${relative(ROOT, join(OUT, 'latest.md'))}, ${relative(ROOT, jsonPath)}${existsSync(png) ? `, ${relative(ROOT, png)}` : ''} in ${json.wallSeconds.toFixed(0)} s`);
  rmSync(tmp, { recursive: true, force: true });
  return results.some((r) => r.error !== undefined) || (swap !== null && 'error' in swap) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    for (const c of children) killGroup(c, 'SIGKILL');
    process.exit(1);
  },
);
