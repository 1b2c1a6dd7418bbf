/**
 * Prometheus metrics (prom-client), one registry per gateway so tests can run several.
 * Names are stable: dashboards and alerts page on them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QUALITY_CHECKS } from '../quality/checks.js';

const CHECK_INDEX = Object.fromEntries(QUALITY_CHECKS.map((c, i) => [c, i])) as Record<(typeof QUALITY_CHECKS)[number], number>;
import { FastHistogram } from './fast-histogram.js';
import { ScoreHistogram } from './score-histogram.js';

// Latency buckets from 50 µs to 1 s: the p99 we page on lives around 1–2 ms.
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Values read when /metrics is scraped, not kept up to date on the request path. */
export interface Sampler {
  windowUsers(): number;
  windowBytes(): number;
  lateEvents(): number;
  inferenceQueue(): number;
  spoolBytes?: () => number;
  spoolRecords?: () => number;
  spoolFull?: () => boolean;
  admissionLimit?: () => number;
  rememberedAnswers?: () => number;
  ready?: () => boolean;
  /** With CLUSTER_SHARDS: partitions this instance owns, and those of them being rebuilt. */
  clusterPartitions?: () => { owned: number; rebuilding: number } | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  sampler: Sampler | null = null;
  // Observed once per answer: a typed-array histogram, formatted as prom-client's (core/fast-histogram.ts).
  readonly requestSeconds = new FastHistogram(this.registry, 'scoregate_request_duration_seconds', 'Server-side time from request received to answer written, by route and status class', LATENCY_BUCKETS, ['route', 'status']);
  readonly inFlight = new Gauge({ name: 'scoregate_in_flight', help: 'Transactions being scored right now', registers: [this.registry] });
  readonly transactions = new Counter({
    name: 'scoregate_transactions_total',
    help: 'Transactions by outcome: scored, or the error code that stopped them',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly risk = new Counter({ name: 'scoregate_risk_total', help: 'Scored transactions by risk category', labelNames: ['category'] as const, registers: [this.registry] });
  readonly qualityChecks = new Counter({
    name: 'scoregate_quality_checks_total',
    help: 'Quality checks run, by check and result (pass or fail)',
    labelNames: ['check', 'result'] as const,
    registers: [this.registry],
    collect: () => this.flushChecks(),
  });
  readonly qualityRatio = new Gauge({
    name: 'scoregate_quality_ratio',
    help: 'Seed §7 quality figures: share of checked transactions that passed each check (completeness %, validity score, consistency index, uniqueness ratio)',
    labelNames: ['check'] as const,
    registers: [this.registry],
    collect: () => this.flushChecks(),
  });
  readonly qualityScore = new FastHistogram(this.registry, 'scoregate_quality_score', 'Quality score of scored transactions', [0.5, 0.75, 1]);
  readonly batchRows = new Histogram({
    name: 'scoregate_inference_batch_rows',
    help: 'Rows per inference run (micro-batch size)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'scoregate_inference_batch_duration_seconds',
    help: 'Time from dispatch of a batch to a worker to its scores back on the event loop',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inferenceQueue = new Gauge({ name: 'scoregate_inference_queue_rows', help: 'Rows waiting for an inference worker', registers: [this.registry], collect: () => { if (this.sampler !== null) this.inferenceQueue.set(this.sampler.inferenceQueue()); } });
  readonly modelInfo = new Gauge({ name: 'scoregate_model_info', help: 'The model serving answers (value 1)', labelNames: ['name', 'version'] as const, registers: [this.registry] });
  readonly modelSwaps = new Counter({ name: 'scoregate_model_swaps_total', help: 'Models switched to, by action (activate, rollback)', labelNames: ['action'] as const, registers: [this.registry] });
  readonly modelRejections = new Counter({ name: 'scoregate_model_rejections_total', help: 'Candidate models rejected by validation, by action', labelNames: ['action'] as const, registers: [this.registry] });
  readonly challengerScore = new Histogram({ name: 'scoregate_challenger_score', help: 'Scores the challenger model gave, on the same traffic as the champion', labelNames: ['version'] as const, buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], registers: [this.registry] });
  readonly challengerDiff = new Histogram({ name: 'scoregate_challenger_score_diff', help: 'Absolute difference between challenger and champion scores', labelNames: ['version'] as const, buckets: [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1], registers: [this.registry] });
  readonly challengerDisagree = new Counter({ name: 'scoregate_challenger_risk_disagreements_total', help: 'Transactions where challenger and champion gave different risk categories', labelNames: ['version'] as const, registers: [this.registry] });
  readonly windowUsers = new Gauge({ name: 'scoregate_window_users', help: 'Users with feature windows in memory', registers: [this.registry], collect: () => { if (this.sampler !== null) this.windowUsers.set(this.sampler.windowUsers()); } });
  readonly windowBytes = new Gauge({ name: 'scoregate_window_bytes', help: 'Estimated bytes held by feature windows', registers: [this.registry], collect: () => { if (this.sampler !== null) this.windowBytes.set(this.sampler.windowBytes()); } });
  readonly lateEvents = new Gauge({ name: 'scoregate_window_late_events_total', help: 'Events too late to join the windows (beyond the allowed lateness)', registers: [this.registry], collect: () => { if (this.sampler !== null) this.lateEvents.set(this.sampler.lateEvents()); } });
  readonly sinkWrites = new Counter({ name: 'scoregate_sink_events_total', help: 'Events written to sinks', labelNames: ['sink'] as const, registers: [this.registry] });
  readonly sinkErrors = new Counter({ name: 'scoregate_sink_errors_total', help: 'Events a sink failed to take (logged; alert on any)', registers: [this.registry] });
  readonly kafkaProduced = new Counter({ name: 'scoregate_kafka_produced_total', help: 'Events acknowledged by Kafka (scored and dead letters)', registers: [this.registry] });
  readonly kafkaSendErrors = new Counter({ name: 'scoregate_kafka_send_errors_total', help: 'Failed produce attempts (the batch stays in the spool and is retried)', registers: [this.registry] });
  readonly kafkaConsumed = new Counter({ name: 'scoregate_kafka_consumed_total', help: 'Events read from Kafka into the windows, by topic and outcome', labelNames: ['topic', 'outcome'] as const, registers: [this.registry] });
  readonly kafkaLag = new Gauge({ name: 'scoregate_kafka_consumer_lag', help: 'Messages behind the high watermark, by topic and partition', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  readonly spoolBytes = new Gauge({ name: 'scoregate_spool_pending_bytes', help: 'Bytes in the spool not yet acknowledged by Kafka', registers: [this.registry], collect: () => { if (this.sampler?.spoolBytes) this.spoolBytes.set(this.sampler.spoolBytes()); } });
  readonly spoolRecords = new Gauge({ name: 'scoregate_spool_pending_records', help: 'Events in the spool not yet acknowledged by Kafka', registers: [this.registry], collect: () => { if (this.sampler?.spoolRecords) this.spoolRecords.set(this.sampler.spoolRecords()); } });
  readonly spoolFull = new Gauge({ name: 'scoregate_spool_full', help: '1 when the spool is at SPOOL_MAX_BYTES and scoring is refused', registers: [this.registry], collect: () => { if (this.sampler?.spoolFull) this.spoolFull.set(this.sampler.spoolFull() ? 1 : 0); } });
  readonly spoolCorrupt = new Counter({ name: 'scoregate_spool_corrupt_records_total', help: 'Spool records that could not be opened (tag mismatch: tampered or damaged; unknown key) and were skipped, by code', labelNames: ['code'] as const, registers: [this.registry] });
  readonly spoolMaxBytes = new Gauge({ name: 'scoregate_spool_max_bytes', help: 'SPOOL_MAX_BYTES: the pending bytes at which the spool is full (alerts divide pending bytes by it)', registers: [this.registry] });
  readonly ready = new Gauge({ name: 'scoregate_ready', help: '1 when /readyz answers 200 (model warmed, Kafka caught up, sink accepting), else 0', registers: [this.registry], collect: () => { if (this.sampler?.ready) this.ready.set(this.sampler.ready() ? 1 : 0); } });
  readonly clusterPartitions = new Gauge({ name: 'scoregate_cluster_partitions', help: 'With CLUSTER_SHARDS: transactions partitions this instance owns (state="owned"; its users) and those of them whose windows are being rebuilt (state="rebuilding")', labelNames: ['state'] as const, registers: [this.registry], collect: () => { const p = this.sampler?.clusterPartitions?.(); if (p !== undefined) { this.clusterPartitions.set({ state: 'owned' }, p.owned); this.clusterPartitions.set({ state: 'rebuilding' }, p.rebuilding); } } });
  readonly clusterForwarded = new Counter({ name: 'scoregate_cluster_forwarded_total', help: 'With CLUSTER_SHARDS: requests sent on to their user\'s owner, by outcome (answered, refused: the owner\'s error, unavailable: 503 after the forward\'s wait)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly wsConnections = new Gauge({ name: 'scoregate_ws_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly replays = new Counter({ name: 'scoregate_idempotent_replays_total', help: 'Retries answered with the remembered answer of an earlier request (not scored or counted again), by source', labelNames: ['source'] as const, registers: [this.registry] });
  readonly fallbacks = new Counter({ name: 'scoregate_fallback_total', help: 'Answers given by the fallback rule model instead of the model, by reason (deadline, inference_failed, queue_full, model_unavailable)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly shed = new Counter({ name: 'scoregate_shed_total', help: 'Transactions refused with OVERLOADED by the admission limit before their body was read, by transport', labelNames: ['transport'] as const, registers: [this.registry] });
  readonly admissionLimit = new Gauge({ name: 'scoregate_admission_limit', help: 'The adaptive admission limit: transactions allowed inside at once', registers: [this.registry], collect: () => { if (this.sampler?.admissionLimit) this.admissionLimit.set(this.sampler.admissionLimit()); } });
  readonly idempotencyAnswers = new Gauge({ name: 'scoregate_idempotency_answers', help: 'Answers remembered for idempotent replay', registers: [this.registry], collect: () => { if (this.sampler?.rememberedAnswers) this.idempotencyAnswers.set(this.sampler.rememberedAnswers()); } });
  readonly scores = new ScoreHistogram(this.registry);
  readonly canaryPercent = new Gauge({ name: 'scoregate_canary_percent', help: 'Share of users (by a stable hash of userId) answered by the challenger instead of the champion; 0 when no canary runs', registers: [this.registry] });
  readonly answersByModel = new Counter({ name: 'scoregate_answers_by_model_total', help: 'Answers given, by the model that gave them (name, version) and how it was chosen (by: champion, canary, fallback)', labelNames: ['name', 'version', 'by'] as const, registers: [this.registry] });
  readonly wsClosed = new Counter({ name: 'scoregate_ws_closed_total', help: 'WebSocket connections closed by the server, by reason', labelNames: ['reason'] as const, registers: [this.registry] });

  // Quality checks are counted in plain arrays (four per transaction) and handed to prom-client
  // when the metrics are read (collect): a prom-client inc() and set() per check cost ~2 µs per
  // check on the request path here (label hashing, map updates); an array increment ~2 ns.
  private readonly passed = new Float64Array(QUALITY_CHECKS.length);
  private readonly failed = new Float64Array(QUALITY_CHECKS.length);
  private readonly flushedPassed = new Float64Array(QUALITY_CHECKS.length);
  private readonly flushedFailed = new Float64Array(QUALITY_CHECKS.length);
  // Label children resolved once: prom-client hashes a label object on every inc() otherwise,
  // which the profile showed as a measurable share of the request path.
  private readonly outcomeChildren = new Map<string, { inc(): void }>();
  private readonly riskChildren = new Map<string, { inc(): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'scoregate_' });
  }

  /** Counts one run of a quality check (its counter and pass ratio are brought up to date when read). */
  check(check: (typeof QUALITY_CHECKS)[number], pass: boolean): void {
    const i = CHECK_INDEX[check];
    if (pass) this.passed[i] = this.passed[i]! + 1;
    else this.failed[i] = this.failed[i]! + 1;
  }

  /** Moves the checks counted since the last read into prom-client (called by its collect). */
  private flushChecks(): void {
    for (let i = 0; i < QUALITY_CHECKS.length; i++) {
      const check = QUALITY_CHECKS[i]!;
      const p = this.passed[i]!;
      const f = this.failed[i]!;
      // A label pair appears once its check has run, as it did when each check was counted at once.
      if (p > this.flushedPassed[i]!) this.qualityChecks.inc({ check, result: 'pass' }, p - this.flushedPassed[i]!);
      if (f > this.flushedFailed[i]!) this.qualityChecks.inc({ check, result: 'fail' }, f - this.flushedFailed[i]!);
      this.flushedPassed[i] = p;
      this.flushedFailed[i] = f;
      if (p + f > 0) this.qualityRatio.set({ check }, p / (p + f));
    }
  }

  /** Counts a transaction's outcome (scored, or the error code that stopped it). */
  outcome(source: string, outcome: string): void {
    const key = source + '|' + outcome;
    let c = this.outcomeChildren.get(key);
    if (c === undefined) this.outcomeChildren.set(key, (c = this.transactions.labels(source, outcome)));
    c.inc();
  }

  private readonly replayChildren = new Map<string, { inc(): void }>();
  private readonly fallbackChildren = new Map<string, { inc(): void }>();

  replay(source: string): void {
    let c = this.replayChildren.get(source);
    if (c === undefined) this.replayChildren.set(source, (c = this.replays.labels(source)));
    c.inc();
  }

  fallback(reason: string): void {
    let c = this.fallbackChildren.get(reason);
    if (c === undefined) this.fallbackChildren.set(reason, (c = this.fallbacks.labels(reason)));
    c.inc();
  }

  riskCategory(category: string): void {
    let c = this.riskChildren.get(category);
    if (c === undefined) this.riskChildren.set(category, (c = this.risk.labels(category)));
    c.inc();
  }
}
