/**
 * POST /v1/score and POST /v1/score/batch. In order, before any JSON is parsed: admission (the
 * adaptive limit; over it, 503 OVERLOADED with Retry-After and the body is never read),
 * readiness, content type, declared size, budget header; then the body (over-limit bodies are
 * drained up to a bound so the client reads its 413), JSON once, and the scorer. Every failure
 * is a coded JSON error; nothing a client sends can throw out of these handlers.
 *
 * Early answers leave the connection open: uWS discards a body nobody reads. It is closed only
 * when the rest of the body is not worth reading (over BODY_LINGER_BYTES, or of unknown length).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { AdmissionLimiter } from '../admission/limiter.js';
import type { Authorized } from '../auth/auth.js';
import { Principal } from '../auth/principal.js';
import { ScoregateError, asScoregateError } from '../core/errors.js';
import type { Answer } from '../idempotency/answers.js';
import type { Scorer, ScoreContext } from '../scoring/scorer.js';
import { rawPayload } from '../sink/events.js';
import { readBody, type BodyResult } from './body.js';
import { Exchange } from './respond.js';

export interface ScoreRouteOptions {
  maxBodyBytes: number;
  batchMaxItems: number;
  /** REQUEST_BUDGET_MS: the most a request may take before the fallback answers. */
  budgetMs: number;
  /** BODY_LINGER_BYTES: how much of an over-limit body is drained before answering 413. */
  lingerBytes: number;
  limiter: AdmissionLimiter;
  /** The scorer role's check of the Authorization header (src/auth/access.ts). */
  authorize: (authorization: string) => Authorized | Promise<Authorized>;
  /** Called once per shed request. */
  onShed: () => void;
  /** Called once per answered request with its route, status and server-side seconds. */
  observe: (route: 'score' | 'batch', status: number, seconds: number) => void;
  /** The cluster's forwarding route (src/cluster/forward.ts): requests sent on by another instance. */
  forwarded?: boolean;
  /** With CLUSTER_SHARDS: this instance's address, named in Scoregate-Owner on the answers it scores itself. */
  self?: () => string;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const BUDGET_HEADER = 'request-budget-ms';
const REPLAYED_HEADER = 'idempotent-replayed';
const OWNER_HEADER = 'scoregate-owner';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Deep nesting overflows the parser's stack (RangeError): still just bad JSON to the client.
    const why = err instanceof SyntaxError ? err.message : 'nesting too deep';
    throw new ScoregateError('INVALID_JSON', `request body is not valid JSON: ${why}`);
  }
}

/** The request's budget: the setting, or less when the client asks (never more). */
export function budgetOf(header: string, max: number): number {
  if (header === '') return max;
  if (!/^\d{1,9}$/.test(header) || Number(header) < 1) {
    throw new ScoregateError('INVALID_FIELD', `Request-Budget-Ms must be a whole number of milliseconds ≥ 1, got ${JSON.stringify(header.slice(0, 40))}`, 'Request-Budget-Ms');
  }
  return Math.min(Number(header), max);
}

/** The error a shed request gets: built once, it carries no per-request detail. */
export function overloaded(): ScoregateError {
  return new ScoregateError('OVERLOADED'); // Retry-After from the error map
}

/** Shared front half: admission, headers, readiness, body, JSON. Calls `handle` with the parsed body. */
function jsonRoute(
  scorer: Scorer,
  opts: ScoreRouteOptions,
  route: 'score' | 'batch',
  handle: (ex: Exchange, body: unknown, text: string, budgetMs: number, explain: boolean) => void,
): (res: HttpResponse, req: HttpRequest) => void {
  const shedError = overloaded();
  return (res, req) => {
    const ex = new Exchange(res);
    const fail = (e: ScoregateError, close = false): void => {
      ex.sendError(e, close);
      opts.observe(route, e.status, ex.elapsedMs() / 1000);
    };
    // Headers are only readable now, synchronously.
    const contentType = req.getHeader('content-type');
    const contentLength = req.getHeader('content-length');
    const chunked = req.getHeader('transfer-encoding') !== '';
    const declared = contentLength === '' ? -1 : Number(contentLength);
    // An early answer keeps the connection when uWS can skip the unread body cheaply.
    const closeEarly = declared < 0 || declared > opts.lingerBytes;
    // Credentials first (an unauthenticated flood never takes admission slots): API keys and
    // JWTs seen before answer synchronously; a JWT not seen before is verified while the body
    // is read, and the request goes on only once it verified.
    const authz = opts.authorize(req.getHeader('authorization'));
    if (authz instanceof ScoregateError) return fail(authz, closeEarly);
    const pendingAuth = authz instanceof Principal ? null : authz;
    // Shed next: a request over the limit costs these checks and a 503, nothing more.
    if (!opts.limiter.tryAcquire()) {
      opts.onShed();
      return fail(shedError);
    }
    ex.admitted(opts.limiter);
    res.onAborted(() => ex.abort());
    if (!scorer.ready) return fail(new ScoregateError('NOT_READY'), closeEarly);
    if (!JSON_TYPE.test(contentType)) {
      return fail(new ScoregateError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${JSON.stringify(contentType.slice(0, 100))}`, 'content-type'), closeEarly);
    }
    if (declared < 0 && !chunked) {
      // Neither Content-Length nor chunked (an HTTP/1.0 POST): the body's end is unknowable.
      return fail(new ScoregateError('LENGTH_REQUIRED'), true);
    }
    if (declared > opts.maxBodyBytes + opts.lingerBytes) {
      return fail(new ScoregateError('BODY_TOO_LARGE', `request body of ${contentLength} bytes exceeds the limit of ${opts.maxBodyBytes}`), true);
    }
    let budgetMs: number;
    try {
      budgetMs = budgetOf(req.getHeader(BUDGET_HEADER), opts.budgetMs);
    } catch (err) {
      return fail(asScoregateError(err), closeEarly);
    }
    // Read now: uWS's request object is gone once the body arrives.
    const explain = explainAsked(req.getQuery('explain'), req.getHeader('explain'));
    const afterBody = (r: BodyResult): void => {
      if (ex.aborted) return;
      if (!r.ok) {
        return r.reason === 'too_large'
          ? fail(new ScoregateError('BODY_TOO_LARGE', `request body exceeds the limit of ${opts.maxBodyBytes} bytes`), !r.drained)
          : fail(new ScoregateError('INVALID_JSON', 'request body is not valid UTF-8'));
      }
      let body: unknown;
      try {
        body = parseJson(r.text);
      } catch (err) {
        const e = asScoregateError(err);
        scorer.reject(e, { source: 'http', receivedAt: ex.receivedAt, raw: () => r.text });
        return fail(e);
      }
      try {
        handle(ex, body, r.text, budgetMs, explain);
      } catch (err) {
        fail(asScoregateError(err));
      }
    };
    readBody(res, opts.maxBodyBytes, opts.lingerBytes, (r) => {
      if (ex.aborted) return;
      if (pendingAuth !== null) {
        pendingAuth.then(
          (a) => (a instanceof Principal ? afterBody(r) : fail(a)),
          () => fail(new ScoregateError('UNAUTHENTICATED')),
        );
        return;
      }
      afterBody(r);
    });
  };
}

/** `?explain=true` (or 1) or an `Explain: true` header asks for the top contributors in the answer. */
function explainAsked(query: string | undefined, header: string): boolean {
  return query === 'true' || query === '1' || header.toLowerCase() === 'true' || header === '1';
}

function contextOf(ex: Exchange, budgetMs: number, raw: () => string, explain: boolean, forwarded = false): ScoreContext {
  return { source: 'http', receivedAt: ex.receivedAt, startedAt: ex.startedAt, budgetMs, raw, explain, forwarded };
}

export function scoreRoute(scorer: Scorer, opts: ScoreRouteOptions): (res: HttpResponse, req: HttpRequest) => void {
  return jsonRoute(scorer, opts, 'score', (ex, body, text, budgetMs, explain) => {
    scorer.score(body, contextOf(ex, budgetMs, () => text, explain, opts.forwarded)).then(
      (a: Answer) => {
        // The owner that answered: another instance (forwarded), or this one.
        const owner = opts.self === undefined ? null : (a.owner ?? opts.self());
        ex.send(200, a.body, false, 'application/json', a.replayed ? REPLAYED_HEADER : null, 'true', owner === null ? null : OWNER_HEADER, owner ?? '');
        opts.observe('score', 200, ex.elapsedMs() / 1000);
      },
      (err: unknown) => {
        const e = asScoregateError(err);
        ex.sendError(e);
        opts.observe('score', e.status, ex.elapsedMs() / 1000);
      },
    );
  });
}

export function batchRoute(scorer: Scorer, opts: ScoreRouteOptions): (res: HttpResponse, req: HttpRequest) => void {
  return jsonRoute(scorer, opts, 'batch', (ex, body, _text, budgetMs, explain) => {
    const items = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['transactions'] : undefined;
    if (!Array.isArray(items)) {
      throw new ScoregateError('INVALID_BODY', 'a batch is a JSON array of transactions, or {"transactions": [...]}', 'transactions');
    }
    if (items.length > opts.batchMaxItems) {
      throw new ScoregateError('BATCH_TOO_LARGE', `a batch holds at most ${opts.batchMaxItems} transactions, got ${items.length}`, 'transactions');
    }
    const parts: string[] = new Array<string>(items.length);
    const self = opts.self;
    // All items enter the scorer in this turn, so they share inference runs. An item whose id
    // repeats an earlier item's waits for it and replays its answer.
    const all = items.map((item: unknown, i) =>
      scorer.score(item, contextOf(ex, budgetMs, () => rawPayload(item), explain)).then(
        (a) => {
          const replayed = a.replayed ? ',"replayed":true' : '';
          // With CLUSTER_SHARDS each item names the owner that answered it (items of one batch
          // may belong to different owners, so one Scoregate-Owner header could not say it).
          const owner = self === undefined ? '' : `,"owner":${JSON.stringify(a.owner ?? self())}`;
          parts[i] = `{"result":${a.body}${replayed}${owner}}`;
        },
        (err: unknown) => {
          parts[i] = JSON.stringify({ error: { ...asScoregateError(err).toBody(), index: i } });
        },
      ),
    );
    void Promise.all(all).then(() => {
      const took = ex.elapsedMs();
      ex.send(200, `{"results":[${parts.join(',')}],"tookMs":${Math.round(took * 1000) / 1000}}`);
      opts.observe('batch', 200, took / 1000);
    });
  });
}
