/**
 * Monitoring routes:
 *   POST /v1/labels          (labeler) confirmed outcomes: one label object or an array of them
 *                            (at most BATCH_MAX_ITEMS); each is joined to the answer given for
 *                            its transactionId; answers counts by result.
 *   POST /v1/models/canary   (model-operator) {"percent": 0–100}: the share of users the
 *                            challenger answers.
 *   GET  /v1/monitoring      drift per feature, outcome figures and the canary split, as JSON
 *                            (open like GET /v1/models: no transaction data in it).
 * Operator calls and label submissions go to the audit trail.
 */
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { AuditEntry } from '../audit/trail.js';
import { settle, type AccessControl } from '../auth/access.js';
import type { Authorized } from '../auth/auth.js';
import { ScoregateError } from '../core/errors.js';
import type { ModelManager } from '../models/manager.js';
import type { DriftMonitor } from '../monitoring/drift.js';
import { parseLabel, type Label, type LabelResult, type OutcomeTracker } from '../monitoring/outcomes.js';
import { readRawBody } from './body.js';
import { Exchange } from './respond.js';

export const MONITORING_ROUTES: Record<string, string> = {
  '/v1/labels': 'POST',
  '/v1/models/canary': 'POST',
  '/v1/monitoring': 'GET',
};

export interface MonitoringDeps {
  access: AccessControl;
  drift: DriftMonitor;
  outcomes: OutcomeTracker;
  models: ModelManager;
  batchMaxItems: number;
  audit: (e: AuditEntry) => void;
}

const BODY_LIMIT = 4 * 1024 * 1024;

/** Reads the JSON body and checks the role (both at once); `then` gets the principal's id and the value. */
function jsonAdmin(res: HttpResponse, auth: Authorized | Promise<Authorized>, then: (ex: Exchange, who: string, body: unknown) => void): void {
  const ex = new Exchange(res);
  res.onAborted(() => (ex.aborted = true));
  readRawBody(res, BODY_LIMIT, (raw) => {
    settle(
      auth,
      (principal) => {
        if (raw === null) return ex.sendError(new ScoregateError('BODY_TOO_LARGE'), true);
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return ex.sendError(new ScoregateError('INVALID_JSON', 'request body is not valid JSON'));
        }
        try {
          then(ex, principal.id, body);
        } catch (err) {
          ex.sendError(err instanceof ScoregateError ? err : new ScoregateError('INTERNAL'));
        }
      },
      (e) => ex.sendError(e),
    );
  });
}

export function attachMonitoring(app: TemplatedApp, d: MonitoringDeps): void {
  app.post('/v1/labels', (res, req) => {
    jsonAdmin(res, d.access.admin(req.getHeader('authorization'), 'labeler'), (ex, who, body) => {
      const items = Array.isArray(body) ? body : [body];
      if (items.length === 0) throw new ScoregateError('INVALID_BODY', 'no labels in the request');
      if (items.length > d.batchMaxItems) throw new ScoregateError('BATCH_TOO_LARGE', `at most ${d.batchMaxItems} labels per request`);
      // All or nothing: a request with an unreadable label joins none of them.
      const labels: Label[] = [];
      for (let i = 0; i < items.length; i++) {
        const l = parseLabel(items[i]);
        if ('error' in l) throw new ScoregateError('INVALID_FIELD', `label ${i}: ${l.error}`, Array.isArray(body) ? `[${i}].${l.field}` : l.field);
        labels.push(l);
      }
      const counts: Record<Exclude<LabelResult, 'invalid'>, number> = { matched: 0, relabelled: 0, duplicate: 0, unmatched: 0 };
      for (const l of labels) counts[d.outcomes.label(l)]++;
      d.audit({ user: who, action: 'labels.submit', resource: 'outcomes', outcome: 'success', records_accessed: labels.length, details: counts });
      ex.send(200, JSON.stringify({ received: labels.length, ...counts }));
    });
  });

  app.post('/v1/models/canary', (res, req) => {
    jsonAdmin(res, d.access.admin(req.getHeader('authorization'), 'model-operator'), (ex, who, body) => {
      const p = (body as { percent?: unknown } | null)?.percent;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) throw new ScoregateError('INVALID_FIELD', 'percent must be a whole number from 0 to 100', 'percent');
      d.models.setCanary(p, `admin ${who}`);
      d.audit({ user: who, action: 'model.canary', resource: 'model:canary', outcome: 'success', details: { percent: p } });
      const st = d.models.status() as { challenger: unknown; canary: unknown };
      ex.send(200, JSON.stringify({ canary: st.canary, challenger: st.challenger }));
    });
  });

  app.get('/v1/monitoring', (res) => {
    const st = d.models.status() as { active: unknown; challenger: unknown; canary: unknown };
    new Exchange(res).send(200, JSON.stringify({ drift: d.drift.snapshot(), outcomes: d.outcomes.snapshot(), canary: st.canary, active: st.active, challenger: st.challenger }));
  });
}
