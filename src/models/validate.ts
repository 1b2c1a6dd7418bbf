/**
 * The checks a candidate model passes before it may serve, in order: its MLmodel signature
 * matches the feature contract, it loads and warms in every worker of a pool of its own, and it
 * scores the golden set with finite values in [0, 1]. ModelManager runs them before a switch;
 * `scoregate model validate` runs the same function and prints each step as it passes.
 */
import { InferencePool, type PoolOptions } from '../inference/pool.js';
import { checkGoldenScores } from './golden.js';
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
  golden: { rows: Float32Array; n: number },
  passed: (step: ValidationStep, detail: string) => void = () => undefined,
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
    const scores = await pool.scoreRows(golden.rows, golden.n);
    const bad = checkGoldenScores(scores);
    if (bad !== null) throw new Error(bad);
    passed('golden', `${golden.n} rows scored, every score finite and in [0, 1]`);
    return pool;
  } catch (err) {
    if (pool !== null) await pool.close().catch(() => undefined);
    throw new ValidationFailed(step, err instanceof Error ? err.message : String(err));
  }
}
