/**
 * The inference pool: piscina worker threads, one ONNX session each (or, with workers = 0, one
 * session on the event loop itself), fed by an adaptive micro-batcher. Rows that arrive while every worker is busy wait and leave together in one
 * run(); a row that arrives while a worker is idle leaves at the end of the current event-loop
 * turn (setImmediate), so an idle pool adds no wait, and requests parsed in the same turn
 * share a run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ScoregateError } from '../core/errors.js';
import { FEATURE_COUNT } from '../features/contract.js';
import type { Explainer } from '../explain/explainer.js';
import type { ModelDescriptor } from '../models/mlmodel.js';
import type { ScoreTask, WorkerInit } from './protocol.js';
import { ModelSession } from './session.js';

/** Runs one batch somewhere: in a piscina worker, or inline on this thread. */
interface Executor {
  readonly slots: number;
  run(task: ScoreTask): Promise<Float32Array>;
  close(): Promise<void>;
}

class PiscinaExecutor implements Executor {
  constructor(
    private readonly piscina: Piscina,
    readonly slots: number,
  ) {}
  run(task: ScoreTask): Promise<Float32Array> {
    // The batch's buffer moves to the worker: no copy of the feature matrix.
    return this.piscina.run(task, { transferList: [task.rows.buffer as ArrayBuffer] }) as Promise<Float32Array>;
  }
  close(): Promise<void> {
    return this.piscina.destroy();
  }
}

/**
 * The session on the event loop. A run blocks the loop for its duration (tens of µs for a
 * GBDT batch), but saves the two thread hops a worker costs; which is better is measured in
 * loadtest/ (README's performance section), not guessed.
 */
class InlineExecutor implements Executor {
  readonly slots = 1;
  constructor(private readonly session: ModelSession) {}
  run(task: ScoreTask): Promise<Float32Array> {
    return this.session.run(task.rows, task.n);
  }
  close(): Promise<void> {
    return this.session.release();
  }
}

export interface PoolOptions {
  /** Worker threads; 0 runs the session on the calling (event-loop) thread. */
  workers: number;
  batchMax: number;
  queueMax: number;
  /** How long workers may take to load and warm the model. */
  readyTimeoutMs?: number;
}

export interface PoolObserver {
  batch(rows: number, seconds: number): void;
}

type Resolve = (score: number) => void;
type Reject = (err: Error) => void;

class Batch {
  readonly rows: Float32Array;
  readonly resolves: Resolve[] = [];
  readonly rejects: Reject[] = [];
  n = 0;
  constructor(batchMax: number) {
    this.rows = new Float32Array(batchMax * FEATURE_COUNT);
  }
}

/**
 * The worker's compiled file, beside this one. Under vitest this module runs from
 * src/inference/pool.ts and a thread cannot load TypeScript, so the build's copy serves.
 */
function workerFile(): string {
  const file = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/src/inference/worker.js' : './worker.js', import.meta.url));
  if (!existsSync(file)) throw new Error(`inference worker ${file} not found: run npm run build`);
  return file;
}

export class InferencePool {
  readonly model: ModelDescriptor;
  /** TreeSHAP for this model's scores, set once by validation (src/models/validate.ts); null when it cannot be explained. */
  explainer: Explainer | null = null;
  /** Why there is no explainer. */
  explainUnavailable: string | null = 'not validated';
  /** What answers and events name, one frozen object for every row this pool scores. */
  readonly modelRef: Readonly<{ name: string; version: string }>;
  private readonly executor: Executor;
  private readonly opts: PoolOptions;
  private current: Batch;
  private readonly waiting: Batch[] = [];
  private waitingRows = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private observer: PoolObserver | null = null;
  private readonly flushNow = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private constructor(model: ModelDescriptor, executor: Executor, opts: PoolOptions) {
    this.model = model;
    this.modelRef = Object.freeze({ name: model.name, version: model.version });
    this.executor = executor;
    this.opts = opts;
    this.current = new Batch(opts.batchMax);
  }

  /** Starts the workers and resolves once every one has loaded and warmed the model. */
  static async start(model: ModelDescriptor, opts: PoolOptions): Promise<InferencePool> {
    if (opts.workers === 0) {
      let session: ModelSession;
      try {
        session = await ModelSession.open(model.onnxPath, FEATURE_COUNT);
        await session.warm(opts.batchMax);
      } catch (err) {
        throw new Error(`model ${model.name} ${model.version} failed to load: ${err instanceof Error ? err.message : String(err)}`);
      }
      return new InferencePool(model, new InlineExecutor(session), opts);
    }
    const ready = new Int32Array(new SharedArrayBuffer(8));
    const init: WorkerInit = { onnxPath: model.onnxPath, featureCount: FEATURE_COUNT, warmRows: opts.batchMax, ready };
    const piscina = new Piscina({
      filename: workerFile(),
      minThreads: opts.workers,
      maxThreads: opts.workers,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      workerData: init,
    });
    let workerError: Error | null = null;
    piscina.on('error', (err: Error) => {
      workerError = err;
    });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    while (Atomics.load(ready, 0) < opts.workers) {
      if (Atomics.load(ready, 1) !== 0 || workerError !== null || Date.now() > deadline) {
        await new Promise((r) => setTimeout(r, 50)); // let the worker's error event arrive
        await piscina.destroy().catch(() => undefined);
        const why = workerError !== null ? (workerError as Error).message : Date.now() > deadline ? 'timed out' : 'a worker failed to load it';
        throw new Error(`model ${model.name} ${model.version} failed to load in the inference workers: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return new InferencePool(model, new PiscinaExecutor(piscina, opts.workers), opts);
  }

  setObserver(o: PoolObserver): void {
    this.observer = o;
  }

  /** Rows waiting for a worker (not yet running). */
  get queued(): number {
    return this.waitingRows + this.current.n;
  }

  /**
   * Scores one row of FEATURE_COUNT features at `row[off…]`. The row is copied into the
   * pending batch (26 floats: cheaper than any ownership scheme), so the caller may reuse it.
   */
  score(row: Float32Array, off: number): Promise<number> {
    if (this.closed) return Promise.reject(new ScoregateError('NOT_READY', 'the model is being unloaded'));
    if (this.queued >= this.opts.queueMax) return Promise.reject(new ScoregateError('OVERLOADED'));
    const b = this.current;
    b.rows.set(row.subarray(off, off + FEATURE_COUNT), b.n * FEATURE_COUNT);
    b.n++;
    const p = new Promise<number>((resolve, reject) => {
      b.resolves.push(resolve);
      b.rejects.push(reject);
    });
    if (b.n === this.opts.batchMax) {
      this.waiting.push(b);
      this.waitingRows += b.n;
      this.current = new Batch(this.opts.batchMax);
    }
    if (this.inFlight < this.executor.slots && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return p;
  }

  private flush(): void {
    while (this.inFlight < this.executor.slots) {
      let b = this.waiting.shift();
      if (b !== undefined) this.waitingRows -= b.n;
      else if (this.current.n > 0) {
        b = this.current;
        this.current = new Batch(this.opts.batchMax);
      } else return;
      this.dispatch(b);
    }
  }

  private dispatch(b: Batch): void {
    this.inFlight++;
    const started = performance.now();
    const task: ScoreTask = { rows: b.rows, n: b.n };
    this.executor.run(task).then(
      (scores: Float32Array) => {
        this.observer?.batch(b.n, (performance.now() - started) / 1000);
        for (let i = 0; i < b.n; i++) b.resolves[i]!(scores[i]!);
      },
      (err: unknown) => {
        const e = new ScoregateError('INFERENCE_FAILED', `inference failed: ${err instanceof Error ? err.message : String(err)}`);
        for (let i = 0; i < b.n; i++) b.rejects[i]!(e);
      },
    ).finally(() => {
      this.inFlight--;
      // Rows that queued while this batch ran have waited one run already: send them now.
      if (!this.closed || this.queued > 0) this.flush();
    });
  }

  /** Scores already-built rows directly (tests, warm-up checks, golden sets). */
  async scoreRows(rows: Float32Array, n: number): Promise<Float32Array> {
    const out = new Float32Array(n);
    const ps: Promise<void>[] = [];
    for (let i = 0; i < n; i++) ps.push(this.score(rows, i * FEATURE_COUNT).then((s) => void (out[i] = s)));
    await Promise.all(ps);
    return out;
  }

  /** Stops taking rows, lets queued and running batches finish, then stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    const deadline = Date.now() + 30_000; // a stuck worker must not hang a swap or a shutdown
    while ((this.inFlight > 0 || this.queued > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await this.executor.close();
  }
}
