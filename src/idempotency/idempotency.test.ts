/**
 * Idempotent retries against the real gateway process, over HTTP, batch and WebSocket: a retry
 * replays the first answer byte for byte (however the same transaction is written), another
 * transaction under the same id is refused and dead-lettered, concurrent first tries are
 * scored once, failures are not remembered, and nothing replayed is counted again. Pipelined
 * requests that uWS drops unanswered get their answers on retry.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { maskText } from '../privacy/index.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { rawExchange, statuses } from '../../test/support/raw.js';
import { openClient } from '../../test/support/ws.js';

const ADMIN = 'idem-admin-token';
let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway({ ADMIN_TOKEN: ADMIN, INFERENCE_WORKERS: '0' });
});
afterAll(async () => {
  expect(await gw.stop()).toBe(0);
});

let names = 0;
const fresh = (what: string): string => `${what}-${process.pid}-${Date.now().toString(36)}-${names++}`;

interface ScoredLine {
  transaction: { transactionId: string };
  score: number;
}
function scoredEvents(dir: string, id: string): ScoredLine[] {
  return readFileSync(join(dir, 'scored.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScoredLine).filter((e) => e.transaction.transactionId === id);
}
function deadLetters(dir: string): { code: string; raw: string }[] {
  return readFileSync(join(dir, 'dlq.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { code: string; raw: string });
}
async function windowSize(userId: string): Promise<number> {
  const r = await fetch(`${gw.url}/v1/users/${encodeURIComponent(userId)}/window`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return r.status === 404 ? 0 : ((await r.json()) as { events: unknown[] }).events.length;
}
async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.slice(0, l.lastIndexOf(' ')) === name);
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('idempotent retries', () => {
  it('the same transaction, written any way, replays the first answer byte for byte and counts nothing again', async () => {
    const user = fresh('same');
    const ts = Date.now() - 1000;
    const tx = { transactionId: fresh('tx'), userId: user, amount: '42.10', currency: 'EUR', timestamp: ts, metadata: { b: '2', a: '1' }, merchantId: 'm-9', channel: 'web' };
    const first = await postJson(`${gw.url}/v1/score`, tx);
    expect(first.status).toBe(200);
    const scoredBefore = await counter('scoregate_transactions_total{source="http",outcome="scored"}');
    // Field order, number vs string amount, ISO vs epoch timestamp, metadata key order.
    const variants = [
      tx,
      { channel: 'web', merchantId: 'm-9', metadata: { a: '1', b: '2' }, timestamp: ts, currency: 'EUR', amount: '42.10', userId: user, transactionId: tx.transactionId },
      { ...tx, amount: 42.1 },
      { ...tx, amount: '42.1' },
      { ...tx, timestamp: new Date(ts).toISOString() },
    ];
    for (const v of variants) {
      const r = await postJson(`${gw.url}/v1/score`, v);
      expect(r.status).toBe(200);
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(r.text).toBe(first.text);
    }
    expect(await counter('scoregate_transactions_total{source="http",outcome="scored"}')).toBe(scoredBefore);
    expect(await counter('scoregate_idempotent_replays_total{source="http"}')).toBeGreaterThanOrEqual(variants.length);
    expect(await windowSize(user)).toBe(1);
    expect(scoredEvents(gw.dataDir, tx.transactionId)).toHaveLength(1);
    // Over the WebSocket and in a batch too.
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify({ id: 'again', transaction: tx }));
    const [w] = await c.waitFor(1);
    expect(w).toEqual({ id: 'again', result: JSON.parse(first.text) as unknown, replayed: true });
    c.ws.close();
    const b = await postJson(`${gw.url}/v1/score/batch`, [tx]);
    expect(b.text).toMatch(new RegExp(`^\\{"results":\\[\\{"result":${first.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},"replayed":true\\}\\]`));
  });

  it('another transaction under an answered id is 422 IDEMPOTENCY_KEY_REUSED, dead-lettered and not counted', async () => {
    const user = fresh('reuse');
    const tx = validTx({ userId: user });
    expect((await postJson(`${gw.url}/v1/score`, tx)).status).toBe(200);
    for (const change of [{ amount: '42.11' }, { currency: 'USD' }, { userId: fresh('other') }, { metadata: { country: 'FR' } }, { merchantId: null }]) {
      const body = JSON.stringify({ ...tx, ...change });
      const r = await postJson(`${gw.url}/v1/score`, body);
      expect(r.status, JSON.stringify(change)).toBe(422);
      expect((r.json as { error: { code: string; field: string } }).error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'transactionId' });
      // The dead letter keeps the raw payload as privacy masking leaves it (a digit run in a
      // generated id can look like a card number).
      await vi.waitFor(() => expect(deadLetters(gw.dataDir).some((d) => d.code === 'IDEMPOTENCY_KEY_REUSED' && d.raw === maskText(body))).toBe(true));
    }
    expect(await windowSize(user)).toBe(1);
    expect(scoredEvents(gw.dataDir, tx['transactionId'] as string)).toHaveLength(1);
  });

  it('concurrent first tries of one id: exactly one is scored, the others wait and get its answer', async () => {
    const user = fresh('race');
    const tx = validTx({ userId: user });
    const rs = await Promise.all(Array.from({ length: 20 }, () => postJson(`${gw.url}/v1/score`, tx)));
    expect(rs.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(rs.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(new Set(rs.map((r) => r.text)).size).toBe(1);
    expect(await windowSize(user)).toBe(1);
    expect(scoredEvents(gw.dataDir, tx['transactionId'] as string)).toHaveLength(1);
    // And on one WebSocket frame.
    const wtx = validTx({ userId: fresh('race-ws') });
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify([1, 2, 3, 4, 5].map((id) => ({ id, transaction: wtx }))));
    const replies = await c.waitFor(5);
    expect(replies.filter((r) => r.replayed !== true)).toHaveLength(1);
    expect(new Set(replies.map((r) => JSON.stringify(r.result))).size).toBe(1);
    c.ws.close();
  });

  it('a failed request is not remembered: the corrected retry is scored', async () => {
    const tx = validTx({ userId: fresh('fixed') });
    const bad = await postJson(`${gw.url}/v1/score`, { ...tx, currency: 'QQQ' });
    expect(bad.status).toBe(400);
    const good = await postJson(`${gw.url}/v1/score`, tx);
    expect(good.status).toBe(200);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });

  it('pipelined requests: uWS may drop the connection with some unanswered, and each retry gets its answer, never a conflict', async () => {
    const txs = [0, 1, 2].map(() => validTx({ userId: fresh('pipe') }));
    const request = (t: Record<string, unknown>): string => {
      const body = JSON.stringify(t);
      return `POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    };
    const ex = await rawExchange(gw.port, (send) => send(txs.map(request).join('')), { until: (t) => statuses(t).length === 3 });
    const firstTry = statuses(ex.text);
    // Whatever came back, each transaction is answered once retried (replayed when it was scored).
    for (const t of txs) {
      const r = await postJson(`${gw.url}/v1/score`, t);
      expect(r.status).toBe(200);
      expect((r.json as { transactionId: string }).transactionId).toBe(t['transactionId']);
      expect(scoredEvents(gw.dataDir, t['transactionId'] as string)).toHaveLength(1);
    }
    expect(firstTry.every((s) => s === 200)).toBe(true);
  });
});

describe('remembered answers are bounded', () => {
  it('past IDEMPOTENCY_MAX_ANSWERS the oldest answer is forgotten, and its id is still refused as a duplicate (409), never scored twice', async () => {
    const small = await startGateway({ IDEMPOTENCY_MAX_ANSWERS: '2', INFERENCE_WORKERS: '0' });
    try {
      const txs = [0, 1, 2].map(() => validTx({ userId: fresh('evict') }));
      for (const t of txs) expect((await postJson(`${small.url}/v1/score`, t)).status).toBe(200);
      const oldest = await postJson(`${small.url}/v1/score`, txs[0]);
      expect(oldest.status).toBe(409);
      expect((oldest.json as { error: { code: string } }).error.code).toBe('DUPLICATE_TRANSACTION');
      const newest = await postJson(`${small.url}/v1/score`, txs[2]);
      expect(newest.headers.get('idempotent-replayed')).toBe('true');
    } finally {
      expect(await small.stop()).toBe(0);
    }
  });
});
