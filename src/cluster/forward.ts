/**
 * Forwarding a transaction to its user's owner: POST /v1/cluster/score on the owner, over one
 * kept-alive undici Pool per owner. The owner scores it only if it still owns the user (it
 * never forwards again: no loops); while ownership moves (a rebalance, a rebuild) it answers 503
 * NOT_READY and the forward is retried, re-resolving the owner, for up to FORWARD_WAIT_MS.
 */
import { Pool } from 'undici';
import { ScoregateError, type ErrorCode } from '../core/errors.js';
import type { Answer } from '../idempotency/answers.js';
import type { Route } from './shards.js';

export const FORWARD_PATH = '/v1/cluster/score';
const FORWARD_WAIT_MS = 5000;
const RETRY_MS = 50;

export class Forwarder {
  private readonly pools = new Map<string, Pool>();
  forwarded = 0;

  constructor(private readonly route: (userId: string) => Route) {}

  private pool(url: string): Pool {
    let p = this.pools.get(url);
    if (p === undefined) this.pools.set(url, (p = new Pool(url, { connections: 16, pipelining: 1, keepAliveTimeout: 30_000 })));
    return p;
  }

  /** The owner's answer for `value` (a transaction of `userId`), or a ScoregateError. */
  async forward(userId: string, value: unknown): Promise<Answer> {
    const body = JSON.stringify(value);
    const deadline = performance.now() + FORWARD_WAIT_MS;
    let last: ScoregateError = new ScoregateError('NOT_READY', 'the owner of this user is not known yet (rebalance in progress)');
    for (;;) {
      const r = this.route(userId);
      if (r.kind === 'local') return Promise.reject(new LocalAgain());
      if (r.kind === 'remote') {
        try {
          const res = await this.pool(r.url).request({ path: FORWARD_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await res.body.text();
          if (res.statusCode === 200) {
            this.forwarded++;
            return { body: text, replayed: res.headers['idempotent-replayed'] === 'true' };
          }
          const err = errorOf(res.statusCode, text);
          if (err.status !== 503) throw err;
          last = err;
        } catch (err) {
          if (err instanceof ScoregateError && err.status !== 503) throw err;
          if (!(err instanceof ScoregateError)) last = new ScoregateError('NOT_READY', `the owner ${r.url} cannot be reached (rebalance in progress)`);
        }
      } else if (r.kind === 'rebuilding') {
        last = new ScoregateError('NOT_READY', 'this user\'s windows are being rebuilt after a rebalance');
      }
      if (performance.now() > deadline) throw last;
      await new Promise((res) => setTimeout(res, RETRY_MS));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
  }
}

/** Thrown when the user became ours while forwarding: score it here. */
export class LocalAgain extends Error {}

function errorOf(status: number, text: string): ScoregateError {
  try {
    const e = (JSON.parse(text) as { error: { code: ErrorCode; message: string; field?: string } }).error;
    return new ScoregateError(e.code, e.message, e.field);
  } catch {
    return new ScoregateError(status === 503 ? 'NOT_READY' : 'INTERNAL', `the owner answered ${status}`);
  }
}
