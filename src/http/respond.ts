/** Writing answers on uWS responses: status lines built once, JSON bodies, aborted requests skipped. */
import type { HttpResponse } from 'uWebSockets.js';
import type { ScoregateError } from '../core/errors.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  403: '403 Forbidden',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`;
}

/** Per-request state shared between uWS callbacks. */
export class Exchange {
  aborted = false;
  done = false;
  readonly startedAt = performance.now();
  readonly receivedAt = Date.now();
  constructor(readonly res: HttpResponse) {}

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /**
   * Writes status and JSON body, corked (one syscall), unless the client went away or an answer
   * was already written. `close` ends the connection too (used when the body was not read).
   */
  send(status: number, body: string, close = false, contentType = 'application/json'): void {
    if (this.aborted || this.done) return;
    this.done = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType).end(body, close);
    });
  }

  sendError(e: ScoregateError, close = false): void {
    this.send(e.status, JSON.stringify({ error: e.toBody() }), close);
  }
}
