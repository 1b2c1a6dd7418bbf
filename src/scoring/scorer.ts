/**
 * One transaction's path after the transport: quality (parse) → idempotency (replay, conflict,
 * wait, or new) → uniqueness → features (compute from history, then join it) → inference within
 * the request's budget (else the fallback rule model) → durable sink → answer.
 * Transport code (http/, ws/) calls `score`, which resolves with the answer's text or rejects
 * with a ScoregateError; dead letters and metrics are taken care of here, once for both
 * transports. Admission (shedding) happens before, in the transports.
 */
import { FALLBACK_MODEL, fallbackScore, type FallbackReason } from '../admission/fallback.js';
import { ScoregateError, asScoregateError } from '../core/errors.js';
import { Deadlines, type Deadline } from '../core/deadlines.js';
import type { Metrics } from '../core/metrics.js';
import { F, FEATURE_COUNT } from '../features/contract.js';
import type { FeatureEngine } from '../features/engine.js';
import { LoggedFeatures } from '../features/logged.js';
import { SOURCE_SYSTEM } from '../sink/lineage.js';
import { AnswerStore, type Answer } from '../idempotency/answers.js';
import { fingerprint } from '../idempotency/fingerprint.js';
import { CanarySplit } from '../models/canary.js';
import type { InferencePool } from '../inference/pool.js';
import { assessQuality } from '../quality/checks.js';
import { parseTransaction } from '../quality/parse.js';
import { DEFAULT_OPTIONS, maskText, protectTransaction, type PrivacyOptions } from '../privacy/index.js';
import type { Transaction } from '../quality/transaction.js';
import { DEAD_LETTER_MAX_RAW, type EventSink, type RiskCategory, type ScoredEvent, type Source } from '../sink/events.js';
import { resultJson, roundMs } from './answer.js';

export function riskCategory(score: number): RiskCategory {
  return score > 0.8 ? 'HIGH' : score > 0.5 ? 'MEDIUM' : 'LOW';
}

/** What the transport knows about one transaction's request. */
export interface ScoreContext {
  source: Source;
  /** Wall-clock receive time (epoch ms), for the event. */
  receivedAt: number;
  /** performance.now() at admission: the budget counts from here. */
  startedAt: number;
  /** Time budget in ms (REQUEST_BUDGET_MS, or lower when the client asked). */
  budgetMs: number;
  /** The payload text for a dead letter (called only on failure). */
  raw: () => string;
  /** The answer carries the top contributors (HTTP ?explain=true or Explain: true, WebSocket "explain": true). */
  explain?: boolean;
  /** Sent on by another instance (src/cluster/): it is scored here or refused, never forwarded again. */
  forwarded?: boolean;
}

export interface ScorerOptions {
  maxAnswers: number;
  answerTtlMs: number;
  /** Longest an answer waits for its event to be durable (SINK_WAIT_MS). */
  sinkWaitMs: number;
  /** Masking of card data and PII in everything written out (src/privacy). */
  privacy?: PrivacyOptions;
  /** Which events carry an explanation when the answer did not ask (EXPLAIN_EVENTS; default risky). */
  explainEvents?: 'risky' | 'all' | 'asked';
}

/** Which model gave an answer: the serving one, the challenger by the canary split, or the fallback rule. */
export type AnsweredBy = 'champion' | 'canary' | 'fallback';

/** What watches scored transactions (src/monitoring: drift, outcomes); null: nothing does. */
export interface ScoreWatch {
  /** The transaction's features, called while the scratch row holds them (before inference). */
  features(row: Float32Array, offset: number): void;
  /** An answer given (durable, about to be sent). */
  answered(transactionId: string, score: number, model: Readonly<{ name: string; version: string }>, by: AnsweredBy): void;
}

/** How long an answer waits for a running challenger's score to put it in the event. */
const CHALLENGER_WAIT_MS = 5;

type Outcome = number | FallbackReason;

function reasonOf(err: unknown): FallbackReason {
  if (err instanceof ScoregateError) {
    if (err.code === 'OVERLOADED') return 'queue_full';
    if (err.code === 'NOT_READY') return 'model_unavailable';
  }
  return 'inference_failed';
}

/**
 * One wait of the request path: settles once, with the awaited value (or its error) or, at its
 * deadline, with the timeout value. The shared callbacks take it as their argument (no closures
 * for the timer), and its deadline sits in a shared queue (src/core/deadlines.ts), cancelled
 * when it settles.
 */
class Wait<T> {
  resolve: (v: T) => void = noop;
  reject: (err: unknown) => void = noop;
  deadline: Deadline<Wait<T>> | null = null;
  constructor(
    readonly queue: Deadlines,
    readonly timeout: T,
  ) {}
  private done(): void {
    this.resolve = noop;
    this.reject = noop;
    const d = this.deadline;
    if (d !== null) {
      this.deadline = null;
      if (d.fire !== null) this.queue.cancel(d);
    }
  }
  settle(v: T): void {
    const r = this.resolve;
    this.done();
    r(v);
  }
  fail(err: unknown): void {
    const r = this.reject;
    this.done();
    r(err);
  }
}

function noop(): void {}

function onTimeout<T>(w: Wait<T>): void {
  w.deadline = null;
  w.settle(w.timeout);
}

/**
 * `p`'s value, or `timeout` once `ms` have passed (p's error, mapped by `onError` when given).
 * Replaces Promise.race with a setTimeout per request, which kept ~20k live timers at 10k
 * req/s (the sink wait's was never cleared) and three Timeout objects per transaction.
 */
function within<T, U>(queue: Deadlines, p: Promise<T>, ms: number, timeout: U, onError: ((err: unknown) => T | U) | null): Promise<T | U> {
  const w = new Wait<T | U>(queue, timeout);
  return new Promise<T | U>((resolve, reject) => {
    w.resolve = resolve;
    w.reject = reject;
    w.deadline = queue.after(ms, onTimeout, w);
    p.then(
      (v) => w.settle(v),
      (err: unknown) => (onError === null ? w.fail(err) : w.settle(onError(err))),
    );
  });
}

const returnTrue = (): true => true;

/**
 * Puts the top contributors in the event (and the answer, when asked). Exact TreeSHAP costs
 * about 1 ms of CPU per row on the shipped model (bench/results-explain.md), fifty times its
 * inference, so events that did not ask get one only per EXPLAIN_EVENTS: by default MEDIUM and
 * HIGH scores — the ones an analyst opens. A fallback score has no tree to explain.
 */
function explainInto(ev: ScoredEvent, pool: InferencePool, row: Float32Array, asked: boolean, policy: 'risky' | 'all' | 'asked'): void {
  if (asked) ev.explanationInAnswer = true;
  if (ev.fallback !== null) return;
  if (asked || policy === 'all' || (policy === 'risky' && ev.riskCategory !== 'LOW')) ev.explanation = pool.explainer!.explain(row, 0);
}

export class Scorer {
  /** The model serving now; null until the first one is loaded and warmed. */
  pool: InferencePool | null = null;
  /** A challenger scored on the same rows off the response path; null when none. */
  challenger: InferencePool | null = null;
  readonly answers: AnswerStore;
  /** The share of users the challenger answers (src/models/canary.ts). */
  readonly canary = new CanarySplit();
  watch: ScoreWatch | null = null;
  // One scratch row: compute() fills it and pool.score() copies it before anything else runs.
  private readonly row = new Float32Array(FEATURE_COUNT);
  // One deadline queue per kind of wait, so each stays in time order (src/core/deadlines.ts).
  private readonly budgets = new Deadlines();
  private readonly sinkWaits = new Deadlines();
  private readonly challengerWaits = new Deadlines();
  /** Where a sink failure is reported (the gateway logs it). */
  onSinkError: (err: unknown) => void = () => undefined;

  constructor(
    private readonly engine: FeatureEngine,
    public sink: EventSink,
    private readonly metrics: Metrics,
    private readonly opts: ScorerOptions = { maxAnswers: 100_000, answerTtlMs: 86_400_000, sinkWaitMs: 2000 },
    private readonly now: () => number = Date.now,
  ) {
    this.answers = new AnswerStore({ maxAnswers: opts.maxAnswers, ttlMs: opts.answerTtlMs });
  }

  /**
   * Scale-out (src/cluster/): the owner's answer for a user owned by another instance, or null
   * to score here. Null when the gateway is not sharded.
   */
  route: ((tx: Transaction, value: unknown, ctx: ScoreContext) => Promise<Answer> | null) | null = null;

  /** Extra readiness beyond a loaded model (Kafka connected and caught up); null means ready. */
  gate: () => string | null = () => null;

  get ready(): boolean {
    return this.pool !== null && this.gate() === null;
  }

  /** Scores one parsed JSON value; resolves with the answer (new or replayed). */
  async score(value: unknown, ctx: ScoreContext): Promise<Answer> {
    if (this.pool === null) throw new ScoregateError('NOT_READY');
    const notReady = this.gate();
    if (notReady !== null) throw new ScoregateError('NOT_READY', `the gateway is not ready: ${notReady}`);
    if (!this.sink.accepting()) throw new ScoregateError('SINK_FULL');
    const m = this.metrics;
    let tx: Transaction;
    try {
      tx = parseTransaction(value);
    } catch (err) {
      const e = asScoregateError(err);
      const incomplete = e.code === 'MISSING_FIELD' || e.code === 'INVALID_BODY';
      m.check('completeness', !incomplete);
      if (!incomplete) m.check('validity', false);
      this.reject(e, ctx);
      throw e;
    }
    if (this.route !== null) {
      const owner = this.route(tx, value, ctx);
      if (owner !== null) return owner;
    }
    const fp = fingerprint(tx);
    const id = tx.transactionId;
    const seen = this.answers.lookup(id, fp);
    switch (seen.kind) {
      case 'answer':
        m.replay(ctx.source);
        return { body: seen.body, replayed: true };
      case 'pending': {
        // The same transaction is being scored right now: its answer is ours (never a second score).
        const first = await seen.promise;
        m.replay(ctx.source);
        return { body: first.body, replayed: true };
      }
      case 'conflict': {
        const e = new ScoregateError('IDEMPOTENCY_KEY_REUSED', `transactionId ${JSON.stringify(id)} was already used for a different transaction`, 'transactionId');
        this.reject(e, ctx);
        throw e;
      }
      case 'new':
        break;
    }
    m.check('completeness', true);
    if (this.engine.seen.has(id)) {
      m.check('uniqueness', false);
      const e = new ScoregateError('DUPLICATE_TRANSACTION', `transactionId ${JSON.stringify(id)} was already counted (from Kafka, or its answer is no longer remembered)`, 'transactionId');
      this.reject(e, ctx);
      throw e;
    }
    m.check('uniqueness', true);
    const p = this.scoreNew(tx, fp, ctx);
    this.answers.begin(id, fp, p);
    // Whatever failed, the id is not remembered: the client may retry it.
    p.catch(() => this.answers.settle(id, fp, null));
    return p;
  }

  private async scoreNew(tx: Transaction, fp: string, ctx: ScoreContext): Promise<Answer> {
    const m = this.metrics;
    const pool = this.pool!;
    const row = this.row;
    // Everything that leaves the process (sinks, Kafka, the window endpoint) sees the protected
    // copy: PAN as BIN + last four, no CVV, PII masked. The windows key on the caller's userId
    // (in memory only) but keep the protected merchantId, which the window endpoint shows.
    const prot = protectTransaction(tx, this.opts.privacy ?? DEFAULT_OPTIONS);
    const safe = prot.transaction;
    const fin = safe.merchantId === tx.merchantId ? tx : { ...tx, merchantId: safe.merchantId };
    const validatedAt = performance.now(); // lineage: each stage's end, as it happens
    const hctx = this.engine.compute(fin, row, 0);
    const enrichedAt = performance.now();
    const quality = assessQuality(tx, hctx.meanLast5, this.now());
    const checkedAt = performance.now();
    m.check('validity', quality.validity === 1);
    m.check('consistency', quality.consistency === 1);
    // Join the history now, before inference, so the very next request sees this one. An event
    // whose time is out of range is remembered as seen but kept out of the windows.
    let joined = false;
    if (quality.joinsWindows) joined = this.engine.ingest(fin) === 'added';
    else this.engine.seen.add(tx.transactionId);
    // Computed now, while the scratch row still holds this transaction's features: a few flops,
    // cheaper than keeping a copy of the row for the rare answer that needs it.
    const fallback = fallbackScore(row, 0);
    // Issue 13: the row as the model will score it, copied before inference (the await lets other
    // requests rewrite the scratch row): 26 float32s, logged with the event.
    const features = new LoggedFeatures(row.slice());
    // An explanation, when one may be computed, reads the same copy.
    const kept = pool.explainer !== null && (ctx.explain === true || this.opts.explainEvents !== 'asked') ? features.values : null;
    // The challenger copies the same row now; its result only ever reaches metrics and the sink.
    const ch = this.challenger;
    // The canary split: a stable share of users is answered by the challenger (no shadow score then).
    const canary = ch !== null && this.canary.routes(tx.userId);
    const answering = canary ? ch : pool;
    const watch = this.watch;
    if (watch !== null) watch.features(row, 0);
    // Settled at once: a challenger that is overloaded or swapping yields null, never an unhandled rejection.
    const chScore = ch !== null && !canary ? ch.score(row, 0).then((s) => s, () => null) : null;
    m.inFlight.inc();
    let outcome: Outcome;
    const left = ctx.budgetMs - (performance.now() - ctx.startedAt);
    try {
      outcome = left <= 0 ? 'deadline' : await this.infer(answering, left);
    } finally {
      m.inFlight.dec();
    }
    let score: number;
    let reason: FallbackReason | null = null;
    if (typeof outcome === 'number') score = outcome;
    else {
      reason = outcome;
      score = fallback;
      m.fallback(reason);
    }
    const risk = riskCategory(score);
    const scoredAt = performance.now();
    const ev: ScoredEvent = {
      transaction: safe,
      score,
      riskCategory: risk,
      model: reason === null ? answering.modelRef : FALLBACK_MODEL,
      quality: { score: quality.score, flags: quality.flags },
      source: ctx.source,
      receivedAt: ctx.receivedAt,
      scoredAt: this.now(),
      challenger: null,
      fallback: reason,
      tookMs: roundMs(performance.now() - ctx.startedAt),
      fingerprint: fp,
      classification: prot.classification,
      // Issue 13: the row the model scored and the stages as measured above.
      features,
      lineage: {
        sourceSystem: SOURCE_SYSTEM[ctx.source],
        admittedAt: ctx.startedAt,
        validatedAt,
        enrichedAt,
        checkedAt,
        scoredAt,
        history24h: features.values[F.window(3, 0)]!,
        joined,
        quality,
      },
    };
    if (kept !== null) explainInto(ev, pool, kept, ctx.explain === true, this.opts.explainEvents ?? 'asked');
    else if (ctx.explain === true) ev.explanationInAnswer = true; // asked, none to give: "explanation": null
    if (chScore !== null && ch !== null) await this.addChallenger(ev, ch, chScore);
    const body = resultJson(ev);
    // Durable before the answer: a 200 is sent only once the event is in the spool (or file).
    try {
      const ok = await within(this.sinkWaits, this.sink.scored(ev).then(returnTrue), this.opts.sinkWaitMs, false, null);
      if (!ok) throw new Error(`the scored event was not durable within SINK_WAIT_MS (${this.opts.sinkWaitMs} ms)`);
    } catch (err) {
      // Not answered: the client may retry with the same id, so it must not count as seen.
      this.engine.forget(fin, joined);
      this.answers.settle(tx.transactionId, fp, null);
      m.sinkErrors.inc();
      this.onSinkError(err);
      m.outcome(ctx.source, 'SINK_FULL');
      throw new ScoregateError('SINK_FULL', 'the scored event could not be made durable: scoring is refused rather than answering an event that could be lost');
    }
    m.outcome(ctx.source, reason === null ? 'scored' : 'fallback');
    m.riskCategory(risk);
    m.scores.observe(score);
    m.qualityScore.observe(quality.score);
    this.answers.settle(tx.transactionId, fp, body);
    if (watch !== null) watch.answered(tx.transactionId, score, ev.model, reason !== null ? 'fallback' : canary ? 'canary' : 'champion');
    return { body, replayed: false };
  }

  /** The model's score within `ms`, or why the fallback must answer instead. */
  private infer(pool: InferencePool, ms: number): Promise<Outcome> {
    return within<Outcome, Outcome>(this.budgets, pool.score(this.row, 0), ms, 'deadline', reasonOf);
  }

  /**
   * Puts the challenger's score in the event if it comes within a few ms (it never delays the
   * answer more); its metrics are observed whenever it comes.
   */
  private async addChallenger(ev: ScoredEvent, ch: InferencePool, chScore: Promise<number | null>): Promise<void> {
    const m = this.metrics;
    const version = ch.model.version;
    const score = ev.score;
    const risk = ev.riskCategory;
    void chScore.then((s) => {
      if (s === null) return;
      m.challengerScore.observe({ version }, s);
      m.challengerDiff.observe({ version }, Math.abs(s - score));
      if (riskCategory(s) !== risk) m.challengerDisagree.inc({ version });
    });
    const s = await within(this.challengerWaits, chScore, CHALLENGER_WAIT_MS, null, () => null);
    if (s !== null) ev.challenger = { name: ch.model.name, version, score: s };
  }

  /** Records a transaction that failed before scoring: metrics and, for bad input, a dead letter. */
  reject(e: ScoregateError, ctx: { source: Source; receivedAt: number; raw: () => string }): void {
    this.metrics.outcome(ctx.source, e.code);
    if (e.status >= 500) return; // our failure, not the event's: nothing for the dead-letter topic
    try {
      let text = ctx.raw();
      if (text.length > DEAD_LETTER_MAX_RAW) text = text.slice(0, DEAD_LETTER_MAX_RAW);
      // The raw payload is kept for the dead letter, masked as the transaction would be.
      const privacy = this.opts.privacy ?? DEFAULT_OPTIONS;
      this.sink.deadLetter({
        code: e.code,
        field: e.field === undefined ? null : maskText(e.field, privacy),
        message: maskText(e.message, privacy),
        raw: maskText(text, privacy),
        source: ctx.source,
        receivedAt: ctx.receivedAt,
      });
      this.metrics.sinkWrites.inc({ sink: 'dead_letter' });
    } catch (err) {
      this.metrics.sinkErrors.inc();
      this.onSinkError(err);
    }
  }
}
