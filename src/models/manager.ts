/**
 * The model lifecycle inside the gateway: validate, warm, switch; keep what was switched from
 * for rollback; run a challenger beside the champion. Every change is serialised (one at a
 * time) and recorded in a bounded history shown by GET /v1/models.
 *
 * A candidate serves only after: its MLmodel signature matches the feature contract, it loads
 * and warms in every worker of a new pool, and it scores its golden set (golden.csv in the model
 * directory) within 1e-5 of the expected scores shipped with it (src/models/golden.ts). Then the scorer's pool reference is switched in one assignment on the event loop:
 * requests already handed to the old pool finish there (their answers name the old version),
 * every later one goes to the new pool, and the old pool closes once it has drained. A
 * candidate that fails any step is rejected with the reason and the old model keeps serving.
 */
import { redactPaths } from '../core/redact.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { InferencePool, PoolOptions } from '../inference/pool.js';
import type { Scorer } from '../scoring/scorer.js';
import type { ModelDescriptor } from './mlmodel.js';
import type { GoldenSet } from './golden.js';
import { validateCandidate } from './validate.js';

/** Where a model comes from: a directory, and the name and version to announce it under. */
export interface ModelSource {
  dir: string;
  name?: string;
  version?: string;
  /** Human-readable origin: "shipped", "MLFLOW models:/fraud-detector@champion", … */
  origin: string;
}

export interface LifecycleEvent {
  at: string;
  action: 'activate' | 'rollback' | 'challenger' | 'challenger-removed' | 'canary';
  name: string | null;
  version: string | null;
  origin: string;
  outcome: 'serving' | 'rejected' | 'removed';
  reason?: string;
  /** Validation and warm-up time before the switch (or the rejection). */
  tookMs?: number;
}

export class ModelRejected extends Error {
  constructor(readonly source: ModelSource, reason: string) {
    super(reason);
    this.name = 'ModelRejected';
  }
}

interface Serving {
  desc: ModelDescriptor;
  source: ModelSource;
  loadedAt: string;
}

const HISTORY_MAX = 50;
const PREVIOUS_MAX = 5;

export class ModelManager {
  private active: Serving | null = null;
  private challenger: Serving | null = null;
  private readonly previous: ModelSource[] = [];
  private readonly history: LifecycleEvent[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly scorer: Scorer,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly poolOptions: PoolOptions,
    /** Rows for models that ship no golden.csv (range check only). */
    private readonly golden: GoldenSet,
  ) {}

  /** Runs lifecycle changes one after another. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f, f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  get activeVersion(): string | null {
    return this.active?.desc.version ?? null;
  }

  get challengerVersion(): string | null {
    return this.challenger?.desc.version ?? null;
  }

  /** Called with each model that starts serving answers, right after the switch (drift follows it). */
  onServing: ((model: ModelDescriptor) => void) | null = null;

  get canaryPercent(): number {
    return this.scorer.canary.percent;
  }

  /**
   * Sets the share of users the challenger answers (0–100). Takes effect on the next request;
   * with no challenger loaded the champion keeps answering every user until one is.
   */
  setCanary(percent: number, by: string): void {
    const before = this.scorer.canary.percent;
    this.scorer.canary.set(percent, by);
    this.metrics.canaryPercent.set(percent);
    if (before === percent) return;
    const c = this.challenger;
    this.record({ action: 'canary', name: c?.desc.name ?? null, version: c?.desc.version ?? null, origin: `${by}: ${before}% → ${percent}% of users answered by the challenger`, outcome: 'serving' });
    this.log.info('canary split', { percent, before, by, challenger: c === null ? null : c.desc.version });
  }

  /** Validates, warms and switches to `source`. Throws ModelRejected; the old model keeps serving. */
  activate(source: ModelSource, action: 'activate' | 'rollback' = 'activate'): Promise<ModelDescriptor> {
    return this.serial(async () => {
      const t0 = performance.now();
      const pool = await this.candidate(source, action, this.poolOptions);
      const tookMs = Math.round(performance.now() - t0);
      const old = this.scorer.pool;
      const oldServing = this.active;
      this.scorer.pool = pool; // the switch
      this.active = { desc: pool.model, source, loadedAt: new Date().toISOString() };
      if (oldServing !== null) {
        this.metrics.modelInfo.remove({ name: oldServing.desc.name, version: oldServing.desc.version });
        if (action === 'activate') {
          this.previous.push(oldServing.source);
          if (this.previous.length > PREVIOUS_MAX) this.previous.shift();
        }
      }
      this.metrics.modelInfo.set({ name: pool.model.name, version: pool.model.version }, 1);
      this.metrics.modelSwaps.inc({ action });
      this.record({ action, name: pool.model.name, version: pool.model.version, origin: source.origin, outcome: 'serving', tookMs });
      this.log.info('model serving', { name: pool.model.name, version: pool.model.version, origin: source.origin, action, tookMs });
      this.onServing?.(pool.model);
      if (old !== null) await old.close(); // drains what it was given, then stops its workers
      return pool.model;
    });
  }

  /** Switches back to the model served before the current one. */
  async rollback(): Promise<ModelDescriptor> {
    // Every answer goes back to the champion first, whatever becomes of the model rollback.
    this.setCanary(0, 'rollback');
    const source = await this.serial(async () => this.previous.pop());
    if (source === undefined) throw new ModelRejected({ dir: '', origin: 'rollback' }, 'there is no previous model to roll back to');
    try {
      return await this.activate(source, 'rollback');
    } catch (err) {
      this.previous.push(source);
      throw err;
    }
  }

  /** Loads a challenger (scored off the response path), or removes it with null. */
  setChallenger(source: ModelSource | null): Promise<ModelDescriptor | null> {
    return this.serial(async () => {
      const old = this.scorer.challenger;
      if (source === null) {
        if (this.scorer.canary.percent !== 0) this.setCanary(0, 'challenger removed');
        this.scorer.challenger = null;
        if (this.challenger !== null) this.record({ action: 'challenger-removed', name: this.challenger.desc.name, version: this.challenger.desc.version, origin: this.challenger.source.origin, outcome: 'removed' });
        this.challenger = null;
        if (old !== null) await old.close();
        return null;
      }
      // One worker is enough off the response path; it never holds up the champion.
      const pool = await this.candidate(source, 'challenger', { ...this.poolOptions, workers: 1 });
      this.scorer.challenger = pool;
      this.challenger = { desc: pool.model, source, loadedAt: new Date().toISOString() };
      this.record({ action: 'challenger', name: pool.model.name, version: pool.model.version, origin: source.origin, outcome: 'serving' });
      this.log.info('challenger scoring', { name: pool.model.name, version: pool.model.version, origin: source.origin });
      if (old !== null) await old.close();
      return pool.model;
    });
  }

  /** Loads and checks a candidate in a pool of its own (validate.ts); rejects with the reason. */
  private async candidate(source: ModelSource, action: LifecycleEvent['action'], opts: PoolOptions): Promise<InferencePool> {
    try {
      const pool = await validateCandidate(source, opts, this.golden, (step, detail, warning) => {
        if (warning === true) this.log.warn('model check passed with a warning', { origin: source.origin, step, detail });
      });
      if (pool.explainer === null) this.log.warn('model serves without explanations', { origin: source.origin, reason: pool.explainUnavailable });
      if (action !== 'challenger') {
        pool.setObserver({
          batch: (rows, seconds) => {
            this.metrics.batchRows.observe(rows);
            this.metrics.batchSeconds.observe(seconds);
          },
        });
      }
      return pool;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.metrics.modelRejections.inc({ action });
      this.record({ action, name: source.name ?? null, version: source.version ?? null, origin: source.origin, outcome: 'rejected', reason });
      this.log.warn('model rejected', { origin: source.origin, version: source.version, reason });
      throw new ModelRejected(source, reason);
    }
  }

  /** Every lifecycle event as it is recorded (the audit trail listens). */
  onLifecycle: ((e: LifecycleEvent) => void) | null = null;

  private record(e: Omit<LifecycleEvent, 'at'>): void {
    // Shown by GET /v1/models: no file-system paths in what is kept.
    const reason = (e as { reason?: string }).reason;
    this.history.push({ at: new Date().toISOString(), ...e, origin: redactPaths(e.origin), ...(reason === undefined ? {} : { reason: redactPaths(reason) }) });
    if (this.history.length > HISTORY_MAX) this.history.shift();
    this.onLifecycle?.(this.history[this.history.length - 1]!);
  }

  /** What GET /v1/models shows. */
  status(): unknown {
    const view = (s: Serving | null): unknown =>
      s === null ? null : { name: s.desc.name, version: s.desc.version, origin: redactPaths(s.source.origin), loadedAt: s.loadedAt };
    return {
      active: view(this.active),
      challenger: view(this.challenger),
      canary: { percent: this.scorer.canary.percent, setBy: this.scorer.canary.setBy, answering: this.challenger !== null && this.scorer.canary.percent > 0 },
      previous: this.previous.map((p) => ({ name: p.name ?? null, version: p.version ?? null, origin: redactPaths(p.origin) })),
      lastRejection: [...this.history].reverse().find((h) => h.outcome === 'rejected') ?? null,
      history: this.history,
    };
  }
}
