/** Health, readiness, metrics and the model listing. */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { ScoregateError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { Exchange } from './respond.js';

export interface AdminView {
  /** Why the gateway is not ready, or null when it is. */
  notReadyReason(): string | null;
  models(): unknown;
}

export function attachAdmin(app: TemplatedApp, metrics: Metrics, view: AdminView): void {
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
