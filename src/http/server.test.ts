/**
 * The HTTP API against the real gateway process and a real HTTP client: scoring, batches,
 * coded errors for a corpus of bad inputs, limits, and the process staying up throughout.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_TRANSACTIONS } from '../../test/support/corpus.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';

let gw: RunningGateway;

beforeAll(async () => {
  // Inference on the event loop here (the 2-core default); the WebSocket test runs a worker pool.
  gw = await startGateway({ MAX_BODY_BYTES: '262144', BATCH_MAX_ITEMS: '50', INFERENCE_WORKERS: '0' });
});
afterAll(async () => {
  expect(await gw.stop()).toBe(0);
});

interface ScoreAnswer {
  transactionId: string;
  score: number;
  riskCategory: string;
  model: { name: string; version: string };
  quality: { score: number; flags: string[] };
  tookMs: number;
}
interface ErrorAnswer {
  error: { code: string; message: string; field?: string };
}

describe('POST /v1/score', () => {
  it('scores a transaction: score in [0,1], risk category, model, quality, server time', async () => {
    const tx = validTx();
    const r = await postJson(`${gw.url}/v1/score`, tx);
    expect(r.status).toBe(200);
    const a = r.json as ScoreAnswer;
    expect(a.transactionId).toBe(tx['transactionId']);
    expect(a.score).toBeGreaterThanOrEqual(0);
    expect(a.score).toBeLessThanOrEqual(1);
    expect(a.riskCategory).toBe(a.score > 0.8 ? 'HIGH' : a.score > 0.5 ? 'MEDIUM' : 'LOW');
    expect(a.model.name).toBe('fraud-detector');
    expect(a.model.version).not.toBe('');
    expect(a.quality).toEqual({ score: 1, flags: [] });
    expect(a.tookMs).toBeGreaterThan(0);
  });

  it('accepts ISO-8601 timestamps and number amounts', async () => {
    const r = await postJson(`${gw.url}/v1/score`, validTx({ timestamp: new Date().toISOString(), amount: 19.99 }));
    expect(r.status).toBe(200);
  });

  it('flags an inconsistent amount and an out-of-range timestamp but still scores', async () => {
    const user = `u-flags-${Date.now()}`;
    for (let i = 0; i < 5; i++) expect((await postJson(`${gw.url}/v1/score`, validTx({ userId: user, amount: '10.00' }))).status).toBe(200);
    const r = await postJson(`${gw.url}/v1/score`, validTx({ userId: user, amount: '500.00', timestamp: Date.now() + 600_000 }));
    expect(r.status).toBe(200);
    expect((r.json as ScoreAnswer).quality).toEqual({ score: 0.5, flags: ['TIMESTAMP_AHEAD', 'AMOUNT_INCONSISTENT'] });
    const stale = await postJson(`${gw.url}/v1/score`, validTx({ userId: user, timestamp: Date.now() - 2 * 86_400_000 }));
    expect((stale.json as ScoreAnswer).quality).toEqual({ score: 0.75, flags: ['TIMESTAMP_STALE'] });
  });

  it('answers 409 DUPLICATE_TRANSACTION for a transactionId already scored', async () => {
    const tx = validTx();
    expect((await postJson(`${gw.url}/v1/score`, tx)).status).toBe(200);
    const r = await postJson(`${gw.url}/v1/score`, tx);
    expect(r.status).toBe(409);
    expect((r.json as ErrorAnswer).error).toMatchObject({ code: 'DUPLICATE_TRANSACTION', field: 'transactionId' });
  });

  for (const c of BAD_TRANSACTIONS) {
    it(`bad input: ${c.name} → ${c.code}`, async () => {
      const r = await postJson(`${gw.url}/v1/score`, c.tx());
      expect(r.status).toBe(c.code === 'DUPLICATE_TRANSACTION' ? 409 : 400);
      const e = (r.json as ErrorAnswer).error;
      expect(e.code).toBe(c.code);
      expect(e.message.length).toBeGreaterThan(0);
      if (c.field !== undefined) expect(e.field).toBe(c.field);
    });
  }

  it('sends fatal failures to the dead-letter sink with code, field and raw payload', async () => {
    const raw = JSON.stringify(validTx({ currency: 'QQQ', transactionId: 'dlq-probe' }));
    await postJson(`${gw.url}/v1/score`, raw);
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(join(gw.dataDir, 'dlq.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const dl = lines.find((l) => l['raw'] === raw);
    expect(dl).toMatchObject({ code: 'INVALID_CURRENCY', field: 'currency', source: 'http' });
  });

  it('writes scored events to the scored sink', async () => {
    const tx = validTx({ transactionId: `sink-probe-${Date.now()}` });
    await postJson(`${gw.url}/v1/score`, tx);
    await new Promise((r) => setTimeout(r, 200));
    const text = readFileSync(join(gw.dataDir, 'scored.jsonl'), 'utf8');
    const ev = text.trim().split('\n').map((l) => JSON.parse(l) as { transaction: { transactionId: string }; score: number }).find((e) => e.transaction.transactionId === tx['transactionId']);
    expect(ev?.score).toBeGreaterThanOrEqual(0);
  });

  it('answers 415 for a wrong content type', async () => {
    const r = await fetch(`${gw.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(validTx()) });
    expect(r.status).toBe(415);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    const big = JSON.stringify(validTx({ metadata: { pad: 'x'.repeat(300_000) } }));
    const r = await postJson(`${gw.url}/v1/score`, big);
    expect(r.status).toBe(413);
    expect((r.json as ErrorAnswer).error.code).toBe('BODY_TOO_LARGE');
    // Chunked, no content-length: the limit is enforced while reading, and the answer comes
    // before the client has finished sending.
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      const s = connect(gw.port, '127.0.0.1', () => {
        s.write('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = 'x'.repeat(10_000);
        let i = 0;
        const send = (): void => {
          if (i++ < 40 && !s.destroyed) {
            s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, () => setTimeout(send, 1));
          }
        };
        send();
      });
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('error', () => resolve(got));
      s.on('close', () => resolve(got));
      setTimeout(() => s.destroy(), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('BODY_TOO_LARGE');
  });

  it('answers 404 for unknown routes and 405 for a wrong method', async () => {
    const r = await fetch(`${gw.url}/nope`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('NOT_FOUND');
    const r2 = await fetch(`${gw.url}/v1/score`);
    expect(r2.status).toBe(405);
    expect(((await r2.json()) as ErrorAnswer).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('survives aborted and half-sent requests, and does not mix answers', async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const s = connect(gw.port, '127.0.0.1', () => {
          s.write(`POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"transactionId":`);
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 5);
        });
        s.on('error', () => resolve());
      });
    }
    const txs = Array.from({ length: 50 }, (_, i) => validTx({ userId: `mix-${i}` }));
    const answers = await Promise.all(txs.map((t) => postJson(`${gw.url}/v1/score`, t)));
    answers.forEach((a, i) => expect((a.json as ScoreAnswer).transactionId).toBe(txs[i]!['transactionId']));
    expect(gw.exited()).toBe(false);
  });
});

describe('POST /v1/score/batch', () => {
  it('answers a result or an error for each transaction, in order', async () => {
    const ok1 = validTx();
    const ok2 = validTx();
    const r = await postJson(`${gw.url}/v1/score/batch`, [ok1, { ...validTx(), amount: '-1' }, ok2, ok1]);
    expect(r.status).toBe(200);
    const results = (r.json as { results: ({ result: ScoreAnswer } | { error: { code: string; index: number } })[] }).results;
    expect(results).toHaveLength(4);
    expect('result' in results[0]! && results[0].result.transactionId).toBe(ok1['transactionId']);
    expect('error' in results[1]! && results[1].error.code).toBe('INVALID_AMOUNT');
    expect('result' in results[2]! && results[2].result.transactionId).toBe(ok2['transactionId']);
    expect('error' in results[3]! && results[3].error.code).toBe('DUPLICATE_TRANSACTION');
  });

  it('accepts {"transactions": [...]} and refuses more than the configured number', async () => {
    expect((await postJson(`${gw.url}/v1/score/batch`, { transactions: [validTx()] })).status).toBe(200);
    const r = await postJson(`${gw.url}/v1/score/batch`, Array.from({ length: 51 }, () => validTx()));
    expect(r.status).toBe(413);
    expect((r.json as ErrorAnswer).error.code).toBe('BATCH_TOO_LARGE');
    const r2 = await postJson(`${gw.url}/v1/score/batch`, { nope: 1 });
    expect((r2.json as ErrorAnswer).error.code).toBe('INVALID_BODY');
  });
});

describe('operations endpoints', () => {
  it('healthz, readyz, models and metrics answer', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as { active: { name: string; version: string } };
    expect(models.active.name).toBe('fraud-detector');
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const name of [
      'scoregate_request_duration_seconds_bucket',
      'scoregate_in_flight',
      'scoregate_quality_checks_total{check="completeness",result="fail"}',
      'scoregate_quality_checks_total{check="uniqueness",result="fail"}',
      'scoregate_quality_ratio{check="validity"}',
      'scoregate_model_info{name="fraud-detector"',
      'scoregate_inference_batch_rows_bucket',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('is still up after everything above', () => {
    expect(gw.exited()).toBe(false);
  });
});

describe('admin-only reads', () => {
  it("a user's window needs the admin token (disabled when ADMIN_TOKEN is unset)", async () => {
    const r = await fetch(`${gw.url}/v1/users/user-1/window`);
    expect(r.status).toBe(403);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('ADMIN_DISABLED');
  });
});
