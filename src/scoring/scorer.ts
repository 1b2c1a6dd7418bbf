/**
 * One transaction's path after the transport: quality (parse, uniqueness, flags) → features
 * (compute from history, then join it) → inference (the pool's micro-batcher) → sink.
 * Transport code (http/, ws/) calls `score`, which answers a ScoredEvent or throws a
 * ScoregateError; dead letters and metrics are taken care of here, once for both transports.
 */
import { ScoregateError, asScoregateError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { FEATURE_COUNT } from '../features/contract.js';
import type { FeatureEngine } from '../features/engine.js';
import type { InferencePool } from '../inference/pool.js';
import { assessQuality } from '../quality/checks.js';
import { parseTransaction } from '../quality/parse.js';
import { DEAD_LETTER_MAX_RAW, type EventSink, type RiskCategory, type ScoredEvent, type Source } from '../sink/events.js';

export function riskCategory(score: number): RiskCategory {
  return score > 0.8 ? 'HIGH' : score > 0.5 ? 'MEDIUM' : 'LOW';
}

export class Scorer {
  /** The model serving now; null until the first one is loaded and warmed. */
  pool: InferencePool | null = null;
  /** A challenger scored on the same rows off the response path; null when none. */
  challenger: InferencePool | null = null;
  // One scratch row: compute() fills it and pool.score() copies it before anything else runs.
  private readonly row = new Float32Array(FEATURE_COUNT);
  // Scored events wait here for the end of the turn, so encoding them for the sink happens
  // after the answers are written, off the request's latency.
  private sinkQueue: ScoredEvent[] = [];
  private readonly flushSink = (): void => {
    const q = this.sinkQueue;
    this.sinkQueue = [];
    for (let i = 0; i < q.length; i++) {
      try {
        this.sink.scored(q[i]!);
      } catch (err) {
        this.metrics.sinkErrors.inc();
        this.onSinkError(err);
      }
    }
  };
  /** Where a sink failure is reported (the gateway logs it); the event is counted as lost. */
  onSinkError: (err: unknown) => void = () => undefined;

  constructor(
    private readonly engine: FeatureEngine,
    public sink: EventSink,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Extra readiness beyond a loaded model (Kafka connected and caught up); null means ready. */
  gate: () => string | null = () => null;

  get ready(): boolean {
    return this.pool !== null && this.gate() === null;
  }

  /**
   * Scores one parsed JSON value. `raw` gives the payload text for a dead letter (called only
   * on failure, so the happy path never serialises it).
   */
  async score(value: unknown, source: Source, receivedAt: number, raw: () => string): Promise<ScoredEvent> {
    const pool = this.pool;
    if (pool === null) throw new ScoregateError('NOT_READY');
    const notReady = this.gate();
    if (notReady !== null) throw new ScoregateError('NOT_READY', `the gateway is not ready: ${notReady}`);
    if (!this.sink.accepting()) throw new ScoregateError('SINK_FULL');
    const m = this.metrics;
    let tx;
    try {
      tx = parseTransaction(value);
    } catch (err) {
      const e = asScoregateError(err);
      const incomplete = e.code === 'MISSING_FIELD' || e.code === 'INVALID_BODY';
      m.check('completeness', !incomplete);
      if (!incomplete) m.check('validity', false);
      this.reject(e, source, receivedAt, raw);
      throw e;
    }
    m.check('completeness', true);
    if (this.engine.seen.has(tx.transactionId)) {
      m.check('uniqueness', false);
      const e = new ScoregateError('DUPLICATE_TRANSACTION', `transactionId ${JSON.stringify(tx.transactionId)} was already scored`, 'transactionId');
      this.reject(e, source, receivedAt, raw);
      throw e;
    }
    m.check('uniqueness', true);
    const ctx = this.engine.compute(tx, this.row, 0);
    const quality = assessQuality(tx, ctx.meanLast5, this.now());
    m.check('validity', quality.validity === 1);
    m.check('consistency', quality.consistency === 1);
    // Join the history now, before inference, so the very next request sees this one. An event
    // whose time is out of range is remembered as seen but kept out of the windows.
    let joined = false;
    if (quality.joinsWindows) joined = this.engine.ingest(tx) === 'added';
    else this.engine.seen.add(tx.transactionId);
    // The challenger copies the same row now; its result only ever reaches metrics and the sink.
    const ch = this.challenger;
    // Settled at once: a challenger that is overloaded or swapping yields null, never an unhandled rejection.
    const chScore = ch !== null ? ch.score(this.row, 0).then((s) => s, () => null) : null;
    let score: number;
    m.inFlight.inc();
    try {
      score = await pool.score(this.row, 0);
    } catch (err) {
      // Not scored: a retry with the same transactionId must not be refused as a duplicate.
      this.engine.forget(tx, joined);
      const e = asScoregateError(err);
      m.outcome(source, e.code);
      throw e;
    } finally {
      m.inFlight.dec();
    }
    const risk = riskCategory(score);
    const ev: ScoredEvent = {
      transaction: tx,
      score,
      riskCategory: risk,
      model: pool.modelRef,
      quality: { score: quality.score, flags: quality.flags },
      source,
      receivedAt,
      scoredAt: this.now(),
      challenger: null,
    };
    m.outcome(source, 'scored');
    m.riskCategory(risk);
    m.qualityScore.observe(quality.score);
    if (chScore === null || ch === null) this.toSink(ev);
    else {
      void chScore.then((s) => {
        if (s !== null) {
          const version = ch.model.version;
          ev.challenger = { name: ch.model.name, version, score: s };
          m.challengerScore.observe({ version }, s);
          m.challengerDiff.observe({ version }, Math.abs(s - score));
          if (riskCategory(s) !== risk) m.challengerDisagree.inc({ version });
        }
        this.toSink(ev); // a challenger failure never costs the event
      });
    }
    return ev;
  }

  private toSink(ev: ScoredEvent): void {
    if (this.sinkQueue.push(ev) === 1) setImmediate(this.flushSink);
  }

  /** Records a transaction that failed before scoring: metrics and, for bad input, a dead letter. */
  reject(e: ScoregateError, source: Source, receivedAt: number, raw: () => string): void {
    this.metrics.outcome(source, e.code);
    if (e.status >= 500) return; // our failure, not the event's: nothing for the dead-letter topic
    try {
      let text = raw();
      if (text.length > DEAD_LETTER_MAX_RAW) text = text.slice(0, DEAD_LETTER_MAX_RAW);
      this.sink.deadLetter({ code: e.code, field: e.field ?? null, message: e.message, raw: text, source, receivedAt });
      this.metrics.sinkWrites.inc({ sink: 'dead_letter' });
    } catch (err) {
      this.metrics.sinkErrors.inc();
      this.onSinkError(err);
    }
  }
}
