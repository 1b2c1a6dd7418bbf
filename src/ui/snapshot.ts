/**
 * GET /v1/status: what the status page draws, read from the gateway's own metrics and model
 * manager when asked (about once a second per open page), never kept up on the request path.
 * Counters and histogram buckets are cumulative since start: the page turns them into rates and
 * percentiles from the difference between two polls.
 */
import type { Metrics } from '../core/metrics.js';

export interface StatusSource {
  metrics: Metrics;
  /** GET /v1/models' object. */
  models(): unknown;
  notReadyReason(): string | null;
  /** KAFKA_BROKERS is set: lag and spool are shown. */
  kafka: boolean;
}

interface Sample {
  labels: Partial<Record<string, string | number>>;
  value: number;
  metricName?: string;
}

/** How many lifecycle events the page lists (GET /v1/models has them all). */
const HISTORY_SHOWN = 10;

async function samples(metric: { get(): Promise<{ values: Sample[] }> }): Promise<Sample[]> {
  return (await metric.get()).values;
}

/** Sums values by one label: {LOW: 10, HIGH: 2}. */
function byLabel(values: Sample[], label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const k = String(v.labels[label] ?? '');
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

function total(values: Sample[]): number {
  let n = 0;
  for (const v of values) n += v.value;
  return n;
}

interface RouteLatency {
  /** Cumulative counts per bound of `le`, then +Inf. */
  counts: number[];
  sum: number;
}

/** Request latency histograms summed over status, per route, on the shared bounds. */
function latency(values: Sample[]): { le: number[]; routes: Record<string, RouteLatency> } {
  const bounds = new Set<number>();
  const byRoute = new Map<string, { buckets: Map<number, number>; sum: number }>();
  for (const v of values) {
    const name = String(v.labels['route'] ?? '');
    let r = byRoute.get(name);
    if (r === undefined) byRoute.set(name, (r = { buckets: new Map(), sum: 0 }));
    if (v.metricName?.endsWith('_sum') === true) r.sum += v.value;
    else if (v.metricName?.endsWith('_bucket') === true) {
      const le = v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']);
      if (le !== Infinity) bounds.add(le);
      r.buckets.set(le, (r.buckets.get(le) ?? 0) + v.value);
    }
  }
  const le = [...bounds].sort((a, b) => a - b);
  const routes: Record<string, RouteLatency> = {};
  for (const [name, r] of byRoute) routes[name] = { counts: [...le, Infinity].map((b) => r.buckets.get(b) ?? 0), sum: r.sum };
  return { le, routes };
}

export async function statusSnapshot(view: StatusSource): Promise<unknown> {
  const m = view.metrics;
  const [requests, transactions, risk, checks, inFlight, queue, limit, shed, fallbacks, replays, ws, sinkErrors] = await Promise.all([
    samples(m.requestSeconds),
    samples(m.transactions),
    samples(m.risk),
    samples(m.qualityChecks),
    samples(m.inFlight),
    samples(m.inferenceQueue),
    samples(m.admissionLimit),
    samples(m.shed),
    samples(m.fallbacks),
    samples(m.replays),
    samples(m.wsConnections),
    samples(m.sinkErrors),
  ]);
  const quality: Record<string, { pass: number; fail: number }> = {};
  for (const v of checks) {
    const c = (quality[String(v.labels['check'])] ??= { pass: 0, fail: 0 });
    if (v.labels['result'] === 'pass') c.pass += v.value;
    else c.fail += v.value;
  }
  let kafka: unknown = null;
  if (view.kafka) {
    const [lag, spool, produced, sendErrors] = await Promise.all([samples(m.kafkaLag), samples(m.spoolRecords), samples(m.kafkaProduced), samples(m.kafkaSendErrors)]);
    kafka = {
      lag: total(lag),
      partitions: lag.map((v) => ({ topic: String(v.labels['topic']), partition: Number(v.labels['partition']), lag: v.value })),
      spoolRecords: total(spool),
      produced: total(produced),
      sendErrors: total(sendErrors),
    };
  }
  const models = view.models() as { history?: unknown } | null;
  const history = models !== null && Array.isArray(models.history) ? models.history.slice(-HISTORY_SHOWN) : [];
  const mem = process.memoryUsage();
  return {
    at: Date.now(),
    uptimeS: Math.round(process.uptime()),
    ready: view.notReadyReason(),
    transactions: byLabel(transactions, 'outcome'),
    sources: byLabel(transactions, 'source'),
    risk: byLabel(risk, 'category'),
    scores: m.scores.bins(),
    quality,
    latency: latency(requests),
    inFlight: total(inFlight),
    queue: total(queue),
    admissionLimit: total(limit),
    shed: total(shed),
    fallbacks: byLabel(fallbacks, 'reason'),
    replays: total(replays),
    wsConnections: total(ws),
    sinkErrors: total(sinkErrors),
    model: { ...(models ?? {}), history },
    kafka,
    memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
  };
}
