/**
 * What a served model explains with: its ensemble's TreeSHAP, loaded with the model, and one
 * scratch buffer for the contributions. Built once per model load (src/models/validate.ts);
 * an InferencePool carries it, so an explanation always comes from the model that scored.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FEATURE_COUNT } from '../features/contract.js';
import type { LoadJob, LoadResult } from './load-thread.js';
import { OnnxReadError } from './onnx-reader.js';
import { topContributors, TOP_K, type Explanation } from './reasons.js';
import { ExplainUnavailable, loadEnsemble } from './trees.js';
import { TreeShap } from './treeshap.js';

/** The thread's compiled file (under vitest this module is TypeScript: the build's copy serves), or null. */
function loadThreadFile(): string | null {
  const file = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/src/explain/load-thread.js' : './load-thread.js', import.meta.url));
  return existsSync(file) ? file : null;
}

export class Explainer {
  private readonly phi = new Float64Array(FEATURE_COUNT + 1);

  private constructor(readonly shap: TreeShap) {}

  /** Loads the ensemble of a model; throws ExplainUnavailable (or OnnxReadError) saying why not. */
  static async load(modelDir: string, onnxPath: string): Promise<Explainer> {
    return new Explainer(new TreeShap(await loadEnsemble(modelDir, onnxPath, FEATURE_COUNT)));
  }

  /**
   * Loads the ensemble and its margins for `n` rows of `rows` in a thread of its own
   * (src/explain/load-thread.ts), so a model swap under load does not stall the event loop;
   * on this thread when the thread's file is not built. Throws as `load` does.
   */
  static async loadWithMargins(modelDir: string, onnxPath: string, rows: Float32Array, n: number): Promise<{ explainer: Explainer; margins: Float64Array }> {
    const file = loadThreadFile();
    const stride = n > 0 ? rows.length / n : FEATURE_COUNT;
    if (file === null) {
      const ex = await Explainer.load(modelDir, onnxPath);
      const margins = new Float64Array(n);
      for (let r = 0; r < n; r++) margins[r] = ex.shap.margin(rows, r * stride);
      return { explainer: ex, margins };
    }
    const job: LoadJob = { modelDir, onnxPath, featureCount: FEATURE_COUNT, rows, n, stride };
    const res = await new Promise<LoadResult>((resolve, reject) => {
      const w = new Worker(file, { workerData: job });
      w.once('message', (m: LoadResult) => {
        resolve(m);
        void w.terminate();
      });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`the explainer's loading thread exited with ${code}`)));
    });
    if (!res.ok) throw res.name === 'OnnxReadError' ? new OnnxReadError(res.message) : res.name === 'ExplainUnavailable' ? new ExplainUnavailable(res.message) : new Error(res.message);
    return { explainer: new Explainer(new TreeShap(res.ensemble)), margins: res.margins };
  }

  /** The model's output for a margin (its link function): what the ONNX graph answers. */
  score(margin: number): number {
    return this.shap.ensemble.link === 'logistic' ? 1 / (1 + Math.exp(-margin)) : margin;
  }

  /** The top contributors of the row at `row[off…]` (exact TreeSHAP over every tree). */
  explain(row: Float32Array, off: number, k = TOP_K): Explanation {
    this.shap.contributions(row, off, this.phi);
    return topContributors(this.phi, row, off, k);
  }

  /** Every feature's contribution and the bias (at [FEATURE_COUNT]), into `out`. */
  contributions(row: Float32Array, off: number, out: Float64Array): void {
    this.shap.contributions(row, off, out);
  }
}
