/**
 * The only code that runs in inference threads: one ModelSession per worker. The module loads
 * and warms its session before it takes tasks; the pool counts warmed workers through a shared
 * Int32Array.
 */
import { workerData } from 'piscina';
import type { ScoreTask, WorkerInit } from './protocol.js';
import { ModelSession } from './session.js';

const init = workerData as WorkerInit;
let session: ModelSession;

try {
  session = await ModelSession.open(init.onnxPath, init.featureCount);
  await session.warm(init.warmRows);
  Atomics.add(init.ready, 0, 1);
} catch (err) {
  Atomics.store(init.ready, 1, 1);
  throw err;
}

export default async function score(task: ScoreTask): Promise<Float32Array> {
  return session.run(task.rows, task.n);
}
