/**
 * The overload run (scoregate only): after the saturation run has measured S, an unloaded
 * baseline (a low fixed rate) and then 3×S and 10×S offered open-loop (paced.ts) over a few
 * hundred keep-alive connections, each for a bounded time. Per run: what was offered and what
 * the generator really sent, admitted (200) and shed (503 OVERLOADED) answers per second with
 * their latencies, fallbacks, other answers, the target's peak RSS (VmRSS every 100 ms), whether
 * it died, and its admission limit at the end. Then the goal, checked against the baseline:
 * admitted p99 ≤ 5× unloaded p99, shed answers as fast, RSS bounded, no crash.
 *
 * This file measures and reports; run.ts starts the target and calls it.
 */
import { readFileSync } from 'node:fs';
import type { PacedResult } from './paced.js';
import { percentiles, type Pcts } from './stats.js';

/** The admitted p99 may be this many times the unloaded p99 under overload (the goal). */
export const P99_FACTOR = 5;
/** RSS is "bounded" when an overload run's peak stays within this multiple of the unloaded run's peak. */
export const RSS_FACTOR = 2;
/** A run whose generator sent less than this share of the offered rate did not offer it. */
const SENT_SHARE = 0.95;
/** Generator CPU (% of one core) from which the generator, one thread, is the bottleneck. */
const GENERATOR_BUSY_PCT = 90;

// ---------------------------------------------------------------- RSS

export interface RssOut {
  /** VmRSS when the run started, MiB. */
  startMiB: number;
  peakMiB: number;
  samples: number;
  /** The longest gap between two samples (ms): the generator's busy event loop can delay them. */
  maxGapMs: number;
}

/**
 * VmRSS of `pid` and its descendants: `node dist/src/main.js` is a supervisor whose child, started
 * with the heap limit, is the gateway (src/main.ts).
 */
function vmRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m === null) return Number.NaN;
    let kib = Number(m[1]);
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ')) {
      if (child.trim() === '') continue;
      const c = vmRssKiB(Number(child));
      if (Number.isFinite(c)) kib += c;
    }
    return kib;
  } catch {
    return Number.NaN; // gone
  }
}

/** Samples `pid`'s VmRSS every `everyMs` until stop() is called. */
export function sampleRss(pid: number, everyMs = 100): { stop: () => RssOut } {
  const first = vmRssKiB(pid);
  let peak = Number.isFinite(first) ? first : 0;
  let samples = Number.isFinite(first) ? 1 : 0;
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
    const kib = vmRssKiB(pid);
    if (!Number.isFinite(kib)) return;
    samples++;
    if (kib > peak) peak = kib;
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      const kib = vmRssKiB(pid);
      if (Number.isFinite(kib)) {
        samples++;
        if (kib > peak) peak = kib;
      }
      return { startMiB: first / 1024, peakMiB: peak / 1024, samples, maxGapMs: maxGap };
    },
  };
}

// ---------------------------------------------------------------- Prometheus text

/** Sum of the samples of `name` (a counter or gauge, not a histogram), by the value of label `by` (all under `''` without one). */
export function metricValues(text: string, name: string, by = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const key = by === '' ? '' : (new RegExp(`${by}="([^"]*)"`).exec(m[2] ?? '')?.[1] ?? '');
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

function deltas(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------- one run

export interface CpuShare {
  serverPct: number;
  clientPct: number;
  otherPct: number;
  softirqPct: number;
  stealPct: number;
}

export interface OverloadRun {
  label: string;
  /** Multiple of S offered (null for the unloaded baseline). */
  multiple: number | null;
  offeredRps: number;
  connections: number;
  seconds: number;
  scheduled: number;
  sent: number;
  sentRps: number;
  /** Requests due that never went out (every connection busy until the run ended). */
  unsent: number;
  /** Requests that waited in the generator's queue for a free connection. */
  waited: number;
  maxTickGapMs: number;
  /** Why the generator did not offer the rate (null when it did). */
  generatorLimited: string | null;
  admitted: { n: number; perS: number; latencyMs: Pcts };
  shed: { n: number; perS: number; latencyMs: Pcts };
  /** 4xx answers (the ~2% bad requests, by design). */
  bad: number;
  /** Answers that are neither 200, 4xx nor 503 OVERLOADED, by status and code. */
  other: Record<string, number>;
  errorCodes: Record<string, number>;
  errors: number;
  errorKinds: PacedResult['errorKinds'];
  fallbacks: { inBodies: number; byReason: Record<string, number> };
  /** scoregate_shed_total{transport="http"} over the run (should match `shed.n`). */
  shedMetric: number;
  rss: RssOut;
  crashed: boolean;
  /** scoregate_admission_limit after the run (NaN when it could not be read). */
  admissionLimitEnd: number;
  cpu: CpuShare;
}

export function summarise(
  label: string,
  multiple: number | null,
  offered: number,
  connections: number,
  seconds: number,
  p: PacedResult,
  cpu: CpuShare,
  rss: RssOut,
  crashed: boolean,
  metricsBefore: string,
  metricsAfter: string,
): OverloadRun {
  const ok: number[] = [];
  const shed: number[] = [];
  let bad = 0;
  for (let i = 0; i < p.statuses.length; i++) {
    const s = p.statuses[i]!;
    if (s === 200) ok.push(p.latencies[i]!);
    else if (s === 503) shed.push(p.latencies[i]!);
    else if (s >= 400 && s < 500) bad++;
  }
  const overloaded = p.errorCodes['OVERLOADED'] ?? 0;
  const n503 = p.statusCodes['503'] ?? 0;
  const other: Record<string, number> = {};
  for (const [code, n] of Object.entries(p.statusCodes)) {
    const c = Number(code);
    if (c !== 200 && c !== 503 && !(c >= 400 && c < 500)) other[code] = n;
  }
  // A 503 that is not OVERLOADED (NOT_READY, SINK_FULL) is not a shed answer: said apart.
  if (n503 > overloaded) other['503 other'] = n503 - overloaded;
  const sentRps = p.sent / seconds;
  const reasons: string[] = [];
  if (sentRps < SENT_SHARE * offered) {
    // Requests go unsent only when every connection was waiting for an answer until the end:
    // answers came back slower than connections × rate allows (a starved target or generator).
    reasons.push(`sent ${Math.round((sentRps / offered) * 100)}% of the offered rate${p.unsent > 0 ? `, all ${connections} connections busy` : ''}`);
  }
  if (cpu.clientPct >= GENERATOR_BUSY_PCT) reasons.push(`generator at ${cpu.clientPct.toFixed(0)}% of its one core`);
  const limit = metricValues(metricsAfter, 'scoregate_admission_limit')[''];
  return {
    label,
    multiple,
    offeredRps: offered,
    connections,
    seconds,
    scheduled: p.scheduled,
    sent: p.sent,
    sentRps,
    unsent: p.unsent,
    waited: p.waited,
    maxTickGapMs: p.maxTickGapMs,
    generatorLimited: reasons.length === 0 ? null : reasons.join(', '),
    admitted: { n: ok.length, perS: ok.length / seconds, latencyMs: percentiles(Float64Array.from(ok)) },
    shed: { n: shed.length, perS: shed.length / seconds, latencyMs: percentiles(Float64Array.from(shed)) },
    bad,
    other,
    errorCodes: p.errorCodes,
    errors: p.errors,
    errorKinds: p.errorKinds,
    fallbacks: {
      inBodies: p.marked,
      byReason: metricsAfter === '' ? {} : deltas(metricValues(metricsBefore, 'scoregate_fallback_total', 'reason'), metricValues(metricsAfter, 'scoregate_fallback_total', 'reason')),
    },
    shedMetric: metricsAfter === '' ? Number.NaN : total(deltas(metricValues(metricsBefore, 'scoregate_shed_total', 'transport'), metricValues(metricsAfter, 'scoregate_shed_total', 'transport'))),
    rss,
    crashed,
    admissionLimitEnd: limit ?? Number.NaN,
    cpu,
  };
}

// ---------------------------------------------------------------- goal

export interface OverloadGoal {
  unloadedP99Ms: number;
  p99BoundMs: number;
  rssBoundMiB: number;
  checks: { run: string; what: string; measured: string; met: boolean }[];
  met: boolean;
}

const f2 = (v: number): string => (!Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function goal(runs: OverloadRun[]): OverloadGoal | null {
  const base = runs.find((r) => r.multiple === null);
  if (base === undefined) return null;
  const unloaded = base.admitted.latencyMs.p99;
  const bound = P99_FACTOR * unloaded;
  const rssBound = RSS_FACTOR * base.rss.peakMiB;
  const checks: OverloadGoal['checks'] = [];
  for (const r of runs) {
    if (r.multiple === null) continue;
    const name = `${r.label}${r.generatorLimited !== null ? ' (generator-limited)' : ''}`;
    checks.push({ run: name, what: `admitted p99 ≤ ${P99_FACTOR}× unloaded p99 (${f2(bound)} ms)`, measured: `${f2(r.admitted.latencyMs.p99)} ms (${r.admitted.n} admitted)`, met: r.admitted.n > 0 && r.admitted.latencyMs.p99 <= bound });
    checks.push({ run: name, what: `shed answers fast: 503 p99 ≤ ${f2(bound)} ms`, measured: r.shed.n === 0 ? 'no request shed' : `${f2(r.shed.latencyMs.p99)} ms (${r.shed.n} shed)`, met: r.shed.n === 0 || r.shed.latencyMs.p99 <= bound });
    checks.push({ run: name, what: `RSS bounded: peak ≤ ${RSS_FACTOR}× the unloaded run's peak (${rssBound.toFixed(0)} MiB)`, measured: `${r.rss.peakMiB.toFixed(0)} MiB`, met: r.rss.peakMiB <= rssBound });
    checks.push({ run: name, what: 'no crash (process alive, /healthz answers)', measured: r.crashed ? 'crashed' : 'alive', met: !r.crashed });
  }
  return { unloadedP99Ms: unloaded, p99BoundMs: bound, rssBoundMiB: rssBound, checks, met: checks.every((c) => c.met) };
}

// ---------------------------------------------------------------- report

const int = (v: number): string => (!Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const kv = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort()
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

export function overloadTable(runs: OverloadRun[]): string {
  const lines = [
    '| run | offered req/s | sent/s | 200/s | 200 p50 / p99 / p99.9 ms | 503 OVERLOADED/s | 503 p50 / p99 ms | fallbacks | 4xx (bad by design) | other answers | errors | peak RSS MiB | crashed | admission limit at end | generator / target CPU % |',
    '|---|---:|---:|---:|---|---:|---|---|---:|---|---:|---:|---|---:|---|',
  ];
  for (const r of runs) {
    const gen = r.generatorLimited !== null ? ` **(generator-limited: ${r.generatorLimited})**` : '';
    const fb = `${r.fallbacks.inBodies}${Object.keys(r.fallbacks.byReason).length > 0 ? ` (metric: ${kv(r.fallbacks.byReason)})` : ''}`;
    const errs = `${r.errors}${r.errors > 0 ? ` (${kv(r.errorKinds as unknown as Record<string, number>)})` : ''}`;
    lines.push(
      `| ${r.label} | ${int(r.offeredRps)} | ${int(r.sentRps)}${gen} | ${int(r.admitted.perS)} | ${f2(r.admitted.latencyMs.p50)} / ${f2(r.admitted.latencyMs.p99)} / ${f2(r.admitted.latencyMs.p99_9)} | ${int(r.shed.perS)} | ${f2(r.shed.latencyMs.p50)} / ${f2(r.shed.latencyMs.p99)} | ${fb} | ${r.bad} | ${kv(r.other) || '0'} | ${errs} | ${r.rss.peakMiB.toFixed(0)} | ${r.crashed ? '**yes**' : 'no'} | ${int(r.admissionLimitEnd)} | ${r.cpu.clientPct.toFixed(0)} / ${r.cpu.serverPct.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

export function goalTable(g: OverloadGoal): string {
  const lines = ['| run | goal | measured | |', '|---|---|---|---|'];
  for (const c of g.checks) lines.push(`| ${c.run} | ${c.what} | ${c.measured} | ${c.met ? 'met' : '**missed**'} |`);
  return lines.join('\n');
}

/** Details that do not fit the table: counts, the generator's queue and tick gaps, RSS sampling, other CPU. */
export function overloadNotes(runs: OverloadRun[]): string {
  return runs
    .map(
      (r) =>
        `- ${r.label}: ${int(r.sent)} sent of ${int(r.scheduled)} scheduled (${int(r.unsent)} never sent, ${int(r.waited)} waited for a free connection), longest gap between generator ticks ${f2(r.maxTickGapMs)} ms; ` +
        `${r.admitted.n} admitted, ${r.shed.n} shed (scoregate_shed_total +${int(r.shedMetric)}); non-2xx codes ${kv(r.errorCodes) || 'none'}; ` +
        `RSS ${r.rss.startMiB.toFixed(0)} → peak ${r.rss.peakMiB.toFixed(0)} MiB over ${r.rss.samples} samples (longest gap ${f2(r.rss.maxGapMs)} ms); ` +
        `CPU: target ${r.cpu.serverPct.toFixed(0)}%, generator ${r.cpu.clientPct.toFixed(0)}%, softirq ${r.cpu.softirqPct.toFixed(0)}%, other processes ${r.cpu.otherPct.toFixed(0)}%, stolen ${r.cpu.stealPct.toFixed(0)}%`,
    )
    .join('\n');
}
