/** Health, readiness, metrics and the model listing. */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { settle, type AccessControl } from '../auth/access.js';
import { ScoregateError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { Exchange } from './respond.js';

export interface AdminView {
  /** Why the gateway is not ready, or null when it is. */
  notReadyReason(): string | null;
  models(): unknown;
  window(userId: string): { ts: number[]; amount: number[]; merchant: (string | null)[] } | undefined;
  /** Every read of a user's window (the audit trail records it). */
  onWindowRead?: (who: string, userId: string, found: boolean) => void;
  /** The newest audit records for GET /v1/audit. */
  audit?: (opts: { sinceMs?: number; action?: string; limit: number }) => unknown[];
}

const AUDIT_LIMIT_MAX = 1000;

export function attachAdmin(app: TemplatedApp, metrics: Metrics, view: AdminView, access: AccessControl): void {
  app.get('/healthz', (res) => {
    new Exchange(res).send(200, '{"status":"ok"}');
  });
  app.get('/readyz', (res) => {
    const why = view.notReadyReason();
    const ex = new Exchange(res);
    if (why === null) ex.send(200, '{"status":"ready"}');
    else ex.sendError(new ScoregateError('NOT_READY', why));
  });
  app.get('/v1/models', (res) => {
    new Exchange(res).send(200, JSON.stringify(view.models()));
  });
  // A user's window holds their recent amounts and merchants: the auditor role only.
  app.get('/v1/users/:userId/window', (res, req) => {
    const ex = new Exchange(res);
    res.onAborted(() => (ex.aborted = true));
    const param = req.getParameter(0) ?? '';
    settle(
      access.admin(req.getHeader('authorization'), 'auditor'),
      (principal) => {
        let userId: string;
        try {
          userId = decodeURIComponent(param);
        } catch {
          return ex.sendError(new ScoregateError('INVALID_FIELD', 'userId is not valid percent-encoding', 'userId'));
        }
        const w = view.window(userId);
        view.onWindowRead?.(principal.id, userId, w !== undefined);
        if (w === undefined) return ex.sendError(new ScoregateError('NOT_FOUND', `no window for user ${JSON.stringify(userId.slice(0, 128))}`, 'userId'));
        const events = w.ts.map((ts, i) => ({ timestamp: ts, amount: w.amount[i], merchantId: w.merchant[i] }));
        ex.send(200, JSON.stringify({ userId, events }));
      },
      (e) => ex.sendError(e),
    );
  });
  // The audit trail, newest last: ?since=<epoch ms or ISO-8601>&action=<name>&limit=<1..1000>.
  app.get('/v1/audit', (res, req) => {
    const ex = new Exchange(res);
    res.onAborted(() => (ex.aborted = true));
    const q = new URLSearchParams(req.getQuery() ?? '');
    settle(
      access.admin(req.getHeader('authorization'), 'auditor'),
      () => {
        const since = q.get('since');
        const limitText = q.get('limit') ?? '100';
        let sinceMs: number | undefined;
        if (since !== null) {
          sinceMs = /^\d+$/.test(since) ? Number(since) : Date.parse(since);
          if (!Number.isFinite(sinceMs)) return ex.sendError(new ScoregateError('INVALID_FIELD', 'since must be epoch milliseconds or an ISO-8601 date-time', 'since'));
        }
        if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > AUDIT_LIMIT_MAX) {
          return ex.sendError(new ScoregateError('INVALID_FIELD', `limit must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`, 'limit'));
        }
        const action = q.get('action') ?? undefined;
        const records = view.audit?.({ ...(sinceMs === undefined ? {} : { sinceMs }), ...(action === undefined ? {} : { action }), limit: Number(limitText) }) ?? [];
        ex.send(200, JSON.stringify({ records }));
      },
      (e) => ex.sendError(e),
    );
  });
  app.get('/metrics', (res: HttpResponse, req: HttpRequest) => {
    const ex = new Exchange(res);
    res.onAborted(() => {
      ex.aborted = true;
    });
    const collect = (): void => {
      metrics.registry.metrics().then(
        (text) => ex.send(200, text, false, metrics.registry.contentType),
        () => ex.sendError(new ScoregateError('INTERNAL', 'metrics could not be collected')),
      );
    };
    if (!access.auth.protectsMetrics) return collect();
    settle(access.check(req.getHeader('authorization'), 'metrics'), collect, (e) => ex.sendError(e));
  });
}
