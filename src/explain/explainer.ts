/**
 * What a served model explains with: its ensemble's TreeSHAP, loaded with the model, and one
 * scratch buffer for the contributions. Built once per model load (src/models/validate.ts);
 * an InferencePool carries it, so an explanation always comes from the model that scored.
 */
import { FEATURE_COUNT } from '../features/contract.js';
import { topContributors, TOP_K, type Explanation } from './reasons.js';
import { loadEnsemble } from './trees.js';
import { TreeShap } from './treeshap.js';

export class Explainer {
  private readonly phi = new Float64Array(FEATURE_COUNT + 1);

  private constructor(readonly shap: TreeShap) {}

  /** Loads the ensemble of a model; throws ExplainUnavailable (or OnnxReadError) saying why not. */
  static async load(modelDir: string, onnxPath: string): Promise<Explainer> {
    return new Explainer(new TreeShap(await loadEnsemble(modelDir, onnxPath, FEATURE_COUNT)));
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
