/**
 * /v1/stream: trading apps send `{"id", "transaction"}` (or an array of them in one frame) and
 * get `{"id", "result"}` or `{"id", "error"}` for each, as each is scored, many in flight.
 *
 * Backpressure: uWS buffers what a client has not read. A client whose unread results pass
 * WS_MAX_BACKPRESSURE_BYTES is closed with 1008 and a reason; one with more than WS_MAX_IN_FLIGHT
 * transactions waiting gets TOO_MANY_IN_FLIGHT for the extra ones. Memory per connection is so
 * bounded by both. A bad frame gets an error message (id null when the frame has no usable id);
 * the connection stays up. A frame over WS_MAX_PAYLOAD_BYTES closes the connection with 1009
 * and a reason (uWS itself would drop the TCP connection without a close frame, so its own limit
 * sits above ours: see UWS_PAYLOAD_FACTOR).
 *
 * Admission: each transaction takes a slot of the same adaptive limit as HTTP requests; one
 * over it gets `{"id", "error": {"code": "OVERLOADED", "retryAfterMs"}}` and is not scored.
 * Retries are idempotent: a transactionId already answered gets its answer again with
 * `"replayed": true`.
 */
import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import type { AdmissionLimiter } from '../admission/limiter.js';
import type { AccessControl } from '../auth/access.js';
import type { UpgradeAuthorized } from '../auth/auth.js';
import type { Principal } from '../auth/principal.js';
import { statusLine } from '../http/respond.js';
import { ScoregateError, asScoregateError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { Scorer } from '../scoring/scorer.js';
import { rawPayload } from '../sink/events.js';

export interface StreamOptions {
  idleTimeoutS: number;
  maxPayloadBytes: number;
  maxBackpressureBytes: number;
  maxInFlight: number;
  batchMaxItems: number;
  budgetMs: number;
  limiter: AdmissionLimiter;
  access: AccessControl;
  /** With CLUSTER_SHARDS: this instance's address, named as `owner` on the results it scores itself. */
  self?: () => string;
}

/**
 * uWS drops the TCP connection (no close frame) on a message over its maxPayloadLength, so it
 * is set this many times above WS_MAX_PAYLOAD_BYTES (capped at UWS_PAYLOAD_CAP): messages
 * between the two get a proper 1009 close with a reason; only larger ones are dropped.
 */
const UWS_PAYLOAD_FACTOR = 16;
const UWS_PAYLOAD_CAP = 256 * 1024 * 1024;
export const CLOSE_TOO_BIG = 1009;

interface Conn {
  /** Who opened the connection (checked at the upgrade); rate limits are charged to it. */
  principal: Principal;
  inFlight: number;
  closed: boolean;
  /** Messages waiting for this turn's corked flush. */
  outbox: string[];
}

export const CLOSE_BACKPRESSURE = 1008;
export const CLOSE_GOING_AWAY = 1001;

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Id = string | number | null;

function errorMessage(id: Id, e: ScoregateError): string {
  return JSON.stringify({ id, error: e.toBody() });
}

export class StreamRoute {
  private readonly open = new Set<WebSocket<Conn>>();
  private readonly dirty = new Set<WebSocket<Conn>>();
  private flushQueued = false;
  // Results of one inference batch resolve in one wave of microtasks; the flush queued by the
  // first of them runs after the last, so the wave leaves in one corked write per connection
  // instead of a syscall per message.
  private readonly flush = (): void => {
    this.flushQueued = false;
    for (const ws of this.dirty) {
      const c = ws.getUserData();
      const out = c.outbox;
      c.outbox = [];
      if (c.closed) continue;
      let over = false;
      ws.cork(() => {
        for (let i = 0; i < out.length && !over; i++) {
          ws.send(out[i]!, false);
          over = ws.getBufferedAmount() > this.opts.maxBackpressureBytes;
        }
      });
      // Close at the limit with a reason; nothing past it is sent (or silently dropped by uWS).
      if (over) this.closeSlow(ws);
    }
    this.dirty.clear();
  };

  constructor(
    private readonly scorer: Scorer,
    private readonly metrics: Metrics,
    private readonly opts: StreamOptions,
  ) {}

  attach(app: TemplatedApp, path = '/v1/stream'): void {
    app.ws<Conn>(path, {
      compression: uWS.DISABLED,
      maxPayloadLength: Math.max(this.opts.maxPayloadBytes, Math.min(this.opts.maxPayloadBytes * UWS_PAYLOAD_FACTOR, UWS_PAYLOAD_CAP)),
      idleTimeout: this.opts.idleTimeoutS,
      sendPingsAutomatically: true,
      // We close at maxBackpressureBytes ourselves (with a reason); uWS's own limit sits above
      // it so it never silently drops a result.
      maxBackpressure: this.opts.maxBackpressureBytes * 2 + this.opts.maxPayloadBytes * UWS_PAYLOAD_FACTOR,
      closeOnBackpressureLimit: 0,
      // Authenticated at the upgrade (Authorization header, or a `bearer.<token>` subprotocol
      // for browsers) with the Origin checked; a refused upgrade is an HTTP error answer, before
      // any frame.
      upgrade: (res, req, context) => {
        const key = req.getHeader('sec-websocket-key');
        const extensions = req.getHeader('sec-websocket-extensions');
        const u = this.opts.access.watch(this.opts.access.auth.authorizeUpgrade(
          { authorization: req.getHeader('authorization'), protocol: req.getHeader('sec-websocket-protocol'), origin: req.getHeader('origin') },
          'streamer',
        ));
        const answer = (r: UpgradeAuthorized): void => {
          if (r instanceof ScoregateError) {
            res.cork(() => res.writeStatus(statusLine(r.status)).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: r.toBody() }), true));
            return;
          }
          res.cork(() => res.upgrade<Conn>({ principal: r.principal, inFlight: 0, closed: false, outbox: [] }, key, r.protocol, extensions, context));
        };
        if (!(u instanceof Promise)) return answer(u);
        let aborted = false;
        res.onAborted(() => (aborted = true));
        u.then(
          (r) => {
            if (!aborted) answer(r);
          },
          () => {
            if (!aborted) answer(new ScoregateError('UNAUTHENTICATED'));
          },
        );
      },
      open: (ws) => {
        this.open.add(ws);
        this.metrics.wsConnections.inc();
      },
      message: (ws, message) => this.onMessage(ws, message),
      close: (ws) => {
        ws.getUserData().closed = true;
        this.open.delete(ws);
        this.dirty.delete(ws);
        this.metrics.wsConnections.dec();
      },
    });
  }

  /** Closes every connection (shutdown), after their in-flight results were sent. */
  closeAll(reason: string): void {
    for (const ws of this.open) {
      const c = ws.getUserData();
      if (!c.closed) {
        c.closed = true;
        ws.end(CLOSE_GOING_AWAY, reason);
      }
    }
  }

  get inFlight(): number {
    let n = 0;
    for (const ws of this.open) n += ws.getUserData().inFlight;
    return n;
  }

  private send(ws: WebSocket<Conn>, text: string): void {
    const c = ws.getUserData();
    if (c.closed) return;
    c.outbox.push(text);
    this.dirty.add(ws);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  private closeSlow(ws: WebSocket<Conn>): void {
    const c = ws.getUserData();
    if (c.closed) return;
    c.closed = true;
    this.metrics.wsClosed.inc({ reason: 'backpressure' });
    ws.end(CLOSE_BACKPRESSURE, 'backpressure limit exceeded: the client is not reading its results');
  }

  private onMessage(ws: WebSocket<Conn>, message: ArrayBuffer): void {
    const c = ws.getUserData();
    if (c.closed) return;
    if (message.byteLength > this.opts.maxPayloadBytes) {
      c.closed = true;
      this.metrics.wsClosed.inc({ reason: 'too_big' });
      return ws.end(CLOSE_TOO_BIG, `message of ${message.byteLength} bytes exceeds WS_MAX_PAYLOAD_BYTES (${this.opts.maxPayloadBytes})`);
    }
    if (ws.getBufferedAmount() > this.opts.maxBackpressureBytes) return this.closeSlow(ws);
    const receivedAt = Date.now();
    const startedAt = performance.now();
    let frame: unknown;
    try {
      frame = JSON.parse(utf8.decode(message));
    } catch (err) {
      const why = err instanceof SyntaxError ? err.message : err instanceof RangeError ? 'nesting too deep' : 'not valid UTF-8';
      return this.send(ws, errorMessage(null, new ScoregateError('INVALID_JSON', `message is not valid JSON: ${why}`)));
    }
    if (!Array.isArray(frame)) return this.item(ws, c, frame, receivedAt, startedAt);
    if (frame.length > this.opts.batchMaxItems) {
      return this.send(ws, errorMessage(null, new ScoregateError('BATCH_TOO_LARGE', `a frame holds at most ${this.opts.batchMaxItems} messages, got ${frame.length}`)));
    }
    for (const item of frame as unknown[]) this.item(ws, c, item, receivedAt, startedAt);
  }

  private item(ws: WebSocket<Conn>, c: Conn, item: unknown, receivedAt: number, startedAt: number): void {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      return this.send(ws, errorMessage(null, new ScoregateError('INVALID_BODY', 'a message is {"id": …, "transaction": {…}}')));
    }
    const o = item as Record<string, unknown>;
    const rawId = o['id'];
    if (typeof rawId !== 'string' && typeof rawId !== 'number') {
      return this.send(ws, errorMessage(null, new ScoregateError(rawId === undefined ? 'MISSING_FIELD' : 'INVALID_TYPE', 'id must be a string or a number', 'id')));
    }
    const id: string | number = typeof rawId === 'string' && rawId.length > 256 ? rawId.slice(0, 256) : rawId;
    if (!('transaction' in o)) {
      return this.send(ws, errorMessage(id, new ScoregateError('MISSING_FIELD', 'transaction is required', 'transaction')));
    }
    if (c.inFlight >= this.opts.maxInFlight) {
      return this.send(ws, errorMessage(id, new ScoregateError('TOO_MANY_IN_FLIGHT', `at most ${this.opts.maxInFlight} transactions may wait for results on one connection`)));
    }
    let budgetMs = this.opts.budgetMs;
    const b = o['budgetMs'];
    if (b !== undefined) {
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 1) {
        return this.send(ws, errorMessage(id, new ScoregateError('INVALID_FIELD', 'budgetMs must be a whole number of milliseconds ≥ 1', 'budgetMs')));
      }
      budgetMs = Math.min(b, budgetMs);
    }
    const limited = this.opts.access.auth.admit(c.principal);
    if (limited !== null) return this.send(ws, errorMessage(id, limited));
    const limiter = this.opts.limiter;
    if (!limiter.tryAcquire()) {
      this.metrics.shed.inc({ transport: 'ws' });
      return this.send(ws, errorMessage(id, this.shedError));
    }
    c.inFlight++;
    const tx = o['transaction'];
    const idJson = JSON.stringify(id);
    const explain = o['explain'] === true;
    this.scorer.score(tx, { source: 'ws', receivedAt, startedAt, budgetMs, raw: () => rawPayload(tx), explain }).then(
      (a) => {
        c.inFlight--;
        limiter.release(performance.now() - startedAt);
        // With CLUSTER_SHARDS, `owner` is the routing hint Scoregate-Owner gives over HTTP.
        const self = this.opts.self;
        const owner = self === undefined ? '' : `,"owner":${JSON.stringify(a.owner ?? self())}`;
        this.send(ws, `{"id":${idJson},"result":${a.body}${a.replayed ? ',"replayed":true' : ''}${owner}}`);
      },
      (err: unknown) => {
        c.inFlight--;
        limiter.release(performance.now() - startedAt);
        this.send(ws, errorMessage(id, asScoregateError(err)));
      },
    );
  }

  /** Built once; its retryAfterMs comes from the error map. */
  private readonly shedError = new ScoregateError('OVERLOADED');
}
