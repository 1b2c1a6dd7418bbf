/**
 * `score --url`: POST /v1/score (one transaction per request) or /v1/score/batch (--batch N)
 * over keep-alive connections, at most --concurrency sockets. A transaction's line is sent as
 * it was read; a batch is the lines joined into a JSON array, so nothing is re-serialised.
 */
import http from 'node:http';
import https from 'node:https';
import type { Item, LineError, Reply, Target } from './score-target.js';

export interface HttpTargetOptions {
  url: URL;
  concurrency: number;
  batch: number;
  /** Sent as `Authorization: Bearer …` (an API key or a JWT). */
  token: string | null;
  timeoutMs: number;
}

interface HttpAnswer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

function retryAfterMs(h: http.IncomingHttpHeaders): number | undefined {
  const v = h['retry-after'];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) * 1000 : undefined;
}

function errorOf(a: HttpAnswer): LineError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(a.text);
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: unknown } | undefined)?.error as Partial<LineError> | undefined;
  if (typeof e?.code !== 'string') return { code: 'BAD_RESPONSE', message: `HTTP ${a.status} without a coded error: ${a.text.slice(0, 200)}` };
  const out: LineError = { code: e.code, message: typeof e.message === 'string' ? e.message : '' };
  if (typeof e.field === 'string') out.field = e.field;
  const after = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : retryAfterMs(a.headers);
  if (after !== undefined) out.retryAfterMs = after;
  return out;
}

export class HttpTarget implements Target {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: HttpTargetOptions) {
    const secure = opts.url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: opts.concurrency }) : new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
    this.request = secure ? https.request : http.request;
    this.headers = { 'content-type': 'application/json' };
    if (opts.token !== null) this.headers['authorization'] = `Bearer ${opts.token}`;
  }

  private endpoint(path: string): URL {
    return new URL(path, this.opts.url);
  }

  private call(method: 'GET' | 'POST', path: string, body: string | null): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers = body === null ? { ...this.headers } : { ...this.headers, 'content-length': String(Buffer.byteLength(body)) };
      const req = this.request(this.endpoint(path), { method, agent: this.agent, headers, timeout: this.opts.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.opts.timeoutMs} ms`), { code: 'TIMEOUT' })));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  /** Throws a readable error when nothing answers at the URL (before any line is sent). */
  async probe(): Promise<void> {
    try {
      await this.call('GET', '/healthz', null);
    } catch (err) {
      throw new Error(`cannot reach the gateway at ${this.opts.url.origin}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  async send(items: Item[]): Promise<Reply[]> {
    const batch = this.opts.batch > 1;
    const body = batch ? `[${items.map((i) => i.text).join(',')}]` : items[0]!.text;
    let a: HttpAnswer;
    try {
      a = await this.call('POST', batch ? '/v1/score/batch' : '/v1/score', body);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code === 'TIMEOUT' ? 'TIMEOUT' : 'UNREACHABLE';
      const e: LineError = { code, message: `${this.opts.url.origin}: ${(err as Error).message}` };
      return items.map(() => ({ ok: false, error: e }));
    }
    if (a.status !== 200) {
      const e = errorOf(a);
      return items.map(() => ({ ok: false, error: e }));
    }
    if (!batch) return [{ ok: true, body: a.text, replayed: a.headers['idempotent-replayed'] === 'true' }];
    return this.batchReplies(a, items.length);
  }

  private batchReplies(a: HttpAnswer, n: number): Reply[] {
    let results: unknown;
    try {
      results = (JSON.parse(a.text) as { results?: unknown }).results;
    } catch {
      results = undefined;
    }
    if (!Array.isArray(results) || results.length !== n) {
      const e: LineError = { code: 'BAD_RESPONSE', message: `a batch of ${n} was answered without ${n} results: ${a.text.slice(0, 200)}` };
      return Array.from({ length: n }, () => ({ ok: false, error: e }));
    }
    return results.map((r: { result?: unknown; replayed?: unknown; error?: unknown }): Reply => {
      // A result re-serialised is the answer's text again: the gateway writes plain JSON
      // numbers and strings in the order JSON.parse keeps.
      if (r.result !== undefined) return { ok: true, body: JSON.stringify(r.result), replayed: r.replayed === true };
      return { ok: false, error: errorOf({ status: 200, text: JSON.stringify({ error: r.error }), headers: {} }) };
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
