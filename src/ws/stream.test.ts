/**
 * /v1/stream against the real gateway process with a real WebSocket client (ws): results per
 * id, many in flight, arrays in one frame, coded errors for the bad-input corpus with the
 * connection staying up, and a client that does not read being closed, not buffered forever.
 * Scores are checked by value against the oracle (test/support/oracle.ts): the model's output
 * for the features each transaction should have, given the ones sent before it.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../core/config.js';
import { BAD_TRANSACTIONS } from '../../test/support/corpus.js';
import { startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { ScoreOracle, differences } from '../../test/support/oracle.js';
import { knownSequence, type Tx } from '../../test/support/sequence.js';
import { openClient, type Client } from '../../test/support/ws.js';

let gw: RunningGateway;
let config: Config;
let oracle: ScoreOracle;

beforeAll(async () => {
  gw = await startGateway({ WS_MAX_BACKPRESSURE_BYTES: '65536', WS_MAX_PAYLOAD_BYTES: '524288' });
  config = loadConfig(gw.env);
  oracle = await ScoreOracle.open(config);
});
afterAll(async () => {
  await oracle?.close();
  expect(await gw.stop()).toBe(0);
});

let names = 0;
/** A sequence of users and transactions the gateway has not seen (test/support/sequence.ts). */
function sequence(what: string, users: number, perUser: number): Tx[] {
  const prefix = `${what}-${process.pid}-${Date.now().toString(36)}-${names++}`;
  return knownSequence({ prefix, users, perUser, now: Date.now(), allowedLatenessMs: config.allowedLatenessMs });
}

function client(): Promise<Client> {
  return openClient(gw.port);
}

describe('WebSocket /v1/stream', () => {
  it("scores many transactions in flight on one connection, one reply per id, each the model's score for its features", async () => {
    const c = await client();
    // 7 users × 42 interleaved in time, then the late, stale, ahead, duplicate and invalid ones.
    const seq = sequence('ws-many', 7, 42);
    const n = seq.length;
    expect(n).toBe(301); // 300 and the retry the sequence ends with
    const expected = await oracle.replay(seq);
    // One frame each, all sent before any reply is read: frames are handled in the order sent.
    for (let i = 0; i < n; i++) c.ws.send(JSON.stringify({ id: i, transaction: seq[i] }));
    const replies = await c.waitFor(n);
    expect(new Set(replies.map((r) => r.id)).size).toBe(n);
    const answers = c.answersFor(seq.map((_, i) => i));
    expected.forEach((e, i) => {
      if (e.kind === 'scored') expect(answers[i]?.error).toBeUndefined();
    });
    expect(differences(expected, answers)).toEqual([]);
    c.ws.close();
  });

  it("takes an array of messages in one frame, many frames in flight, each the model's score for its features", async () => {
    const c = await client();
    const items = Array.from({ length: 20 }, (_, i) => ({ id: `a${i}`, transaction: validTx() }));
    c.ws.send(JSON.stringify(items));
    const replies = await c.waitFor(20);
    expect(replies.map((r) => r.id).sort()).toEqual(items.map((i) => i.id).sort());

    // A known sequence in frames of up to 16 messages, all frames sent at once.
    const seq = sequence('ws-frames', 5, 24);
    const expected = await oracle.replay(seq);
    const ids = seq.map((_, i) => `f${i}`);
    for (let i = 0; i < seq.length; i += 16) {
      c.ws.send(JSON.stringify(seq.slice(i, i + 16).map((t, j) => ({ id: ids[i + j], transaction: t }))));
    }
    await c.waitFor(20 + seq.length);
    expect(differences(expected, c.answersFor(ids))).toEqual([]);
    c.ws.close();
  });

  it('answers each bad input with its coded error and keeps the connection up', async () => {
    const c = await client();
    let expected = 0;
    for (const [i, bad] of BAD_TRANSACTIONS.entries()) {
      const raw = bad.tx();
      // Invalid JSON makes the whole frame bad (id unknown); otherwise the transaction is bad.
      if (bad.code === 'INVALID_JSON') c.ws.send(`{"id":${i},"transaction":${raw}}`);
      else c.ws.send(`{"id":${i},"transaction":${raw}}`);
      expected++;
    }
    c.ws.send('not json at all');
    c.ws.send(JSON.stringify({ transaction: validTx() }));
    c.ws.send(JSON.stringify({ id: 'no-tx' }));
    c.ws.send(JSON.stringify([1, 2]));
    expected += 5;
    const dup = validTx();
    c.ws.send(JSON.stringify([{ id: 'd1', transaction: dup }, { id: 'd2', transaction: dup }, { id: 'd3', transaction: { ...dup, amount: '1.00' } }]));
    expected += 2;
    const replies = await c.waitFor(expected + 1);
    for (const [i, bad] of BAD_TRANSACTIONS.entries()) {
      const r = bad.code === 'INVALID_JSON' ? replies.find((x) => x.id === null && x.error?.code === 'INVALID_JSON') : replies.find((x) => x.id === i);
      expect(r?.error?.code, bad.name).toBe(bad.code);
      if (bad.field !== undefined && bad.code !== 'INVALID_JSON') expect(r?.error?.field, bad.name).toBe(bad.field);
    }
    expect(replies.find((x) => x.id === 'no-tx')?.error?.code).toBe('MISSING_FIELD');
    expect(replies.find((x) => x.id === 'd1')?.result).toBeDefined();
    // The same transaction again replays the first answer; another under the same id is refused.
    const d1 = replies.find((x) => x.id === 'd1')!;
    expect(replies.find((x) => x.id === 'd2')).toEqual({ ...d1, id: 'd2', replayed: true });
    expect(replies.find((x) => x.id === 'd3')?.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Still up: a good transaction scores on the same connection.
    const before = c.replies.length;
    c.ws.send(JSON.stringify({ id: 'after', transaction: validTx() }));
    await c.waitFor(before + 1);
    expect(c.replies.find((x) => x.id === 'after')?.result).toBeDefined();
    expect(c.closed).toBeNull();
    c.ws.close();
  });

  it('closes a client that sends but never reads, with 1008 and a reason', async () => {
    const c = await client();
    // Stop reading: pause the underlying socket so the server's writes back up.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: `x${i}-${'p'.repeat(200)}`, transaction: validTx() })));
    let sent = 0;
    for (; sent < 400 && c.ws.readyState === WebSocket.OPEN; sent++) {
      c.ws.send(frame);
      await new Promise((r) => setTimeout(r, 2));
    }
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await vi.waitFor(() => expect(c.closed).not.toBeNull(), { timeout: 20_000, interval: 50 });
    expect(c.closed?.code).toBe(1008);
    expect(c.closed?.reason).toMatch(/backpressure/);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/scoregate_ws_closed_total\{reason="backpressure"\} [1-9]/);
    expect(gw.exited()).toBe(false);
  });
});
