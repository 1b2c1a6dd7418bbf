/**
 * The only code that runs in inference threads: one onnxruntime-node session per worker,
 * intra-op threads 1 and spinning off (two cores are shared with the event loop, and a
 * spinning pool would steal it). The module loads and warms its session before it takes tasks;
 * the pool counts warmed workers through a shared Int32Array.
 */
import * as ort from 'onnxruntime-node';
import { workerData } from 'piscina';
import type { ScoreTask, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const F = init.featureCount;

let session: ort.InferenceSession;
let inputName: string;
let outputName: string;

async function runRows(rows: Float32Array, n: number): Promise<Float32Array> {
  const input = new ort.Tensor('float32', rows.length === n * F ? rows : rows.subarray(0, n * F), [n, F]);
  const result = await session.run({ [inputName]: input }, [outputName]);
  const out = result[outputName];
  if (out === undefined) throw new Error(`model produced no ${outputName} output`);
  const data = out.data as Float32Array;
  const scores = new Float32Array(n);
  // [n, 2] class probabilities: the fraud class is column 1. [n] or [n, 1]: the score itself.
  const stride = data.length / n;
  for (let i = 0; i < n; i++) scores[i] = data[i * stride + stride - 1]!;
  return scores;
}

try {
  session = await ort.InferenceSession.create(init.onnxPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const inputs = session.inputNames;
  if (inputs.length !== 1) throw new Error(`model must take one input tensor, it takes ${inputs.length}: ${inputs.join(', ')}`);
  inputName = inputs[0]!;
  const outputs = session.outputNames;
  outputName = outputs.includes('probabilities') ? 'probabilities' : outputs[outputs.length - 1]!;
  await runRows(new Float32Array(F), 1);
  await runRows(new Float32Array(F * init.warmRows), init.warmRows);
  Atomics.add(init.ready, 0, 1);
} catch (err) {
  Atomics.store(init.ready, 1, 1);
  throw err;
}

export default async function score(task: ScoreTask): Promise<Float32Array> {
  return runRows(task.rows, task.n);
}
