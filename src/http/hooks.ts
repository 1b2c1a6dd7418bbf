/**
 * Model-registry hooks and the model admin calls.
 *   POST /hooks/mlflow      MLflow model-registry webhooks (X-MLflow-Signature); an alias set on
 *                           the followed model promotes (champion) or loads a challenger.
 *   POST /hooks/databricks  Databricks workspace registry webhooks (X-Databricks-Signature);
 *                           MODEL_VERSION_TRANSITIONED_TO_PRODUCTION promotes.
 *   POST /v1/models/reload  (admin) resolve the aliases again now.
 *   POST /v1/models/rollback (admin) serve the previous model again.
 * A verified delivery is answered 202 at once and acted on in the background (the sender
 * does not wait for a model download); the outcome shows in GET /v1/models and the metrics.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { AuditEntry } from '../audit/trail.js';
import { settle, type AccessControl } from '../auth/access.js';
import { ScoregateError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { RegistryFollower } from '../models/follower.js';
import { ModelRejected, type ModelManager } from '../models/manager.js';
import { readRawBody } from './body.js';
import { Exchange } from './respond.js';
import { DeliveryLog, safeEqual, timestampMs, verifyDatabricks, verifyMlflow } from './signatures.js';

export interface HookOptions {
  mlflowSecret: string;
  databricksSecret: string;
  maxAgeS: number;
  access: AccessControl;
  /** Refused deliveries and operator calls go to the audit trail. */
  audit: (e: AuditEntry) => void;
  championAlias: string;
  challengerAlias: string;
  modelName: string;
}

const HOOK_BODY_LIMIT = 256 * 1024;

function lifecycleError(err: unknown): ScoregateError {
  if (err instanceof ModelRejected) return new ScoregateError('MODEL_REJECTED', `model rejected: ${err.message}`);
  if (err instanceof ScoregateError) return err;
  return new ScoregateError('REGISTRY_UNAVAILABLE', `model registry: ${err instanceof Error ? err.message : String(err)}`);
}

/** A uWS callback that answers 500 instead of letting an exception reach the event loop. */
function guarded<T>(ex: Exchange, f: (arg: T) => void): (arg: T) => void {
  return (arg) => {
    try {
      f(arg);
    } catch {
      ex.sendError(new ScoregateError('INTERNAL'));
    }
  };
}

export class HookRoutes {
  private readonly deliveries = new DeliveryLog();

  constructor(
    private readonly manager: ModelManager,
    private readonly follower: RegistryFollower | null,
    private readonly log: Logger,
    private readonly opts: HookOptions,
  ) {}

  attach(app: TemplatedApp): void {
    app.post('/hooks/mlflow', (res, req) => this.mlflow(res, req));
    app.post('/hooks/databricks', (res, req) => this.databricks(res, req));
    app.post('/v1/models/reload', (res, req) => this.admin(res, req, 'model.reload', () => this.reload()));
    app.post('/v1/models/rollback', (res, req) => this.admin(res, req, 'model.rollback', async () => {
      // Rollback returns every answer to the champion: the canary split goes back to 0.
      const model = await this.manager.rollback();
      return { status: 'serving', model: { name: model.name, version: model.version }, canaryPercent: this.manager.canaryPercent };
    }));
  }

  private fresh(ts: number): boolean {
    return Number.isFinite(ts) && Math.abs(Date.now() - ts) <= this.opts.maxAgeS * 1000;
  }

  private mlflow(res: HttpResponse, req: HttpRequest): void {
    const ex = new Exchange(res);
    res.onAborted(() => (ex.aborted = true));
    const signature = req.getHeader('x-mlflow-signature');
    const deliveryId = req.getHeader('x-mlflow-delivery-id');
    const timestamp = req.getHeader('x-mlflow-timestamp');
    readRawBody(res, HOOK_BODY_LIMIT, guarded(ex, (body) => {
      if (body === null) return ex.sendError(new ScoregateError('BODY_TOO_LARGE'), true);
      if (!verifyMlflow(this.opts.mlflowSecret, signature, deliveryId, timestamp, body)) {
        this.log.warn('webhook refused: bad signature', { sender: 'mlflow', deliveryId });
        return this.refuse(ex, res, '/hooks/mlflow', new ScoregateError('INVALID_SIGNATURE', 'X-MLflow-Signature does not verify against the body', 'x-mlflow-signature'));
      }
      if (!this.fresh(timestampMs(timestamp))) return this.refuse(ex, res, '/hooks/mlflow', new ScoregateError('STALE_DELIVERY', `delivery timestamp ${timestamp} is outside ±${this.opts.maxAgeS} s`, 'x-mlflow-timestamp'));
      let payload: { entity?: unknown; action?: unknown; data?: Record<string, unknown> };
      try {
        payload = JSON.parse(body.toString('utf8')) as typeof payload;
      } catch {
        return ex.sendError(new ScoregateError('INVALID_JSON', 'webhook body is not JSON'));
      }
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        return ex.sendError(new ScoregateError('INVALID_BODY', 'webhook body must be a JSON object'));
      }
      if (typeof payload.data !== 'object' || payload.data === null) payload.data = {};
      const deliveryKey = `mlflow:${deliveryId}`;
      if (!this.deliveries.add(deliveryKey)) return ex.send(200, '{"status":"duplicate"}');
      const event = `${String(payload.entity)}.${String(payload.action)}`;
      const data = payload.data ?? {};
      const name = String(data['name'] ?? '');
      const alias = String(data['alias'] ?? '');
      const version = String(data['version'] ?? '');
      if (event !== 'model_version_alias.created' || name !== this.opts.modelName || version === '') {
        return ex.send(200, JSON.stringify({ status: 'ignored', event }));
      }
      if (alias === this.opts.championAlias) this.act(ex, `mlflow webhook ${deliveryId}`, deliveryKey, (f) => f.promote(version, `webhook models:/${name}@${alias}`));
      else if (alias !== '' && alias === this.opts.challengerAlias) this.act(ex, `mlflow webhook ${deliveryId}`, deliveryKey, (f) => f.challenge(version, `webhook models:/${name}@${alias}`));
      else ex.send(200, JSON.stringify({ status: 'ignored', event, alias }));
    }));
  }

  private databricks(res: HttpResponse, req: HttpRequest): void {
    const ex = new Exchange(res);
    res.onAborted(() => (ex.aborted = true));
    const signature = req.getHeader('x-databricks-signature');
    readRawBody(res, HOOK_BODY_LIMIT, guarded(ex, (body) => {
      if (body === null) return ex.sendError(new ScoregateError('BODY_TOO_LARGE'), true);
      if (!verifyDatabricks(this.opts.databricksSecret, signature, body)) {
        this.log.warn('webhook refused: bad signature', { sender: 'databricks' });
        return this.refuse(ex, res, '/hooks/databricks', new ScoregateError('INVALID_SIGNATURE', 'X-Databricks-Signature does not verify against the body', 'x-databricks-signature'));
      }
      let p: Record<string, unknown>;
      try {
        p = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return ex.sendError(new ScoregateError('INVALID_JSON', 'webhook body is not JSON'));
      }
      if (typeof p !== 'object' || p === null || Array.isArray(p)) {
        return ex.sendError(new ScoregateError('INVALID_BODY', 'webhook body must be a JSON object'));
      }
      const ts = timestampMs(typeof p['event_timestamp'] === 'number' ? p['event_timestamp'] : String(p['event_timestamp'] ?? ''));
      if (!this.fresh(ts)) return ex.sendError(new ScoregateError('STALE_DELIVERY', `event_timestamp is outside ±${this.opts.maxAgeS} s`, 'event_timestamp'));
      // Databricks sends no delivery id: the webhook, event, time and version identify a delivery.
      const id = `databricks:${String(p['webhook_id'])}:${String(p['event'])}:${String(p['event_timestamp'])}:${String(p['version'])}`;
      if (!this.deliveries.add(id)) return ex.send(200, '{"status":"duplicate"}');
      const name = String(p['model_name'] ?? '');
      const version = String(p['version'] ?? '');
      if (p['event'] !== 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION' || name !== this.opts.modelName || version === '') {
        return ex.send(200, JSON.stringify({ status: 'ignored', event: p['event'] }));
      }
      this.act(ex, 'databricks webhook', id, (f) => f.promote(version, `databricks webhook ${name} v${version} → Production`));
    }));
  }

  /** Answers 202 and runs the change in the background, logging the outcome. */
  private act(ex: Exchange, what: string, deliveryKey: string, f: (follower: RegistryFollower) => Promise<unknown>): void {
    const follower = this.follower;
    if (follower === null) {
      this.deliveries.delete(deliveryKey); // not acted on: a retry after configuration must count
      return ex.sendError(new ScoregateError('NOT_CONFIGURED'));
    }
    ex.send(202, '{"status":"accepted"}');
    f(follower).catch((err: unknown) => {
      // A rejected model stays handled (a retry would be rejected again); a registry that could
      // not be reached is forgotten, so the sender's retry of this delivery is acted on.
      if (!(err instanceof ModelRejected)) this.deliveries.delete(deliveryKey);
      this.log.warn('model change from hook failed', { hook: what, error: lifecycleError(err).message });
    });
  }

  private async reload(): Promise<unknown> {
    const follower = this.follower;
    if (follower === null) throw new ScoregateError('NOT_CONFIGURED');
    const champion = await follower.syncChampion('admin reload');
    await follower.syncChallenger('admin reload');
    return { status: champion, models: this.manager.status() };
  }

  /** A refused delivery: answered, and recorded with the sender's address. */
  private refuse(ex: Exchange, res: HttpResponse, route: string, e: ScoregateError): void {
    let peer = 'unknown';
    try {
      peer = Buffer.from(res.getRemoteAddressAsText()).toString();
    } catch {
      // the response may already be gone
    }
    this.opts.audit({ user: `peer:${peer}`, action: 'webhook.refused', resource: route, outcome: 'denied', details: { code: e.code } });
    ex.sendError(e);
  }

  /** A model-operator call: reload, rollback. */
  private admin(res: HttpResponse, req: HttpRequest, action: string, f: () => Promise<unknown>): void {
    const ex = new Exchange(res);
    res.onAborted(() => (ex.aborted = true));
    res.onData(() => undefined); // the body carries nothing: drain it
    settle(
      this.opts.access.admin(req.getHeader('authorization'), 'model-operator'),
      (principal) =>
        void f().then(
          (out) => {
            this.opts.audit({ user: principal.id, action, resource: `model:${this.opts.modelName}`, outcome: 'success' });
            ex.send(200, JSON.stringify(out));
          },
          (err: unknown) => {
            const e = lifecycleError(err);
            this.opts.audit({ user: principal.id, action, resource: `model:${this.opts.modelName}`, outcome: e.code === 'MODEL_REJECTED' ? 'rejected' : 'failure', details: { code: e.code } });
            ex.sendError(e);
          },
        ),
      (e) => {
        if (e.code === 'FORBIDDEN') this.opts.audit({ user: 'unknown', action, resource: `model:${this.opts.modelName}`, outcome: 'denied', details: { code: e.code } });
        ex.sendError(e);
      },
    );
  }
}
