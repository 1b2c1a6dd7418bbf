/**
 * What the gateway must answer for a known sequence of transactions, worked out beside it: the
 * project's own parse, uniqueness and quality checks and FeatureEngine, replayed in the order
 * the gateway receives the transactions (features from the history before, then the
 * transaction joins the windows if its time is in range; duplicates and refused transactions
 * are not counted), and each feature row run with onnxruntime-node on the model file the
 * gateway serves — directly, not through the gateway's pool or session.
 *
 * Tests compare answers with it by transactionId, |Δscore| ≤ SCORE_TOLERANCE.
 */
import * as ort from 'onnxruntime-node';
import type { Config } from '../../src/core/config.js';
import { asScoregateError } from '../../src/core/errors.js';
import { FEATURE_COUNT } from '../../src/features/contract.js';
import { FeatureEngine } from '../../src/features/engine.js';
import { readModelDir } from '../../src/models/mlmodel.js';
import { assessQuality } from '../../src/quality/checks.js';
import { fingerprint } from '../../src/idempotency/fingerprint.js';
import { parseTransaction } from '../../src/quality/parse.js';

/** ONNX runs of the same row agree far closer than this; a wrong row is off by far more. */
export const SCORE_TOLERANCE = 1e-5;

/** The settings that decide features and the model: the gateway's own configuration. */
export type OracleSettings = Pick<
  Config,
  'modelDir' | 'allowedLatenessMs' | 'windowMaxUsers' | 'windowMaxBytes' | 'windowMaxEventsPerUser' | 'seenIdsMax'
>;

export interface ModelName {
  name: string;
  version: string;
}

export type Expectation =
  | { kind: 'scored'; transactionId: string; score: number; model: ModelName; features: Float32Array; joined: boolean; replayed?: boolean }
  | { kind: 'refused'; transactionId: string | null; code: string };

/** An answer as the tests see it: only the fields that other changes to answers leave alone. */
export interface Answer {
  result?: { transactionId: string; score: number; riskCategory: string; model: ModelName };
  error?: { code: string };
  /** Set by the caller from the Idempotent-Replayed header or the WebSocket/batch `replayed` field. */
  replayed?: boolean;
}

function category(score: number): string {
  return score > 0.8 ? 'HIGH' : score > 0.5 ? 'MEDIUM' : 'LOW';
}

export class ScoreOracle {
  private constructor(
    private readonly settings: OracleSettings,
    private readonly session: ort.InferenceSession,
    readonly model: ModelName,
  ) {}

  /** Opens the model the gateway serves, found through the project's MLmodel reader. */
  static async open(settings: OracleSettings): Promise<ScoreOracle> {
    const desc = await readModelDir(settings.modelDir);
    const session = await ort.InferenceSession.create(desc.onnxPath);
    return new ScoreOracle(settings, session, { name: desc.name, version: desc.version });
  }

  /**
   * The expectation for each transaction of `sequence`, in its order, for a gateway that has
   * seen none of its users and transactionIds. `now` is the wall clock the quality checks use.
   */
  async replay(sequence: readonly unknown[], now = Date.now()): Promise<Expectation[]> {
    const s = this.settings;
    const engine = new FeatureEngine({
      maxUsers: s.windowMaxUsers,
      maxBytes: s.windowMaxBytes,
      maxEventsPerUser: s.windowMaxEventsPerUser,
      allowedLatenessMs: s.allowedLatenessMs,
      seenIdsMax: s.seenIdsMax,
    });
    const out: Expectation[] = [];
    const rows: Float32Array[] = [];
    // Idempotency: an id answered before replays that answer when the transaction matches.
    const answered = new Map<string, { fp: string; index: number }>();
    for (const value of sequence) {
      let tx;
      try {
        tx = parseTransaction(value);
      } catch (err) {
        out.push({ kind: 'refused', transactionId: idOf(value), code: asScoregateError(err).code });
        continue;
      }
      const first = answered.get(tx.transactionId);
      if (first !== undefined) {
        const e = out[first.index]!;
        if (first.fp !== fingerprint(tx)) out.push({ kind: 'refused', transactionId: tx.transactionId, code: 'IDEMPOTENCY_KEY_REUSED' });
        else out.push(e.kind === 'scored' ? { ...e, replayed: true } : e);
        continue;
      }
      if (engine.seen.has(tx.transactionId)) {
        out.push({ kind: 'refused', transactionId: tx.transactionId, code: 'DUPLICATE_TRANSACTION' });
        continue;
      }
      answered.set(tx.transactionId, { fp: fingerprint(tx), index: out.length });
      const features = new Float32Array(FEATURE_COUNT);
      const ctx = engine.compute(tx, features, 0);
      const quality = assessQuality(tx, ctx.meanLast5, now);
      let joined = false;
      if (quality.joinsWindows) joined = engine.ingest(tx) === 'added';
      else engine.seen.add(tx.transactionId);
      rows.push(features);
      out.push({ kind: 'scored', transactionId: tx.transactionId, score: Number.NaN, model: this.model, features, joined });
    }
    const scores = await this.scoreRows(rows);
    let i = 0;
    for (const e of out) if (e.kind === 'scored' && e.replayed !== true) e.score = scores[i++]!;
    // Replays carry the score of the answer they repeat.
    for (let j = 0; j < out.length; j++) {
      const e = out[j]!;
      if (e.kind === 'scored' && e.replayed === true) out[j] = { ...e, score: (out[answered.get(e.transactionId)!.index] as { score: number }).score };
    }
    return out;
  }

  /** The model's fraud probability for each row: column 1 of its `probabilities` output. */
  async scoreRows(rows: readonly Float32Array[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const flat = new Float32Array(rows.length * FEATURE_COUNT);
    rows.forEach((r, i) => flat.set(r, i * FEATURE_COUNT));
    const input = new ort.Tensor('float32', flat, [rows.length, FEATURE_COUNT]);
    const result = await this.session.run({ [this.session.inputNames[0]!]: input });
    const probabilities = result['probabilities'];
    if (probabilities === undefined || probabilities.dims[1] !== 2) throw new Error('the model has no [n, 2] probabilities output');
    const data = probabilities.data as Float32Array;
    return rows.map((_, i) => data[i * 2 + 1]!);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

function idOf(value: unknown): string | null {
  const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['transactionId'] : undefined;
  return typeof id === 'string' ? id : null;
}

/**
 * Where `answers` (aligned with the sequence) differ from `expected`: one readable line per
 * difference, none when every answer is what the oracle says. A scored answer must name the
 * same transaction, be within SCORE_TOLERANCE of the expected score, carry the risk category of
 * its score (and of the expected score, unless that sits within the tolerance of a threshold)
 * and name the model; a refused one must carry the expected error code.
 */
export function differences(expected: readonly Expectation[], answers: readonly (Answer | undefined)[]): string[] {
  const out: string[] = [];
  if (answers.length !== expected.length) out.push(`${answers.length} answers for ${expected.length} transactions`);
  expected.forEach((e, i) => {
    const a = answers[i];
    const at = `#${i} ${e.transactionId ?? '(no id)'}`;
    if (a === undefined) return void out.push(`${at}: no answer`);
    if (e.kind === 'refused') {
      if (a.error?.code !== e.code) out.push(`${at}: expected error ${e.code}, got ${JSON.stringify(a)}`);
      return;
    }
    if (e.replayed === true && a.replayed !== true) out.push(`${at}: expected a replay of the first answer, got ${JSON.stringify(a)}`);
    const r = a.result;
    if (r === undefined) return void out.push(`${at}: expected score ${e.score}, got ${JSON.stringify(a)}`);
    if (r.transactionId !== e.transactionId) out.push(`${at}: answer names ${r.transactionId}`);
    if (!(Math.abs(r.score - e.score) <= SCORE_TOLERANCE)) out.push(`${at}: score ${r.score}, expected ${e.score} (Δ ${r.score - e.score})`);
    const nearThreshold = Math.abs(e.score - 0.5) <= SCORE_TOLERANCE || Math.abs(e.score - 0.8) <= SCORE_TOLERANCE;
    if (r.riskCategory !== category(r.score) || (!nearThreshold && r.riskCategory !== category(e.score))) {
      out.push(`${at}: risk category ${r.riskCategory} for score ${r.score}, expected ${category(e.score)}`);
    }
    if (r.model?.name !== e.model.name || r.model.version !== e.model.version) out.push(`${at}: model ${JSON.stringify(r.model)}, expected ${JSON.stringify(e.model)}`);
  });
  return out;
}

/** The answers a correct gateway gives for `expected` (for tests of the oracle itself). */
export function perfectAnswers(expected: readonly Expectation[]): Answer[] {
  return expected.map((e) =>
    e.kind === 'refused'
      ? { error: { code: e.code } }
      : { result: { transactionId: e.transactionId, score: e.score, riskCategory: category(e.score), model: e.model }, ...(e.replayed === true ? { replayed: true } : {}) },
  );
}
