/**
 * POST /v1/score and POST /v1/score/batch: content type and size checked before the body is
 * read, JSON parsed once, then the scorer. Every failure is a coded JSON error; nothing a
 * client sends can throw out of these handlers.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { ScoregateError, asScoregateError } from '../core/errors.js';
import { rawPayload, type ScoredEvent } from '../sink/events.js';
import type { Scorer } from '../scoring/scorer.js';
import { readBody } from './body.js';
import { Exchange } from './respond.js';

export interface ScoreRouteOptions {
  maxBodyBytes: number;
  batchMaxItems: number;
  /** Called once per answered request with its route, status and server-side seconds. */
  observe: (route: 'score' | 'batch', status: number, seconds: number) => void;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** The public answer for a scored transaction, serialised by hand: one string, no temporaries. */
export function resultJson(ev: ScoredEvent, tookMs?: number): string {
  return (
    `{"transactionId":${JSON.stringify(ev.transaction.transactionId)},"score":${ev.score},"riskCategory":"${ev.riskCategory}",` +
    `"model":{"name":${JSON.stringify(ev.model.name)},"version":${JSON.stringify(ev.model.version)}},` +
    `"quality":{"score":${ev.quality.score},"flags":${JSON.stringify(ev.quality.flags)}}` +
    (tookMs === undefined ? '}' : `,"tookMs":${Math.round(tookMs * 1000) / 1000}}`)
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Deep nesting overflows the parser's stack (RangeError): still just bad JSON to the client.
    const why = err instanceof SyntaxError ? err.message : 'nesting too deep';
    throw new ScoregateError('INVALID_JSON', `request body is not valid JSON: ${why}`);
  }
}

/** Shared front half: headers, readiness, body, JSON. Calls `handle` with the parsed body. */
function jsonRoute(
  scorer: Scorer,
  opts: ScoreRouteOptions,
  route: 'score' | 'batch',
  handle: (ex: Exchange, body: unknown, text: string) => void,
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const ex = new Exchange(res);
    res.onAborted(() => {
      ex.aborted = true;
    });
    const fail = (e: ScoregateError, close = false): void => {
      ex.sendError(e, close);
      opts.observe(route, e.status, ex.elapsedMs() / 1000);
    };
    // Headers are only readable now, synchronously.
    const contentType = req.getHeader('content-type');
    const contentLength = req.getHeader('content-length');
    if (!JSON_TYPE.test(contentType)) {
      return fail(new ScoregateError('UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${JSON.stringify(contentType.slice(0, 100))}`, 'content-type'), true);
    }
    if (contentLength !== '' && Number(contentLength) > opts.maxBodyBytes) {
      return fail(new ScoregateError('BODY_TOO_LARGE', `request body of ${contentLength} bytes exceeds the limit of ${opts.maxBodyBytes}`), true);
    }
    if (!scorer.ready) return fail(new ScoregateError('NOT_READY'), true);
    readBody(res, opts.maxBodyBytes, (r) => {
      if (ex.aborted) return;
      if (!r.ok) {
        return r.reason === 'too_large'
          ? fail(new ScoregateError('BODY_TOO_LARGE', `request body exceeds the limit of ${opts.maxBodyBytes} bytes`), true)
          : fail(new ScoregateError('INVALID_JSON', 'request body is not valid UTF-8'));
      }
      let body: unknown;
      try {
        body = parseJson(r.text);
      } catch (err) {
        const e = asScoregateError(err);
        scorer.reject(e, 'http', ex.receivedAt, () => r.text);
        return fail(e);
      }
      try {
        handle(ex, body, r.text);
      } catch (err) {
        fail(asScoregateError(err));
      }
    });
  };
}

export function scoreRoute(scorer: Scorer, opts: ScoreRouteOptions): (res: HttpResponse, req: HttpRequest) => void {
  return jsonRoute(scorer, opts, 'score', (ex, body, text) => {
    scorer.score(body, 'http', ex.receivedAt, () => text).then(
      (ev) => {
        const took = ex.elapsedMs();
        ex.send(200, resultJson(ev, took));
        opts.observe('score', 200, took / 1000);
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
  return jsonRoute(scorer, opts, 'batch', (ex, body) => {
    const items = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['transactions'] : undefined;
    if (!Array.isArray(items)) {
      throw new ScoregateError('INVALID_BODY', 'a batch is a JSON array of transactions, or {"transactions": [...]}', 'transactions');
    }
    if (items.length > opts.batchMaxItems) {
      throw new ScoregateError('BATCH_TOO_LARGE', `a batch holds at most ${opts.batchMaxItems} transactions, got ${items.length}`, 'transactions');
    }
    const parts: string[] = new Array<string>(items.length);
    // All items enter the scorer in this turn, so they share inference runs.
    const all = items.map((item: unknown, i) =>
      scorer.score(item, 'http', ex.receivedAt, () => rawPayload(item)).then(
        (ev) => {
          parts[i] = `{"result":${resultJson(ev)}}`;
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
