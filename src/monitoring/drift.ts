/**
 * Drift of live traffic against the serving model's training baseline (seed §2, proactive
 * monitoring): the population stability index of each feature and of the score over the last
 * DRIFT_WINDOW_ROWS scored rows,
 *
 *   PSI = Σ_bins (a − e) · ln(a / e)
 *
 * with e the training share of a bin (baseline.json), a the live share, both floored at
 * PSI_FLOOR so an empty bin counts as a large difference rather than an infinite one. A series
 * is flagged when its PSI passes DRIFT_PSI_THRESHOLD with at least DRIFT_MIN_ROWS rows in the
 * window; a flag turning on (or off) is logged once.
 *
 * Request path: `features(row)` while the scratch row still holds the transaction's features,
 * `score(s)` once the model answered. Each is a bin search over ≤ 15 edges per series and a
 * few typed-array increments — no allocation: the window is a ring of bin indices (one byte per
 * series per row), the counts a Uint32Array. PSI is computed when /metrics is read and once a
 * second for the flags' log lines, never per row.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/contract.js';
import { MAX_BINS, type Baseline, type BaselineRead } from './baseline.js';

/** Share floor for empty bins (live or training): the usual 1e-4 of PSI practice. */
export const PSI_FLOOR = 1e-4;
const MAX_EDGES = MAX_BINS - 1;
const SCORE = FEATURE_COUNT; // series index of the score
const SERIES = FEATURE_COUNT + 1;
const SERIES_NAMES = [...FEATURE_NAMES, 'score'];

export interface DriftOptions {
  /** Rows in the sliding window (DRIFT_WINDOW_ROWS). */
  windowRows: number;
  /** PSI past which a series is flagged (DRIFT_PSI_THRESHOLD). */
  threshold: number;
  /** Rows the window needs before a flag may turn on (DRIFT_MIN_ROWS). */
  minRows: number;
}

/** PSI of live counts against expected shares (both as given; floors applied here). */
export function psi(counts: ArrayLike<number>, offset: number, n: number, expected: ArrayLike<number>, eOffset: number, bins: number): number {
  if (n === 0) return 0;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    const a = Math.max(counts[offset + b]! / n, PSI_FLOOR);
    const e = Math.max(expected[eOffset + b]!, PSI_FLOOR);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

export class DriftMonitor {
  /** Edges per series, MAX_EDGES apart; nEdges[s] of them used. */
  private readonly edges = new Float64Array(SERIES * MAX_EDGES);
  private readonly nEdges = new Uint8Array(SERIES);
  private readonly expected = new Float64Array(SERIES * MAX_BINS);
  /** Live counts per series and bin over the window. */
  private readonly counts = new Uint32Array(SERIES * MAX_BINS);
  /** The window: bin index per feature per row (ring), and per score (ring). */
  private readonly featRing: Uint8Array;
  private readonly scoreRing: Uint8Array;
  private featHead = 0;
  private featRows = 0;
  private scoreHead = 0;
  private scoreRows = 0;
  private on = false;
  private model: { name: string; version: string } | null = null;
  private readonly flagged = new Uint8Array(SERIES);
  private readonly psiNow = new Float64Array(SERIES);
  private timer: NodeJS.Timeout | null = null;

  readonly psiGauge: Gauge<'feature'>;
  readonly flagGauge: Gauge<'feature'>;
  readonly rowsGauge: Gauge<'series'>;
  private readonly enabledGauge: Gauge;

  constructor(
    private readonly opts: DriftOptions,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.featRing = new Uint8Array(opts.windowRows * FEATURE_COUNT);
    this.scoreRing = new Uint8Array(opts.windowRows);
    this.psiGauge = new Gauge({
      name: 'scoregate_drift_psi',
      help: 'Population stability index of each feature (and feature="score") over the last DRIFT_WINDOW_ROWS scored rows against the serving model\'s training baseline',
      labelNames: ['feature'] as const,
      registers: [registry],
      collect: () => this.evaluate(),
    });
    this.flagGauge = new Gauge({ name: 'scoregate_drift_flag', help: '1 when the feature\'s PSI is past DRIFT_PSI_THRESHOLD (with at least DRIFT_MIN_ROWS rows in the window), else 0', labelNames: ['feature'] as const, registers: [registry] });
    this.rowsGauge = new Gauge({ name: 'scoregate_drift_window_rows', help: 'Rows in the drift window, for features and for the score (model-scored rows only)', labelNames: ['series'] as const, registers: [registry] });
    new Gauge({ name: 'scoregate_drift_threshold', help: 'DRIFT_PSI_THRESHOLD', registers: [registry] }).set(opts.threshold);
    this.enabledGauge = new Gauge({ name: 'scoregate_drift_enabled', help: '1 when the serving model shipped a usable training baseline (drift is computed), else 0', registers: [registry] });
    this.enabledGauge.set(0);
  }

  get enabled(): boolean {
    return this.on;
  }

  /** The serving model changed: start a fresh window against its baseline, or turn drift off. */
  use(model: { name: string; version: string; baseline?: BaselineRead }): void {
    this.model = { name: model.name, version: model.version };
    this.featHead = this.featRows = this.scoreHead = this.scoreRows = 0;
    this.counts.fill(0);
    this.flagged.fill(0);
    this.psiGauge.reset();
    this.flagGauge.reset();
    const read = model.baseline;
    if (read === undefined || read.baseline === null) {
      this.on = false;
      this.enabledGauge.set(0);
      this.log.warn('drift off for this model', { name: model.name, version: model.version, reason: read?.problem ?? 'no baseline was read' });
      return;
    }
    this.load(read.baseline);
    this.on = true;
    this.enabledGauge.set(1);
    for (const f of SERIES_NAMES) this.flagGauge.set({ feature: f }, 0);
    this.log.info('drift baseline loaded', { name: model.name, version: model.version, rows: read.baseline.rows, windowRows: this.opts.windowRows, threshold: this.opts.threshold });
  }

  private load(b: Baseline): void {
    const all = [...b.features, b.score];
    for (let s = 0; s < SERIES; s++) {
      const { edges, shares } = all[s]!;
      this.nEdges[s] = edges.length;
      for (let i = 0; i < edges.length; i++) this.edges[s * MAX_EDGES + i] = edges[i]!;
      this.expected.fill(0, s * MAX_BINS, (s + 1) * MAX_BINS);
      for (let i = 0; i < shares.length; i++) this.expected[s * MAX_BINS + i] = shares[i]!;
    }
  }

  /** The bin of x in series s: the number of its edges below x. */
  private bin(s: number, x: number): number {
    const base = s * MAX_EDGES;
    const k = this.nEdges[s]!;
    let b = 0;
    // Linear: at most 15 edges (9 from the pipeline), sorted; cheaper than a binary search's
    // branches at this size.
    while (b < k && x > this.edges[base + b]!) b++;
    return b;
  }

  /** One scored row's features (row[offset .. offset + FEATURE_COUNT)). */
  features(row: Float32Array, offset: number): void {
    if (!this.on) return;
    const ring = this.featRing;
    const counts = this.counts;
    const at = this.featHead * FEATURE_COUNT;
    const full = this.featRows === this.opts.windowRows;
    for (let f = 0; f < FEATURE_COUNT; f++) {
      if (full) counts[f * MAX_BINS + ring[at + f]!]!--;
      const b = this.bin(f, row[offset + f]!);
      ring[at + f] = b;
      counts[f * MAX_BINS + b]!++;
    }
    if (!full) this.featRows++;
    this.featHead = this.featHead + 1 === this.opts.windowRows ? 0 : this.featHead + 1;
  }

  /** One score the serving model gave. */
  score(s: number): void {
    if (!this.on) return;
    const counts = this.counts;
    const base = SCORE * MAX_BINS;
    if (this.scoreRows === this.opts.windowRows) counts[base + this.scoreRing[this.scoreHead]!]!--;
    else this.scoreRows++;
    const b = this.bin(SCORE, s);
    this.scoreRing[this.scoreHead] = b;
    counts[base + b]!++;
    this.scoreHead = this.scoreHead + 1 === this.opts.windowRows ? 0 : this.scoreHead + 1;
  }

  /** PSI of every series now; sets the gauges and logs flags that turned on or off. */
  evaluate(): void {
    if (!this.on) return;
    this.rowsGauge.set({ series: 'features' }, this.featRows);
    this.rowsGauge.set({ series: 'score' }, this.scoreRows);
    for (let s = 0; s < SERIES; s++) {
      const n = s === SCORE ? this.scoreRows : this.featRows;
      const name = SERIES_NAMES[s]!;
      if (n === 0) continue;
      const v = psi(this.counts, s * MAX_BINS, n, this.expected, s * MAX_BINS, this.nEdges[s]! + 1);
      this.psiNow[s] = v;
      this.psiGauge.set({ feature: name }, v);
      const flag = n >= this.opts.minRows && v > this.opts.threshold ? 1 : 0;
      if (flag !== this.flagged[s]) {
        this.flagged[s] = flag;
        const fields = { feature: name, psi: Math.round(v * 10000) / 10000, threshold: this.opts.threshold, windowRows: n, model: this.model };
        if (flag === 1) this.log.warn('drift detected', fields);
        else this.log.info('drift cleared', fields);
      }
      this.flagGauge.set({ feature: name }, flag);
    }
  }

  /** Evaluates every `ms` (the flags' log lines come without a scrape). */
  start(ms = 1000): void {
    this.timer = setInterval(() => this.evaluate(), ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Current PSI by series name (for the status view and tests). */
  snapshot(): { enabled: boolean; model: { name: string; version: string } | null; rows: number; psi: Record<string, number>; flagged: string[] } {
    this.evaluate();
    const out: Record<string, number> = {};
    const flagged: string[] = [];
    for (let s = 0; s < SERIES; s++) {
      out[SERIES_NAMES[s]!] = this.psiNow[s]!;
      if (this.flagged[s] === 1) flagged.push(SERIES_NAMES[s]!);
    }
    return { enabled: this.on, model: this.model, rows: this.featRows, psi: out, flagged };
  }
}
