/**
 * Explanations through the real gateway process: an answer carries the top contributors when
 * asked (HTTP ?explain=true or Explain: true, batch, WebSocket "explain": true), not otherwise;
 * what it carries is the model's own TreeSHAP for the transaction's features (its margin is
 * the score's log-odds); the scored event carries it when asked, and for MEDIUM and HIGH scores
 * (with EXPLAIN_EVENTS=risky; the default is asked) even when not; a replay gives the first answer back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { openClient } from '../../test/support/ws.js';

interface Explained {
  score: number;
  riskCategory: string;
  explanation?: { bias: number; margin: number; top: { feature: string; code: string; value: number; contribution: number }[] } | null;
}

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ INFERENCE_WORKERS: '0', EXPLAIN_EVENTS: 'risky' });
}, 60_000);
afterAll(async () => {
  await gw?.stop();
});

function events(): Record<string, { explanation?: unknown; explanationInAnswer?: boolean; riskCategory: string }> {
  const out: Record<string, { explanation?: unknown; explanationInAnswer?: boolean; riskCategory: string }> = {};
  for (const line of readFileSync(join(gw.dataDir, 'scored.jsonl'), 'utf8').trim().split('\n')) {
    const ev = JSON.parse(line) as { transaction: { transactionId: string }; explanation?: unknown; explanationInAnswer?: boolean; riskCategory: string };
    out[ev.transaction.transactionId] = ev;
  }
  return out;
}

function checkExplained(a: Explained): void {
  const x = a.explanation!;
  expect(x).toBeTruthy();
  expect(x.top.length).toBeGreaterThan(0);
  expect(x.top.length).toBeLessThanOrEqual(5);
  // The margin is the answered score's log-odds: the explanation is of this model's score.
  expect(1 / (1 + Math.exp(-x.margin))).toBeCloseTo(a.score, 6);
  for (const c of x.top) expect(c.code).toMatch(/^[A-Z0-9_]+$/);
}

describe('explained answers', () => {
  it('HTTP: ?explain=true and Explain: true carry the top contributors; a plain request does not', async () => {
    const q = await postJson(`${gw.url}/v1/score?explain=true`, validTx({ userId: 'ex-http-1' }));
    expect(q.status).toBe(200);
    checkExplained(q.json as Explained);
    const h = await postJson(`${gw.url}/v1/score`, validTx({ userId: 'ex-http-2' }), { explain: 'true' });
    checkExplained(h.json as Explained);
    const plain = await postJson(`${gw.url}/v1/score`, validTx({ userId: 'ex-http-3' }));
    expect(plain.status).toBe(200);
    expect(plain.text).not.toContain('explanation');
    const b = await postJson(`${gw.url}/v1/score/batch?explain=true`, [validTx({ userId: 'ex-b-1' }), validTx({ userId: 'ex-b-2' })]);
    for (const r of (b.json as { results: { result: Explained }[] }).results) checkExplained(r.result);
  });

  it('a velocity burst at new merchants is explained by velocity and new-merchant codes, and the event carries it', async () => {
    const t0 = Date.now() - 60_000;
    let last: { json: unknown; text: string } | null = null;
    let lastTx: Record<string, unknown> | null = null;
    const ids: string[] = [];
    for (let k = 0; k < 7; k++) {
      const tx = validTx({ userId: 'ex-burst', merchantId: `m-burst-${k}`, amount: `${20 + k}.50`, timestamp: t0 + k * 5_000 });
      lastTx = tx;
      ids.push(tx['transactionId'] as string);
      last = await postJson(`${gw.url}/v1/score?explain=true`, tx);
    }
    const a = last!.json as Explained;
    expect(a.riskCategory).toBe('HIGH');
    checkExplained(a);
    const codes = a.explanation!.top.filter((c) => c.contribution > 0).map((c) => c.code);
    expect(codes.some((c) => c.startsWith('VELOCITY_'))).toBe(true);
    expect(codes).toContain('NEW_MERCHANT');
    // A retry (even without explain) replays the first answer byte for byte.
    const again = await postJson(`${gw.url}/v1/score`, lastTx!);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(last!.text);
    await vi.waitFor(() => expect(events()[ids[6]!]).toBeDefined());
    const ev = events()[ids[6]!]!;
    expect(ev.explanationInAnswer).toBe(true);
    expect(ev.explanation).toEqual(a.explanation);
  });

  it('unasked: a MEDIUM/HIGH event still carries its explanation (EXPLAIN_EVENTS=risky), a LOW one does not', async () => {
    const t0 = Date.now() - 60_000;
    const ids: string[] = [];
    let risk = '';
    for (let k = 0; k < 7; k++) {
      const tx = validTx({ userId: 'ex-quiet', merchantId: `m-q-${k}`, amount: `${20 + k}.50`, timestamp: t0 + k * 5_000 });
      ids.push(tx['transactionId'] as string);
      const r = await postJson(`${gw.url}/v1/score`, tx);
      expect(r.text).not.toContain('explanation');
      risk = (r.json as Explained).riskCategory;
    }
    expect(risk).not.toBe('LOW');
    await vi.waitFor(() => expect(events()[ids[6]!]).toBeDefined());
    const all = events();
    expect(all[ids[6]!]!.explanation).toBeTruthy();
    expect(all[ids[6]!]!.explanationInAnswer).toBeUndefined();
    expect(all[ids[0]!]!.riskCategory).toBe('LOW');
    expect(all[ids[0]!]!.explanation).toBeUndefined();
  });

  it('WebSocket: "explain": true carries it for that message only', async () => {
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify([
      { id: 1, transaction: validTx({ userId: 'ex-ws-1' }), explain: true },
      { id: 2, transaction: validTx({ userId: 'ex-ws-2' }) },
    ]));
    await c.waitFor(2);
    const [one, two] = c.answersFor([1, 2]) as unknown as { result: Explained }[];
    checkExplained(one!.result);
    expect(two!.result.explanation).toBeUndefined();
    c.ws.close();
  });
});
