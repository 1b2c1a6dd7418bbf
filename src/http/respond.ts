/** Writing answers on uWS responses: status lines built once, JSON bodies, aborted requests skipped. */
import type { HttpResponse, RecognizedString } from 'uWebSockets.js';
import type { AdmissionLimiter } from '../admission/limiter.js';
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
  411: '411 Length Required',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? `${status} Status`;
}

/** `Retry-After` for the common 1 s delay, built once. */
const RETRY_AFTER_1S = '1';

/** Per-request state shared between uWS callbacks. */
export class Exchange {
  aborted = false;
  done = false;
  readonly startedAt = performance.now();
  readonly receivedAt = Date.now();
  /** The admission slot this request holds, given back with its latency when it is answered. */
  private limiter: AdmissionLimiter | null = null;
  constructor(readonly res: HttpResponse) {}

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Holds an admission slot (already acquired) until the answer or the client's abort. */
  admitted(limiter: AdmissionLimiter): void {
    this.limiter = limiter;
  }

  /** The client went away: its slot is free (no latency sample: nothing was answered). */
  abort(): void {
    this.aborted = true;
    const l = this.limiter;
    if (l !== null) {
      this.limiter = null;
      l.abandon();
    }
  }

  /**
   * Writes status and body (JSON text, or bytes for a binary answer), corked (one syscall), unless the client went away or an answer
   * was already written. `close` ends the connection too (when the rest of the body is not
   * worth reading). `header`/`value` add one header (Retry-After, Idempotent-Replayed), and
   * `header2`/`value2` a second (Scoregate-Owner).
   */
  send(status: number, body: RecognizedString, close = false, contentType = 'application/json', header: string | null = null, value = '', header2: string | null = null, value2 = ''): void {
    if (this.aborted || this.done) return;
    this.done = true;
    const l = this.limiter;
    if (l !== null) {
      this.limiter = null;
      l.release(this.elapsedMs());
    }
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
      if (header !== null) this.res.writeHeader(header, value);
      if (header2 !== null) this.res.writeHeader(header2, value2);
      this.res.end(body, close);
    });
  }

  sendError(e: ScoregateError, close = false): void {
    // retryAfterMs comes from the error map (every 503) or the throw (RATE_LIMITED); 1 s, the
    // shed answer's, is the common case and needs no string built.
    const ms = e.retryAfterMs;
    const retryAfter = ms === undefined ? null : ms === 1000 ? RETRY_AFTER_1S : String(Math.max(1, Math.ceil(ms / 1000)));
    this.send(e.status, JSON.stringify({ error: e.toBody() }), close, 'application/json', retryAfter === null ? null : 'retry-after', retryAfter ?? '');
  }
}
