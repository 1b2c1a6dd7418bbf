/**
 * The gateway: one process wiring transport (http/, ws/) → quality → features → inference →
 * sink, on embedded defaults (no Kafka, no MLflow) unless later modules replace the sink.
 */
import uWS, { type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { OIP_ROUTES, attachOip } from './api/oip.js';
import type { Config } from './core/config.js';
import { ScoregateError, errorJson } from './core/errors.js';
import { Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import type { FeatureEngine } from './features/engine.js';
import { attachApiDocs, DOC_ROUTES } from './api/routes.js';
import { attachAdmin } from './http/admin.js';
import { Exchange } from './http/respond.js';
import { createApp, schemeOf } from './http/tls.js';
import { batchRoute, scoreRoute } from './http/score.js';
import { type ModelDescriptor } from './models/mlmodel.js';
import type { ModelManager } from './models/manager.js';
import { RegistryFollower } from './models/follower.js';
import { HookRoutes } from './http/hooks.js';
import { AdmissionLimiter } from './admission/limiter.js';
import { AccessControl } from './auth/access.js';
import { AuditTrail, FailureBurst, type AuditEntry } from './audit/trail.js';
import { Auth } from './auth/auth.js';
import { FALLBACK_REASONS } from './admission/fallback.js';
import { atRestCipher, buildPipeline } from './scoring/pipeline.js';
import type { Scorer } from './scoring/scorer.js';
import type { EventSink } from './sink/events.js';
import { FileSink } from './sink/file.js';
import { StreamRoute } from './ws/stream.js';
import { attachStatusPage } from './ui/routes.js';
import { attachMonitoring, MONITORING_ROUTES } from './http/monitoring.js';
import { DriftMonitor } from './monitoring/drift.js';
import { Monitor } from './monitoring/monitor.js';
import { OutcomeTracker, labelFromRecord } from './monitoring/outcomes.js';
import { Kafka, logLevel } from 'kafkajs';
import { FeatureFeed } from './kafka/feed.js';
import { prepareTopics } from './cluster/topics.js';
import { Cluster } from './cluster/cluster.js';
import { FORWARD_PATH, peerAuthorizer } from './cluster/forward.js';
import { Registry } from './kafka/registry.js';
import { kafkaSecurity, registryCredentials } from './kafka/security.js';
import { mlflowClientOptions } from './models/mlflow-credentials.js';
import { KafkaSink } from './kafka/sink.js';
import { Spool } from './sink/spool.js';
import type { RecordCipher } from './sink/cipher.js';

export interface GatewayOptions {
  sink?: EventSink;
  log?: Logger;
}

/** Stands in until the Kafka sink is connected; nothing is scored before then (not ready). */
const NO_SINK: EventSink = {
  accepting: () => false,
  scored: () => Promise.reject(new Error('no sink yet')),
  deadLetter: () => undefined,
  close: async () => undefined,
};

const ROUTES: Record<string, string> = {
  '/v1/score': 'POST',
  '/v1/score/batch': 'POST',
  '/healthz': 'GET',
  '/readyz': 'GET',
  '/metrics': 'GET',
  '/v1/models': 'GET',
  '/v1/models/reload': 'POST',
  '/v1/models/rollback': 'POST',
  '/hooks/mlflow': 'POST',
  '/hooks/databricks': 'POST',
  ...OIP_ROUTES,
  '/ui': 'GET',
  '/v1/status': 'GET',
  '/v1/users/:userId/window': 'GET',
  '/v1/audit': 'GET',
  '/v1/stream': 'GET',
  ...DOC_ROUTES,
  ...MONITORING_ROUTES,
};

export class Gateway {
  readonly metrics = new Metrics();
  readonly engine: FeatureEngine;
  sink: EventSink;
  private feed: FeatureFeed | null = null;
  private cluster: Cluster | null = null;
  private kafkaSink: KafkaSink | null = null;
  readonly scorer: Scorer;
  readonly limiter: AdmissionLimiter;
  readonly auth: Auth;
  private readonly access: AccessControl;
  readonly audit: AuditTrail;
  readonly log: Logger;
  private readonly app: TemplatedApp;
  private readonly stream: StreamRoute;
  private listenSocket: us_listen_socket | null = null;
  private spool: Spool | null = null;
  /** Encryption at rest of the spool and the local sink files (SINK_KEYRING_FILE); null: in clear. */
  private readonly cipher: RecordCipher | null;
  readonly models: ModelManager;
  readonly follower: RegistryFollower | null;
  readonly drift: DriftMonitor;
  readonly outcomes: OutcomeTracker;
  private stopping = false;
  port = 0;

  constructor(readonly config: Config, options: GatewayOptions = {}) {
    this.log = options.log ?? new Logger(config.logLevel);
    // Checks the auth settings (and refuses a non-loopback HOST without credentials) before
    // anything listens; throws ConfigError naming the setting.
    this.auth = Auth.create(config, { onError: (err) => this.log.warn('authentication', { error: err.message }) });
    this.access = new AccessControl(this.auth, config.adminToken);
    this.cipher = atRestCipher(config);
    this.audit = new AuditTrail(config.auditFile, this.cipher);
    const burst = new FailureBurst(config.auditAuthFailuresPerMin, 60_000, (count) =>
      this.record({ user: 'unknown', action: 'auth.failures', resource: 'gateway', outcome: 'denied', details: { failuresInMinute: count } }),
    );
    this.access.onUnauthenticated = () => burst.failed('');
    // With Kafka configured, start() swaps in the Kafka sink before anything is scored.
    this.sink = options.sink ?? (config.kafkaBrokers === '' ? new FileSink(config.dataDir, config.sinkFileMaxBytes, this.cipher) : NO_SINK);
    const pipeline = buildPipeline(config, this.sink, this.metrics, this.log);
    this.engine = pipeline.engine;
    this.scorer = pipeline.scorer;
    this.models = pipeline.models;
    this.limiter = new AdmissionLimiter({ targetMs: config.admissionTargetMs, minLimit: config.admissionMinLimit, maxLimit: config.admissionMaxLimit });
    // Drift against the serving model's baseline, outcomes joined to answers (src/monitoring/).
    this.drift = new DriftMonitor({ windowRows: config.driftWindowRows, threshold: config.driftPsiThreshold, minRows: config.driftMinRows }, this.metrics.registry, this.log);
    this.outcomes = new OutcomeTracker({ maxEntries: config.labelJoinMaxEntries, ttlMs: config.labelJoinTtlS * 1000, window: config.outcomeWindow }, this.metrics.registry);
    this.scorer.watch = new Monitor(this.drift, this.outcomes, this.metrics.answersByModel);
    this.models.onServing = (model) => this.drift.use(model);
    this.models.onLifecycle = (e) =>
      this.record({
        user: 'system:model-lifecycle',
        action: `model.${e.action}`,
        resource: `model:${e.name ?? '?'}@${e.version ?? '?'}`,
        outcome: e.outcome === 'rejected' ? 'rejected' : 'success',
        details: { origin: e.origin, ...(e.reason === undefined ? {} : { reason: e.reason }) },
      });
    this.follower =
      config.mlflowTrackingUri === ''
        ? null
        : new RegistryFollower(this.models, this.log, {
            trackingUri: config.mlflowTrackingUri,
            modelName: config.mlflowModelName,
            championAlias: config.mlflowChampionAlias,
            challengerAlias: config.mlflowChallengerAlias,
            cacheDir: config.modelCacheDir,
            client: mlflowClientOptions(config),
            cipher: this.cipher,
          });
    this.stream = new StreamRoute(this.scorer, this.metrics, {
      idleTimeoutS: config.wsIdleTimeoutS,
      maxPayloadBytes: config.wsMaxPayloadBytes,
      maxBackpressureBytes: config.wsMaxBackpressureBytes,
      maxInFlight: config.wsMaxInFlight,
      batchMaxItems: config.batchMaxItems,
      budgetMs: config.requestBudgetMs,
      limiter: this.limiter,
      access: this.access,
      ...(config.clusterShards ? { self: () => this.advertisedUrl() } : {}),
    });
    this.scorer.onSinkError = (err) => this.log.error('sink refused an event', { error: String(err) });
    this.scorer.gate = () => {
      if (this.stopping) return 'shutting down';
      if (this.config.kafkaBrokers !== '' && this.kafkaSink === null) return 'connecting to Kafka and the schema registry';
      if (this.feed !== null && !this.feed.caughtUp) return 'replaying Kafka into the feature windows';
      return null;
    };
    this.app = this.buildApp();
    this.metrics.sampler = {
      windowUsers: () => this.engine.userCount,
      windowBytes: () => this.engine.bytes,
      lateEvents: () => this.engine.lateDropped,
      inferenceQueue: () => this.scorer.pool?.queued ?? 0,
      spoolBytes: () => this.spool?.pendingBytes ?? 0,
      spoolRecords: () => this.spool?.pendingRecords ?? 0,
      spoolFull: () => this.spool?.full ?? false,
      admissionLimit: () => this.limiter.limit,
      rememberedAnswers: () => this.scorer.answers.size,
      ready: () => this.notReadyReason() === null,
      clusterPartitions: () => {
        const s = this.cluster?.shards;
        return s == null ? undefined : { owned: s.owned.size, rebuilding: s.rebuilding.size };
      },
    };
    const m = this.metrics;
    m.spoolMaxBytes.set(config.spoolMaxBytes);
    // Label values known in advance are exported at 0 from the start: rate() cannot see a
    // series' first increment, and the alerts' ratios (deploy/prometheus) need their numerator
    // to exist before the first shed, fallback or rejection.
    for (const transport of ['http', 'ws']) m.shed.inc({ transport }, 0);
    for (const reason of FALLBACK_REASONS) m.fallbacks.inc({ reason }, 0);
    for (const action of ['activate', 'rollback', 'challenger']) m.modelRejections.inc({ action }, 0);
  }

  private buildApp(): TemplatedApp {
    const app = createApp(this.config); // uWS.App(), or SSLApp with TLS_CERT_FILE/TLS_KEY_FILE
    const m = this.metrics;
    // Label children resolved once: observing a histogram by label object hashes it per call.
    const children = new Map<string, ReturnType<typeof m.requestSeconds.labels>>();
    const observe = (route: 'score' | 'batch', status: number, seconds: number): void => {
      const key = route + status;
      let h = children.get(key);
      if (h === undefined) children.set(key, (h = m.requestSeconds.labels(route, String(status))));
      h.observe(seconds);
    };
    const shed = m.shed.labels('http');
    const opts = {
      maxBodyBytes: this.config.maxBodyBytes,
      batchMaxItems: this.config.batchMaxItems,
      budgetMs: this.config.requestBudgetMs,
      lingerBytes: this.config.bodyLingerBytes,
      limiter: this.limiter,
      authorize: (authorization: string) => this.access.check(authorization, 'scorer'),
      onShed: () => shed.inc(),
      observe,
      ...(this.config.clusterShards ? { self: () => this.advertisedUrl() } : {}),
    };
    app.post('/v1/score', scoreRoute(this.scorer, opts));
    app.post('/v1/score/batch', batchRoute(this.scorer, opts));
    // Scale-out (CLUSTER_SHARDS): requests forwarded by other instances, authenticated as a hop
    // (CLUSTER_SECRET) when credentials are configured; the caller was checked where it came in.
    if (this.config.clusterShards) app.post(FORWARD_PATH, scoreRoute(this.scorer, { ...opts, authorize: peerAuthorizer(this.auth.enabled, this.config.clusterSecret), forwarded: true }));
    attachAdmin(app, m, {
      notReadyReason: () => this.notReadyReason(),
      models: () => this.models.status(),
      window: (userId) => this.engine.snapshot(userId),
      onWindowRead: (who, userId, found) => {
        const w = found ? this.engine.snapshot(userId) : undefined;
        this.record({ user: who, action: 'window.read', resource: `user:${userId}/window`, outcome: found ? 'success' : 'failure', records_accessed: w?.ts.length ?? 0 });
      },
      audit: (opts) => this.audit.read(opts),
    }, this.access);
    new HookRoutes(this.models, this.follower, this.log, {
      mlflowSecret: this.config.mlflowWebhookSecret,
      databricksSecret: this.config.databricksWebhookSecret,
      maxAgeS: this.config.webhookMaxAgeS,
      access: this.access,
      audit: (e) => this.record(e),
      championAlias: this.config.mlflowChampionAlias,
      challengerAlias: this.config.mlflowChallengerAlias,
      modelName: this.config.mlflowModelName,
    }).attach(app);
    attachMonitoring(app, { access: this.access, drift: this.drift, outcomes: this.outcomes, models: this.models, batchMaxItems: this.config.batchMaxItems, audit: (e) => this.record(e) });
    this.stream.attach(app);
    attachOip(app, this.config, { active: () => this.scorer.pool, challenger: () => this.scorer.challenger, authorize: (a) => this.access.check(a, 'scorer') });
    attachStatusPage(app, { metrics: m, models: () => this.models.status(), notReadyReason: () => this.notReadyReason(), kafka: this.config.kafkaBrokers !== '', access: this.access });
    // uWS passes a GET without the WebSocket handshake on to the next handler: say what is missing.
    app.get('/v1/stream', (res) => {
      new Exchange(res).send(426, errorJson('UPGRADE_REQUIRED'), false, 'application/json', 'upgrade', 'websocket');
    });
    attachApiDocs(app, this.config);
    for (const [path, method] of Object.entries(ROUTES)) {
      app.any(path, (res) => {
        // RFC 9110 §15.5.6: a 405 names the allowed methods in Allow.
        new Exchange(res).send(405, errorJson('METHOD_NOT_ALLOWED', `${path} takes ${method}`), true, 'application/json', 'allow', method);
      });
    }
    app.any('/*', (res, req) => {
      new Exchange(res).send(404, errorJson('NOT_FOUND', `no route ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}`), true);
    });
    return app;
  }

  /** This instance's HTTP address as other instances reach it (CLUSTER_ADVERTISED_URL, else as listening). */
  private advertisedUrl(): string {
    const c = this.config;
    return c.clusterAdvertisedUrl || `${schemeOf(c)}://${c.host}:${this.port}`;
  }

  /** One audit record; an audit file that cannot be written is logged, never crashes the request. */
  private record(e: AuditEntry): void {
    try {
      this.audit.record(e);
    } catch (err) {
      this.log.error('audit record could not be written', { action: e.action, error: String(err) });
    }
  }

  notReadyReason(): string | null {
    if (this.scorer.pool === null) return 'model not loaded and warmed yet';
    const gate = this.scorer.gate();
    if (gate !== null) return gate;
    if (this.spool?.full === true) return 'event spool full: Kafka unreachable for too long';
    if (!this.sink.accepting()) return 'the event sink refuses writes (disk full or I/O error)';
    return null;
  }

  /** Listens, then loads the model and (if configured) joins Kafka; resolves when ready. */
  async start(): Promise<void> {
    this.auth.watch((err) => (err === null ? this.log.info('API keys reloaded') : this.log.warn('API keys file could not be reloaded: the previous keys stay in force', { error: err.message })));
    await this.listen();
    this.drift.start();
    if (this.config.windowPreloadUsers > 0) this.preload(this.config.windowPreloadUsers);
    // Both settle before a failure is thrown: exiting while the model session is being built
    // aborts the process (exit 134) instead of the refusal's exit 2.
    const results = await Promise.allSettled([this.startModels(), this.config.kafkaBrokers === '' ? Promise.resolve() : this.startKafka()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * The first model: with MLflow configured, the version the champion alias points at (and the
   * challenger's); if MLflow cannot be reached, the model in MODEL_DIR serves meanwhile and the
   * gateway keeps following the registry. Without MLflow, MODEL_DIR.
   */
  private async startModels(): Promise<void> {
    const f = this.follower;
    if (f !== null) {
      try {
        await f.syncChampion('start');
      } catch (err) {
        this.log.warn('MLflow champion not loaded at start: serving MODEL_DIR until it is', { error: String(err) });
        await this.loadModel(this.config.modelDir);
      }
      await f.syncChallenger('start').catch((err: unknown) => this.log.warn('challenger not loaded at start', { error: String(err) }));
      if (this.config.mlflowPollMs > 0) f.startPolling(this.config.mlflowPollMs);
      return;
    }
    await this.loadModel(this.config.modelDir);
    const ch = this.config.challengerModelDir;
    if (ch !== '') await this.models.setChallenger({ dir: ch, origin: `CHALLENGER_MODEL_DIR ${ch}` }).catch((err: unknown) => this.log.warn('challenger not loaded at start', { error: String(err) }));
  }

  /**
   * Registers the output schemas (retrying until the registry answers), opens the spool,
   * starts the sender and the feed, and waits for the feed's replay to catch up.
   */
  private async startKafka(): Promise<void> {
    const c = this.config;
    const kafka = new Kafka({
      clientId: c.kafkaClientId,
      brokers: c.kafkaBrokers.split(',').map((b) => b.trim()),
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
      ...kafkaSecurity(c), // KAFKA_SSL, KAFKA_SASL_*
    });
    const registry = new Registry(c.schemaRegistryUrl, registryCredentials(c));
    let ids;
    for (let attempt = 1; ; attempt++) {
      try {
        ids = await registry.registerOutputs(c.topicScored, c.topicDlq);
        break;
      } catch (err) {
        if (this.stopping) return;
        this.log.warn('schema registry not reachable yet', { url: c.schemaRegistryUrl, attempt, error: String(err) });
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
      }
    }
    this.spool = Spool.open(c.spoolDir, {
      maxBytes: c.spoolMaxBytes,
      fsync: c.spoolFsync,
      cipher: this.cipher,
      onCorrupt: (code, seg, off) => {
        this.metrics.spoolCorrupt.inc({ code });
        this.log.error('spool record cannot be opened: skipped, the rest drains', { code, segment: seg, offset: off });
      },
    });
    // The seed's topic layout, checked (or created) before anything reads or writes: a refusal
    // (TopicError, naming the topic) ends start() and the process exits 2.
    const layout = await prepareTopics(kafka, c, this.log, () => this.stopping);
    if (layout === null) return;
    // Scale-out (src/cluster/): with CLUSTER_SHARDS, join the shared group first: the feed keeps
    // only the users this instance owns.
    const cluster = new Cluster(kafka, c, layout, this.engine, this.log, this.metrics, () => this.advertisedUrl());
    this.cluster = cluster;
    await cluster.join();
    // Kafka may still be electing leaders or be briefly away: keep trying, not ready meanwhile.
    for (let attempt = 1; ; attempt++) {
      const feed = new FeatureFeed(kafka, registry, this.engine, this.metrics, this.log, {
        topics: cluster.feedTopics(),
        groupId: cluster.feedGroupId(),
        ...cluster.feedHooks(),
        lookbackMs: FeatureFeed.lookback(c.allowedLatenessMs),
        scoredTopic: c.topicScored,
        answers: this.scorer.answers,
        labels: { topic: c.topicLabels, take: (value) => this.takeLabel(value) },
      });
      try {
        await feed.start();
        this.feed = feed;
        break;
      } catch (err) {
        await feed.stop();
        if (this.stopping) return;
        this.log.warn('kafka not reachable yet', { brokers: c.kafkaBrokers, attempt, error: String(err) });
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
      }
    }
    const sink = new KafkaSink(kafka, this.spool, ids, { topicScored: c.topicScored, topicDlq: c.topicDlq, topicAudit: c.topicAudit, batchMax: c.kafkaBatchMax, lingerMs: c.kafkaLingerMs, ackBeforeAnswer: c.clusterShards }, this.metrics, this.log);
    sink.start();
    this.sink = sink;
    this.scorer.sink = sink;
    this.kafkaSink = sink;
    this.audit.forward = (json) => sink.audit(json);
    this.log.info('kafka sink ready', { schemaIds: ids, spooled: this.spool.pendingRecords });
    await cluster.start(this.scorer, this.feed, sink);
    await this.feed.caughtUpPromise;
  }

  /** One record of the labels topic (JSON) joined to its answer; unreadable ones are counted. */
  private takeLabel(value: Buffer): string {
    const l = labelFromRecord(value);
    if (l === null) {
      this.outcomes.invalid();
      return 'invalid';
    }
    return this.outcomes.label(l);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.config.host, this.config.port, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${this.config.host}:${this.config.port} (PORT): address in use or not allowed`));
        this.listenSocket = token;
        this.port = uWS.us_socket_local_port(token);
        this.log.info('listening', { host: this.config.host, port: this.port, scheme: schemeOf(this.config) });
        resolve();
      });
    });
  }

  /** Benchmarking: synthetic users in the windows (ids `preload-<n>`, never seen in real traffic). */
  private preload(users: number): void {
    const t0 = Date.now();
    for (let e = 0; e < 3; e++) {
      for (let u = 0; u < users; u++) {
        this.engine.ingest({ transactionId: `preload-${u}-${e}`, userId: `preload-${u}`, timestamp: t0 - (3 - e) * 60_000, amount: 10 + (u % 500), merchantId: `pm-${u % 5000}` }, true);
      }
    }
    this.log.info('windows preloaded', { users, events: users * 3, ms: Date.now() - t0, rssMiB: Math.round(process.memoryUsage().rss / 1048576) });
  }

  /** Validates, warms and switches to the MLflow model directory `dir`. */
  loadModel(dir: string, version?: string): Promise<ModelDescriptor> {
    return this.models.activate(version === undefined ? { dir, origin: `MODEL_DIR ${dir}` } : { dir, version, origin: `MODEL_DIR ${dir}` });
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
    this.follower?.stop();
    this.drift.stop();
    this.auth.close();
    const pool = this.scorer.pool;
    if (pool !== null) await pool.close();
    await this.scorer.challenger?.close();
    await new Promise((r) => setImmediate(r)); // let the last scored events reach the sink
    await this.cluster?.stop();
    await this.feed?.stop();
    await this.sink.close();
    this.log.info('stopped');
  }
}
