/**
 * Reads a model's tree ensemble in a thread of its own and computes its margins for the golden
 * rows, so a model swap does not stop the event loop for it: on the shipped model the ONNX
 * parse took 60–90 ms and the margins of 256 golden rows 17–57 ms, each in one block
 * (2-core box, loaded), the largest stalls of the hot-swap run. The ensemble (typed arrays)
 * and the margins come back by structured clone: a memcpy of a few hundred KB.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadEnsemble } from './trees.js';
import { TreeShap } from './treeshap.js';

export interface LoadJob {
  modelDir: string;
  onnxPath: string;
  featureCount: number;
  rows: Float32Array;
  n: number;
  /** Floats per row of `rows`. */
  stride: number;
}

export type LoadResult =
  | { ok: true; ensemble: Awaited<ReturnType<typeof loadEnsemble>>; margins: Float64Array }
  | { ok: false; name: string; message: string };

const job = workerData as LoadJob;
try {
  const ensemble = await loadEnsemble(job.modelDir, job.onnxPath, job.featureCount);
  const shap = new TreeShap(ensemble);
  const margins = new Float64Array(job.n);
  for (let r = 0; r < job.n; r++) margins[r] = shap.margin(job.rows, r * job.stride);
  parentPort!.postMessage({ ok: true, ensemble, margins } satisfies LoadResult);
} catch (err) {
  parentPort!.postMessage({ ok: false, name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } satisfies LoadResult);
}
