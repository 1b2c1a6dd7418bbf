/** What the pool and its workers pass to each other. */
export interface WorkerInit {
  onnxPath: string;
  featureCount: number;
  /** Rows in the warm-up batch (the pool's batch cap), so the first real batch is not cold. */
  warmRows: number;
  /** [0]: workers warmed so far; [1]: set to 1 by a worker that failed to load. */
  ready: Int32Array;
}

export interface ScoreTask {
  /** n rows of featureCount float32 each, row-major; transferred, not copied. */
  rows: Float32Array;
  n: number;
}
