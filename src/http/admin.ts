/** Health, readiness, metrics and the model listing. */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { ScoregateError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { checkAdmin } from './hooks.js';
import { Exchange } from './respond.js';

export interface AdminView {
  /** Why the gateway is not ready, or null when it is. */
  notReadyReason(): string | null;
  models(): unknown;
  window(userId: string): { ts: number[]; amount: number[]; merchant: (string | null)[] } | undefined;
}

export function attachAdmin(app: TemplatedApp, metrics: Metrics, view: AdminView, adminToken: string): void {
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
  // A user's window holds their recent amounts and merchants: admin only.
  app.get('/v1/users/:userId/window', (res, req) => {
    const denied = checkAdmin(adminToken, req.getHeader('authorization'));
    if (denied !== null) return new Exchange(res).sendError(denied);
    let userId: string;
    try {
      userId = decodeURIComponent(req.getParameter(0) ?? '');
    } catch {
      return new Exchange(res).sendError(new ScoregateError('INVALID_FIELD', 'userId is not valid percent-encoding', 'userId'));
    }
    const w = view.window(userId);
    const ex = new Exchange(res);
    if (w === undefined) return ex.sendError(new ScoregateError('NOT_FOUND', `no window for user ${JSON.stringify(userId.slice(0, 128))}`, 'userId'));
    const events = w.ts.map((ts, i) => ({ timestamp: ts, amount: w.amount[i], merchantId: w.merchant[i] }));
    ex.send(200, JSON.stringify({ userId, events }));
  });
  app.get('/metrics', (res: HttpResponse, _req: HttpRequest) => {
    const ex = new Exchange(res);
    res.onAborted(() => {
      ex.aborted = true;
    });
    metrics.registry.metrics().then(
      (text) => ex.send(200, text, false, metrics.registry.contentType),
      () => ex.sendError(new ScoregateError('INTERNAL', 'metrics could not be collected')),
    );
  });
}
