/**
 * The gateway: one process wiring transport (http/, ws/) → quality → features → inference →
 * sink, on embedded defaults (no Kafka, no MLflow) unless later modules replace the sink.
 */
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { Config } from './core/config.js';
import { ScoregateError, errorJson } from './core/errors.js';
import { Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import { FeatureEngine } from './features/engine.js';
import { attachAdmin } from './http/admin.js';
import { Exchange } from './http/respond.js';
import { batchRoute, scoreRoute } from './http/score.js';
import { InferencePool } from './inference/pool.js';
import { readModelDir, type ModelDescriptor } from './models/mlmodel.js';
import { Scorer } from './scoring/scorer.js';
import type { EventSink } from './sink/events.js';
import { FileSink } from './sink/file.js';
import { StreamRoute } from './ws/stream.js';

export interface GatewayOptions {
  sink?: EventSink;
  log?: Logger;
}

interface ActiveModel extends ModelDescriptor {
  loadedAt: string;
}

const ROUTES: Record<string, string> = {
  '/v1/score': 'POST',
  '/v1/score/batch': 'POST',
  '/healthz': 'GET',
  '/readyz': 'GET',
  '/metrics': 'GET',
  '/v1/models': 'GET',
};

export class Gateway {
  readonly metrics = new Metrics();
  readonly engine: FeatureEngine;
  readonly sink: EventSink;
  readonly scorer: Scorer;
  readonly log: Logger;
  private readonly app: TemplatedApp;
  private readonly stream: StreamRoute;
  private listenSocket: us_listen_socket | null = null;
  private active: ActiveModel | null = null;
  private stopping = false;
  port = 0;

  constructor(readonly config: Config, options: GatewayOptions = {}) {
    this.log = options.log ?? new Logger(config.logLevel);
    this.engine = new FeatureEngine({
      maxUsers: config.windowMaxUsers,
      maxBytes: config.windowMaxBytes,
      maxEventsPerUser: config.windowMaxEventsPerUser,
      allowedLatenessMs: config.allowedLatenessMs,
      seenIdsMax: config.seenIdsMax,
    });
    this.sink = options.sink ?? new FileSink(config.dataDir, config.sinkFileMaxBytes);
    this.scorer = new Scorer(this.engine, this.sink, this.metrics);
    this.stream = new StreamRoute(this.scorer, this.metrics, {
      idleTimeoutS: config.wsIdleTimeoutS,
      maxPayloadBytes: config.wsMaxPayloadBytes,
      maxBackpressureBytes: config.wsMaxBackpressureBytes,
      maxInFlight: config.wsMaxInFlight,
      batchMaxItems: config.batchMaxItems,
    });
    this.app = this.buildApp();
    this.metrics.sampler = {
      windowUsers: () => this.engine.userCount,
      windowBytes: () => this.engine.bytes,
      lateEvents: () => this.engine.lateDropped,
      inferenceQueue: () => this.scorer.pool?.queued ?? 0,
    };
  }

  private buildApp(): TemplatedApp {
    const app = uWS.App();
    const m = this.metrics;
    // Label children resolved once: observing a histogram by label object hashes it per call.
    const children = new Map<string, ReturnType<typeof m.requestSeconds.labels>>();
    const observe = (route: 'score' | 'batch', status: number, seconds: number): void => {
      const key = route + status;
      let h = children.get(key);
      if (h === undefined) children.set(key, (h = m.requestSeconds.labels(route, String(status))));
      h.observe(seconds);
    };
    const opts = { maxBodyBytes: this.config.maxBodyBytes, batchMaxItems: this.config.batchMaxItems, observe };
    app.post('/v1/score', scoreRoute(this.scorer, opts));
    app.post('/v1/score/batch', batchRoute(this.scorer, opts));
    attachAdmin(app, m, {
      notReadyReason: () => (this.stopping ? 'shutting down' : this.scorer.ready ? null : 'model not loaded and warmed yet'),
      models: () => ({ active: this.active }),
    });
    this.stream.attach(app);
    for (const [path, method] of Object.entries(ROUTES)) {
      app.any(path, (res) => {
        new Exchange(res).sendError(new ScoregateError('METHOD_NOT_ALLOWED', `${path} takes ${method}`), true);
      });
    }
    app.any('/*', (res, req) => {
      new Exchange(res).send(404, errorJson('NOT_FOUND', `no route ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}`), true);
    });
    return app;
  }

  /** Listens, then loads and warms the model; resolves when ready to score. */
  async start(): Promise<void> {
    await this.listen();
    await this.loadModel(this.config.modelDir);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.config.host, this.config.port, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${this.config.host}:${this.config.port} (PORT): address in use or not allowed`));
        this.listenSocket = token;
        this.port = uWS.us_socket_local_port(token);
        this.log.info('listening', { host: this.config.host, port: this.port });
        resolve();
      });
    });
  }

  /** Loads an MLflow model directory into a new warmed pool and switches to it. */
  async loadModel(dir: string, version?: string): Promise<ModelDescriptor> {
    const desc = await readModelDir(dir, version);
    const pool = await InferencePool.start(desc, {
      workers: this.config.inferenceWorkers,
      batchMax: this.config.inferenceBatchMax,
      queueMax: this.config.inferenceQueueMax,
    });
    pool.setObserver({
      batch: (rows, seconds) => {
        this.metrics.batchRows.observe(rows);
        this.metrics.batchSeconds.observe(seconds);
      },
    });
    const old = this.scorer.pool;
    this.scorer.pool = pool; // the switch: requests from now on score with the new pool
    if (this.active !== null) this.metrics.modelInfo.remove({ name: this.active.name, version: this.active.version });
    this.active = { ...desc, loadedAt: new Date().toISOString() };
    this.metrics.modelInfo.set({ name: desc.name, version: desc.version }, 1);
    this.log.info('model ready', { name: desc.name, version: desc.version, dir: desc.dir, workers: this.config.inferenceWorkers });
    if (old !== null) await old.close();
    return desc;
  }

  /** Stops accepting, answers what is in flight, closes connections, pool and sink. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.listenSocket !== null) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    const deadline = Date.now() + 10_000;
    while ((this.stream.inFlight > 0 || (this.scorer.pool?.queued ?? 0) > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.stream.closeAll('server shutting down');
    const pool = this.scorer.pool;
    if (pool !== null) await pool.close();
    await this.sink.close();
    this.log.info('stopped');
  }
}
