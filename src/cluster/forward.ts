/**
 * Forwarding a transaction to its user's owner: POST /v1/cluster/score on the owner, over one
 * kept-alive undici Pool per owner. The owner scores it only if it still owns the user (it
 * never forwards again: no loops); while ownership moves (a rebalance, a rebuild) it answers 503
 * NOT_READY and the forward is retried, re-resolving the owner, for up to FORWARD_WAIT_MS; after
 * that the client gets the 503 NOT_READY with Retry-After.
 *
 * The hop is authenticated, not the caller again: the first instance checked the caller's
 * credential (and spent its rate limit); with credentials configured, the forward route takes
 * only `Authorization: Bearer <CLUSTER_SECRET>` (peerAuthorizer), so it is no open door.
 */
import { timingSafeEqual } from 'node:crypto';
import { Pool } from 'undici';
import { ANONYMOUS, Principal } from '../auth/principal.js';
import { TokenBucket } from '../auth/rate-limit.js';
import { ROLE_BITS } from '../auth/roles.js';
import { ScoregateError, type ErrorCode } from '../core/errors.js';
import type { Answer } from '../idempotency/answers.js';
import type { Route } from './shards.js';

export const FORWARD_PATH = '/v1/cluster/score';
/** The owner's address on answers (a routing hint for smart clients and Envoy). */
export const OWNER_HEADER = 'scoregate-owner';
const FORWARD_WAIT_MS = 5000;
const RETRY_MS = 50;
/** Why an owned user is not scored right now. */
export const UNAVAILABLE = {
  rebuilding: 'this user\'s windows are being rebuilt after a rebalance',
  fenced: 'this instance\'s ownership is suspended (a rebalance is in progress, or the group has not heard from it within its lease)',
} as const;

/** A 503 NOT_READY while a user's ownership moves, carrying the map's Retry-After (1 s). */
export function moving(message: string): ScoregateError {
  return new ScoregateError('NOT_READY', message);
}

const PEER = new Principal('cluster:peer', 'api-key', 'cluster-peer', ROLE_BITS.scorer, new TokenBucket(0, 0));

/**
 * The forward route's check: without credentials configured, anyone on the network the
 * gateway may listen on (as for /v1/score); with them, only the instances' shared secret.
 */
export function peerAuthorizer(enabled: boolean, secret: string): (authorization: string) => Principal | ScoregateError {
  if (!enabled) return () => ANONYMOUS;
  const want = Buffer.from(`Bearer ${secret}`);
  return (authorization) => {
    const got = Buffer.from(authorization);
    return got.length === want.length && timingSafeEqual(got, want) ? PEER : new ScoregateError('UNAUTHENTICATED', 'the forward route takes only other instances (CLUSTER_SECRET)');
  };
}

export interface ForwardCounts {
  answered: () => void;
  refused: () => void;
  unavailable: () => void;
}

export class Forwarder {
  private readonly pools = new Map<string, Pool>();
  private readonly headers: Record<string, string>;

  constructor(
    private readonly route: (userId: string) => Route,
    secret: string,
    private readonly counts: ForwardCounts,
  ) {
    this.headers = secret === '' ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
  }

  private pool(url: string): Pool {
    let p = this.pools.get(url);
    if (p === undefined) this.pools.set(url, (p = new Pool(url, { connections: 16, pipelining: 1, keepAliveTimeout: 30_000, connectTimeout: 1000 })));
    return p;
  }

  /**
   * The owner's answer for `value` (a transaction of `userId`), or a ScoregateError; `explain`
   * and `budgetMs` (what is left of the client's budget) go on as Explain and Request-Budget-Ms.
   */
  async forward(userId: string, value: unknown, explain: boolean, budgetMs: number): Promise<Answer> {
    const body = JSON.stringify(value);
    const headers: Record<string, string> = { ...this.headers, 'request-budget-ms': String(budgetMs) };
    if (explain) headers['explain'] = 'true';
    const deadline = performance.now() + FORWARD_WAIT_MS;
    let last = moving('the owner of this user is not known yet (rebalance in progress)');
    for (;;) {
      const r = this.route(userId);
      if (r.kind === 'local') return Promise.reject(new LocalAgain());
      if (r.kind === 'remote') {
        try {
          const res = await this.pool(r.url).request({ path: FORWARD_PATH, method: 'POST', headers, body, headersTimeout: 30_000 });
          const text = await res.body.text();
          if (res.statusCode === 200) {
            this.counts.answered();
            return { body: text, replayed: res.headers['idempotent-replayed'] === 'true', owner: r.url };
          }
          const err = errorOf(res.statusCode, text, res.headers['retry-after']);
          // Only a move is retried here (the owner no longer owns the user, or is rebuilding it);
          // any other answer, OVERLOADED and SINK_FULL included, is the owner's and goes back to
          // the client with its code and Retry-After: retrying an overloaded owner adds load.
          if (err.code !== 'NOT_READY') {
            this.counts.refused();
            throw new Passed(err);
          }
          last = moving(err.message);
        } catch (err) {
          if (err instanceof Passed) throw err.error;
          last = moving(`the owner ${r.url} cannot be reached (rebalance in progress)`);
        }
      } else if (r.kind === 'rebuilding' || r.kind === 'fenced') {
        last = moving(UNAVAILABLE[r.kind]);
      }
      if (performance.now() > deadline) {
        this.counts.unavailable();
        throw last;
      }
      await new Promise((res) => setTimeout(res, RETRY_MS));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
  }
}

/** Thrown when the user became ours while forwarding: score it here. */
export class LocalAgain extends Error {}

/** The owner's own error answer, passed to the client as it is. */
class Passed {
  constructor(readonly error: ScoregateError) {}
}

/** The owner's error answer as a ScoregateError, with its Retry-After (seconds) kept. */
function errorOf(status: number, text: string, retryAfter: string | string[] | undefined): ScoregateError {
  let e: ScoregateError;
  try {
    const b = (JSON.parse(text) as { error: { code: ErrorCode; message: string; field?: string; retryAfterMs?: number } }).error;
    e = new ScoregateError(b.code, b.message, b.field);
  } catch {
    e = new ScoregateError(status === 503 ? 'NOT_READY' : 'INTERNAL', `the owner answered ${status}`);
  }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) e.retryAfterMs = seconds * 1000;
  return e;
}
