/**
 * The checks a candidate model passes before it may serve, in order: its MLmodel signature
 * matches the feature contract, it loads and warms in every worker of a pool of its own, and it
 * scores its own golden set (golden.csv, shipped in the model directory) within 1e-5 of the
 * expected scores — or, for a model without one, the fallback rows in [0, 1] with a warning
 * (src/models/golden.ts). Then its explainer is loaded, if it can be explained. ModelManager runs them before a switch;
 * `scoregate model validate` runs the same function and prints each step as it passes.
 */
import { Explainer } from '../explain/explainer.js';
import { InferencePool, type PoolOptions } from '../inference/pool.js';
import { checkGoldenScores, goldenFor, type GoldenSet } from './golden.js';
import { readModelDir } from './mlmodel.js';

export type ValidationStep = 'mlmodel' | 'load' | 'golden';

/** Where a failed check stopped, and why; `message` is the reason alone. */
export class ValidationFailed extends Error {
  constructor(
    readonly step: ValidationStep,
    reason: string,
  ) {
    super(reason);
    this.name = 'ValidationFailed';
  }
}

export interface CandidateSource {
  dir: string;
  name?: string;
  version?: string;
}

/**
 * Runs every check on `source`; resolves with the warmed pool (the caller serves or closes it),
 * or rejects with ValidationFailed naming the step. `passed` hears each step that passed.
 */
export async function validateCandidate(
  source: CandidateSource,
  opts: PoolOptions,
  fallbackGolden: GoldenSet,
  passed: (step: ValidationStep, detail: string, warning?: boolean) => void = () => undefined,
): Promise<InferencePool> {
  let step: ValidationStep = 'mlmodel';
  let pool: InferencePool | null = null;
  try {
    const desc = await readModelDir(source.dir, source.version);
    if (source.name !== undefined) desc.name = source.name;
    passed('mlmodel', `${desc.name} ${desc.version}: MLmodel has an onnx flavor and its signature matches the feature contract`);
    step = 'load';
    const t0 = performance.now();
    pool = await InferencePool.start(desc, opts);
    passed('load', `${desc.onnxPath} loaded and warmed (${opts.workers === 0 ? 'on the event loop' : `${opts.workers} worker(s)`}, ${Math.round(performance.now() - t0)} ms)`);
    step = 'golden';
    const golden = await goldenFor(desc.dir, fallbackGolden);
    const scores = await pool.scoreRows(golden.rows, golden.n);
    const bad = checkGoldenScores(scores, golden);
    if (bad !== null) throw new Error(bad);
    if (golden.expected !== null) passed('golden', `${golden.n} rows scored within 1e-5 of the expected scores shipped with the model (${golden.origin})`);
    else passed('golden', `${golden.n} rows scored finite and in [0, 1] (${golden.origin}); rebuild the model with the pipeline to ship its golden set`, true);
    const ex = await explainerFor(desc.dir, desc.onnxPath, golden, scores);
    if (ex instanceof Explainer) pool.explainer = ex;
    else pool.explainUnavailable = ex;
    return pool;
  } catch (err) {
    if (pool !== null) await pool.close().catch(() => undefined);
    throw new ValidationFailed(step, err instanceof Error ? err.message : String(err));
  }
}

/**
 * The model's explainer, or why there is none: a model that cannot be
 * explained (no tree_counts.json, not a single-score tree ensemble) still serves, its answers
 * carry no explanation. The explainer must reproduce the model's own scores on the golden rows
 * (its margin through the link, within 1e-5), so an explanation never describes another model
 * than the one that scored.
 */
async function explainerFor(dir: string, onnxPath: string, golden: GoldenSet, scores: Float32Array): Promise<Explainer | string> {
  let ex: Explainer;
  let margins: Float64Array;
  try {
    ({ explainer: ex, margins } = await Explainer.loadWithMargins(dir, onnxPath, golden.rows, golden.n));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  for (let r = 0; r < golden.n; r++) {
    const s = ex.score(margins[r]!);
    if (!(Math.abs(s - scores[r]!) <= 1e-5)) return `the tree ensemble read from the ONNX file scores golden row ${r + 1} ${s}, the model ${scores[r]}`;
  }
  return ex;
}
