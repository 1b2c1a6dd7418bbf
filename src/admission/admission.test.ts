/**
 * Admission, deadlines and the fallback score, against the real gateway process with real
 * models that misbehave for real (test/fixtures/slow: every run ~0.2 s; test/fixtures/failing:
 * onnxruntime fails a batch holding an amount ≥ 100000). Nothing here depends on timing: the
 * slow model is slower than any budget set here by two orders of magnitude, and the admission
 * limit is pinned to one slot so the second request in flight is shed whatever the machine does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT, loadConfig } from '../core/config.js';
import { fallbackScore, FALLBACK_MODEL } from './fallback.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { ScoreOracle, type Expectation } from '../../test/support/oracle.js';
import { openClient } from '../../test/support/ws.js';
import { rawExchange, statuses } from '../../test/support/raw.js';

const SLOW = join(REPO_ROOT, 'test/fixtures/slow');
const FAILING = join(REPO_ROOT, 'test/fixtures/failing');
const SHIPPED = join(REPO_ROOT, 'models/fraud-detector');

interface ScoreAnswer {
  transactionId: string;
  score: number;
  riskCategory: string;
  model: { name: string; version: string };
  fallback?: boolean;
  fallbackReason?: string;
}
interface ErrorAnswer {
  error: { code: string; message: string; field?: string; retryAfterMs?: number };
}

let names = 0;
const fresh = (what: string): string => `${what}-${process.pid}-${Date.now().toString(36)}-${names++}`;

/** The feature row the gateway computes for `tx` as the first transaction of a new user. */
async function featuresOf(gw: RunningGateway, tx: Record<string, unknown>): Promise<Float32Array> {
  const oracle = await ScoreOracle.open({ ...loadConfig(gw.env), modelDir: SHIPPED });
  try {
    const [e] = (await oracle.replay([tx])) as Extract<Expectation, { kind: 'scored' }>[];
    return e!.features;
  } finally {
    await oracle.close();
  }
}

async function metric(gw: RunningGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.slice(0, l.lastIndexOf(' ')) === name);
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('admission: over the limit is shed before any work, with a retry hint', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MODEL_DIR: SLOW, ADMISSION_MIN_LIMIT: '1', ADMISSION_MAX_LIMIT: '1' });
  });
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
  });

  it('a second transaction while one is inside gets 503 OVERLOADED with Retry-After; operations routes never are', async () => {
    // The first transaction holds the one slot for as long as the test needs: admitted before
    // its body is read, its body arrives in two halves, the second only after the checks (a
    // slow model alone left a ~0.2 s window that a loaded machine could miss).
    const first = validTx({ userId: fresh('adm') });
    const body = JSON.stringify(first);
    const cut = body.length >> 1;
    let rest: () => void = () => undefined;
    const pending = rawExchange(
      gw.port,
      (send) => {
        send(`POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, cut)}`);
        rest = () => send(body.slice(cut));
      },
      { idleMs: 30_000, until: (t) => t.includes('\r\n\r\n') && t.trimEnd().endsWith('}') },
    );
    // Admitted once a probe (a transaction of its own) is shed; a probe that came first is scored.
    await vi.waitFor(async () => expect((await postJson(`${gw.url}/v1/score`, validTx({ userId: fresh('probe') }))).status).toBe(503), { timeout: 10_000, interval: 20 });
    const second = validTx({ userId: fresh('adm') });
    const shed = await postJson(`${gw.url}/v1/score`, second);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect((shed.json as ErrorAnswer).error).toMatchObject({ code: 'OVERLOADED', retryAfterMs: 1000 });
    const batch = await postJson(`${gw.url}/v1/score/batch`, [validTx()]);
    expect(batch.status).toBe(503);
    expect((batch.json as ErrorAnswer).error.code).toBe('OVERLOADED');
    // Health, readiness and metrics are not behind the limit.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${gw.url}/v1/models`)).status).toBe(200);
    // A WebSocket message over the limit gets its own error with the hint; the connection stays.
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify({ id: 'w1', transaction: validTx() }));
    const [reply] = await c.waitFor(1);
    expect(reply).toMatchObject({ id: 'w1', error: { code: 'OVERLOADED', retryAfterMs: 1000 } });
    expect(c.closed).toBeNull();
    c.ws.close();
    // The first one, its body complete, is scored by the model.
    rest();
    const r1 = await pending;
    expect(statuses(r1.text)).toEqual([200]);
    expect((JSON.parse(r1.text.slice(r1.text.indexOf('\r\n\r\n') + 4)) as ScoreAnswer).model.name).toBe('slow');
    // A shed transaction was not remembered or counted: its retry is scored normally.
    const retry = await postJson(`${gw.url}/v1/score`, second);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await metric(gw, 'scoregate_shed_total{transport="http"}')).toBe(3); // the probe, the second, the batch
    expect(await metric(gw, 'scoregate_shed_total{transport="ws"}')).toBe(1);
  });

  it('a client may lower its budget per request (header or WebSocket field), never raise it; a bad value is 400', async () => {
    const tx = validTx({ userId: fresh('budget') });
    const r = await postJson(`${gw.url}/v1/score`, tx, { 'request-budget-ms': '20' });
    expect(r.status).toBe(200);
    const a = r.json as ScoreAnswer;
    expect(a).toMatchObject({ fallback: true, fallbackReason: 'deadline', model: FALLBACK_MODEL });
    expect(Math.abs(a.score - fallbackScore(await featuresOf(gw, tx), 0))).toBeLessThanOrEqual(1e-12);
    for (const bad of ['0', '-5', 'soon', '1.5']) {
      const b = await postJson(`${gw.url}/v1/score`, validTx(), { 'request-budget-ms': bad });
      expect(b.status, bad).toBe(400);
      expect((b.json as ErrorAnswer).error).toMatchObject({ code: 'INVALID_FIELD', field: 'Request-Budget-Ms' });
    }
    const c = await openClient(gw.port);
    const wtx = validTx({ userId: fresh('budget-ws') });
    c.ws.send(JSON.stringify({ id: 1, transaction: wtx, budgetMs: 20 }));
    c.ws.send(JSON.stringify({ id: 2, transaction: validTx(), budgetMs: 'fast' }));
    const replies = await c.waitFor(2);
    const byId = new Map(replies.map((x) => [x.id, x]));
    expect(byId.get(1)?.result).toMatchObject({ model: FALLBACK_MODEL });
    expect((byId.get(1)?.result as ScoreAnswer).fallbackReason).toBe('deadline');
    expect(byId.get(2)?.error).toMatchObject({ code: 'INVALID_FIELD', field: 'budgetMs' });
    c.ws.close();
  });
});

describe('deadlines: past the budget the fallback rule model answers, marked, counted and written as such', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MODEL_DIR: SLOW, REQUEST_BUDGET_MS: '25' });
  });
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
  });

  it("answers the rule model's score for the transaction's features within the budget, and replays it", async () => {
    const tx = validTx({ userId: fresh('deadline'), amount: '915.00' });
    const r = await postJson(`${gw.url}/v1/score`, tx);
    expect(r.status).toBe(200);
    const a = r.json as ScoreAnswer;
    expect(a).toMatchObject({ transactionId: tx['transactionId'], fallback: true, fallbackReason: 'deadline', model: FALLBACK_MODEL });
    expect(Math.abs(a.score - fallbackScore(await featuresOf(gw, tx), 0))).toBeLessThanOrEqual(1e-12);
    // The event says so, and a retry gets the same answer.
    await vi.waitFor(() => {
      const ev = readFileSync(join(gw.dataDir, 'scored.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { transaction: { transactionId: string }; fallback: string; model: { name: string } }).find((e) => e.transaction.transactionId === tx['transactionId']);
      expect(ev).toMatchObject({ fallback: 'deadline', model: { name: 'fallback-rules' } });
    });
    const again = await postJson(`${gw.url}/v1/score`, tx);
    expect(again.text).toBe(r.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await metric(gw, 'scoregate_fallback_total{reason="deadline"}')).toBe(1);
  });
});

describe('a failing model: the fallback answers instead of a 500', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ MODEL_DIR: FAILING, INFERENCE_WORKERS: '0' });
  });
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
  });

  it('a transaction the model fails on gets the rule score (inference_failed); the next one gets the model again', async () => {
    const bad = validTx({ userId: fresh('fail'), amount: '150000.00' });
    const r = await postJson(`${gw.url}/v1/score`, bad);
    expect(r.status).toBe(200);
    const a = r.json as ScoreAnswer;
    expect(a).toMatchObject({ fallback: true, fallbackReason: 'inference_failed', model: FALLBACK_MODEL });
    expect(Math.abs(a.score - fallbackScore(await featuresOf(gw, bad), 0))).toBeLessThanOrEqual(1e-12);
    const good = validTx({ userId: fresh('fail') });
    const g = await postJson(`${gw.url}/v1/score`, good);
    expect(g.status).toBe(200);
    const ga = g.json as ScoreAnswer;
    expect(ga.fallback).toBeUndefined();
    expect(ga.model.name).toBe('failing');
    const oracle = await ScoreOracle.open(loadConfig(gw.env));
    try {
      const [e] = (await oracle.replay([good])) as Extract<Expectation, { kind: 'scored' }>[];
      expect(Math.abs(ga.score - e!.score)).toBeLessThanOrEqual(1e-5);
    } finally {
      await oracle.close();
    }
    expect(await metric(gw, 'scoregate_fallback_total{reason="inference_failed"}')).toBe(1);
  });
});

describe('cold start', () => {
  it('answers 503 NOT_READY with Retry-After until the first model is loaded and warmed (no fallback without a model)', async () => {
    const gw = await startGateway({ MODEL_DIR: SLOW }, { waitReady: false });
    try {
      const r = await postJson(`${gw.url}/v1/score`, validTx());
      expect(r.status).toBe(503);
      expect((r.json as ErrorAnswer).error).toMatchObject({ code: 'NOT_READY', retryAfterMs: 1000 });
      expect(r.headers.get('retry-after')).toBe('1'); // every 503 says when to retry
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
      await vi.waitFor(async () => expect((await fetch(`${gw.url}/readyz`)).status).toBe(200), { timeout: 30_000, interval: 50 });
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });
});
