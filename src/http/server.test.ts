/**
 * The HTTP API against the real gateway process and a real HTTP client: scoring, batches,
 * coded errors for a corpus of bad inputs, limits, and the process staying up throughout.
 * Scores are checked by value against the oracle (test/support/oracle.ts): the model's output
 * for the features each transaction should have, given the ones sent before it.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../core/config.js';
import { F } from '../features/contract.js';
import { BAD_TRANSACTIONS } from '../../test/support/corpus.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { ScoreOracle, differences, perfectAnswers, type Answer, type Expectation } from '../../test/support/oracle.js';
import { knownSequence, type Tx } from '../../test/support/sequence.js';

let gw: RunningGateway;
let config: Config;
let oracle: ScoreOracle;

beforeAll(async () => {
  // Inference on the event loop here (the 2-core default); the WebSocket test runs a worker pool.
  gw = await startGateway({ MAX_BODY_BYTES: '262144', BATCH_MAX_ITEMS: '50', INFERENCE_WORKERS: '0' });
  config = loadConfig(gw.env);
  oracle = await ScoreOracle.open(config);
});
afterAll(async () => {
  await oracle?.close();
  expect(await gw.stop()).toBe(0);
});

let names = 0;
/** A name no earlier test used: users and transactions the gateway has not seen. */
const fresh = (what: string): string => `${what}-${process.pid}-${Date.now().toString(36)}-${names++}`;

function sequence(what: string, users: number, perUser: number): Tx[] {
  return knownSequence({ prefix: fresh(what), users, perUser, now: Date.now(), allowedLatenessMs: config.allowedLatenessMs });
}

/** A /v1/score response as the oracle compares it. */
function answerOf(r: { status: number; json: unknown; headers: Headers }): Answer {
  if (r.status !== 200) return { error: (r.json as ErrorAnswer).error };
  return r.headers.get('idempotent-replayed') === 'true' ? { result: r.json as ScoreAnswer, replayed: true } : { result: r.json as ScoreAnswer };
}

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
  it("scores a transaction: the model's score for its features, risk category, model, quality, server time", async () => {
    const tx = validTx({ userId: fresh('first') });
    const r = await postJson(`${gw.url}/v1/score`, tx);
    expect(r.status).toBe(200);
    const a = r.json as ScoreAnswer;
    expect(a.transactionId).toBe(tx['transactionId']);
    expect(differences(await oracle.replay([tx]), [answerOf(r)])).toEqual([]);
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

  it('flags an inconsistent amount and an out-of-range timestamp but still scores (and neither joins the windows)', async () => {
    const user = fresh('u-flags');
    const sent: Tx[] = [];
    const answers: Answer[] = [];
    const send = async (tx: Tx): Promise<{ status: number; json: unknown }> => {
      const r = await postJson(`${gw.url}/v1/score`, tx);
      sent.push(tx);
      answers.push(answerOf(r));
      return r;
    };
    for (let i = 0; i < 5; i++) expect((await send(validTx({ userId: user, amount: '10.00' }))).status).toBe(200);
    const r = await send(validTx({ userId: user, amount: '500.00', timestamp: Date.now() + 600_000 }));
    expect(r.status).toBe(200);
    expect((r.json as ScoreAnswer).quality).toEqual({ score: 0.5, flags: ['TIMESTAMP_AHEAD', 'AMOUNT_INCONSISTENT'] });
    const stale = await send(validTx({ userId: user, timestamp: Date.now() - 2 * 86_400_000 }));
    expect((stale.json as ScoreAnswer).quality).toEqual({ score: 0.75, flags: ['TIMESTAMP_STALE'] });
    await send(validTx({ userId: user, amount: '11.00' }));
    expect(differences(await oracle.replay(sent), answers)).toEqual([]);
  });

  it('a retry of an answered transaction replays its answer byte for byte; another transaction under its id is 422', async () => {
    const tx = validTx({ userId: fresh('retry') });
    const first = await postJson(`${gw.url}/v1/score`, tx);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await postJson(`${gw.url}/v1/score`, tx);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    const r = await postJson(`${gw.url}/v1/score`, { ...tx, amount: '43.10' });
    expect(r.status).toBe(422);
    expect((r.json as ErrorAnswer).error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'transactionId' });
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
    await vi.waitFor(() => {
      const lines = readFileSync(join(gw.dataDir, 'dlq.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const dl = lines.find((l) => l['raw'] === raw);
      expect(dl).toMatchObject({ code: 'INVALID_CURRENCY', field: 'currency', source: 'http' });
    });
  });

  it('writes scored events to the scored sink, with the score answered', async () => {
    const tx = validTx({ transactionId: `sink-probe-${Date.now()}`, userId: fresh('sink') });
    const r = await postJson(`${gw.url}/v1/score`, tx);
    const [expected] = await oracle.replay([tx]);
    expect(differences([expected!], [answerOf(r)])).toEqual([]);
    await vi.waitFor(() => {
      const text = readFileSync(join(gw.dataDir, 'scored.jsonl'), 'utf8');
      const ev = text.trim().split('\n').map((l) => JSON.parse(l) as { transaction: { transactionId: string }; score: number }).find((e) => e.transaction.transactionId === tx['transactionId']);
      expect(ev).toBeDefined();
      expect(ev!.score).toBe((r.json as ScoreAnswer).score);
    });
  });

  it('answers 415 for a wrong content type', async () => {
    const r = await fetch(`${gw.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(validTx()) });
    expect(r.status).toBe(415);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a body over the limit, declared or streamed, and the client reads it', async () => {
    const big = JSON.stringify(validTx({ metadata: { pad: 'x'.repeat(300_000) } }));
    const r = await postJson(`${gw.url}/v1/score`, big);
    expect(r.status).toBe(413);
    expect((r.json as ErrorAnswer).error.code).toBe('BODY_TOO_LARGE');
    // Node's fetch still writing a 5 MB body gets the 413, not EPIPE/ECONNRESET: the server
    // drains the body (up to BODY_LINGER_BYTES) before it answers.
    const huge = await postJson(`${gw.url}/v1/score`, JSON.stringify(validTx({ metadata: { pad: 'x'.repeat(5_000_000) } })));
    expect(huge.status).toBe(413);
    expect((huge.json as ErrorAnswer).error.code).toBe('BODY_TOO_LARGE');
    // Chunked, no content-length: the limit is enforced while reading; once the client has
    // finished sending, it gets its 413 and the connection stays usable.
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      const s = connect(gw.port, '127.0.0.1', () => {
        s.write('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = 'x'.repeat(10_000);
        let i = 0;
        const send = (): void => {
          if (s.destroyed) return;
          if (i++ < 40) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, () => setTimeout(send, 1));
          else s.write('0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        };
        send();
      });
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.includes('{"status":"ok"}')) s.destroy();
      });
      s.on('error', () => resolve(got));
      s.on('close', () => resolve(got));
      setTimeout(() => s.destroy(), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('BODY_TOO_LARGE');
    expect(answer).toContain('{"status":"ok"}'); // the next request on the same connection
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
    // One transaction per user, amounts and merchants varying: each answer has one right score
    // whatever order the 50 concurrent requests are handled in.
    const mix = fresh('mix');
    const txs = Array.from({ length: 50 }, (_, i) => validTx({ userId: `${mix}-${i}`, amount: (5 + i * 37.5).toFixed(2), merchantId: i % 3 === 0 ? null : `m-${i}` }));
    const answers = await Promise.all(txs.map((t) => postJson(`${gw.url}/v1/score`, t)));
    answers.forEach((a, i) => expect((a.json as ScoreAnswer).transactionId).toBe(txs[i]!['transactionId']));
    expect(differences(await oracle.replay(txs), answers.map(answerOf))).toEqual([]);
    expect(gw.exited()).toBe(false);
  });
});

describe('POST /v1/score/batch', () => {
  it('answers a result or an error for each transaction, in order', async () => {
    const user = fresh('batch-order');
    const ok1 = validTx({ userId: user });
    const ok2 = validTx({ userId: user, amount: '99.00', merchantId: 'm-2' });
    const batch = [ok1, { ...validTx(), amount: '-1' }, ok2, ok1];
    const r = await postJson(`${gw.url}/v1/score/batch`, batch);
    expect(r.status).toBe(200);
    const results = (r.json as { results: ({ result: ScoreAnswer } | { error: { code: string; index: number } })[] }).results;
    expect(results).toHaveLength(4);
    expect('result' in results[0]! && results[0].result.transactionId).toBe(ok1['transactionId']);
    expect('error' in results[1]! && results[1].error.code).toBe('INVALID_AMOUNT');
    expect('result' in results[2]! && results[2].result.transactionId).toBe(ok2['transactionId']);
    // ok1 again in the same batch: it waits for the first and replays its answer (never a second score).
    expect(results[3]).toEqual({ ...results[0], replayed: true });
    // ok2 is scored with ok1 in its history: items of one batch join the windows in order.
    expect(differences(await oracle.replay(batch), results)).toEqual([]);
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

/** Indices of `seq` grouped by user, each group in sequence order. */
function byUser(seq: readonly Tx[]): number[][] {
  const groups = new Map<unknown, number[]>();
  seq.forEach((t, i) => {
    const g = groups.get(t['userId']);
    if (g === undefined) groups.set(t['userId'], [i]);
    else g.push(i);
  });
  return [...groups.values()];
}

describe('scores are the model’s output for each transaction’s features', () => {
  it('one request per transaction, users concurrently, each user’s transactions in order', async () => {
    const seq = sequence('single', 4, 12);
    const expected = await oracle.replay(seq);
    const answers: Answer[] = new Array<Answer>(seq.length);
    await Promise.all(
      byUser(seq).map(async (chain) => {
        for (const i of chain) answers[i] = answerOf(await postJson(`${gw.url}/v1/score`, seq[i]));
      }),
    );
    expect(differences(expected, answers)).toEqual([]);
  });

  it('batches in sequence order, and one batch of a single user’s transactions in order', async () => {
    const seq = sequence('batches', 4, 12);
    const expected = await oracle.replay(seq);
    const answers: Answer[] = [];
    for (let i = 0; i < seq.length; i += 20) {
      const r = await postJson(`${gw.url}/v1/score/batch`, seq.slice(i, i + 20));
      expect(r.status).toBe(200);
      answers.push(...(r.json as { results: Answer[] }).results);
    }
    expect(differences(expected, answers)).toEqual([]);

    const one = sequence('one-user-batch', 1, 30);
    expect(new Set(one.map((t) => t['userId'])).size).toBe(1);
    const r = await postJson(`${gw.url}/v1/score/batch`, one);
    expect(r.status).toBe(200);
    expect(differences(await oracle.replay(one), (r.json as { results: Answer[] }).results)).toEqual([]);
  });

  it('the check has teeth: the sequence moves the features, and wrong, mixed, zeroed or reordered scores fail it', async () => {
    const seq = sequence('teeth', 4, 12);
    const expected = await oracle.replay(seq);
    const scored = expected.filter((e): e is Extract<Expectation, { kind: 'scored' }> => e.kind === 'scored');
    const column = (f: number): number[] => scored.map((e) => e.features[f]!);
    // The sequence reaches the features the model reads.
    expect(Math.max(...column(F.window(0, 0)))).toBeGreaterThanOrEqual(3); // bursts inside 1 min
    expect(Math.max(...column(F.window(1, 0)))).toBeGreaterThanOrEqual(4); // and inside 5 min
    expect(new Set(column(F.merchantNew24h))).toEqual(new Set([0, 1]));
    expect(column(F.amountZscore24h).some((z) => z > 2)).toBe(true);
    expect(expected.filter((e) => e.kind === 'refused').map((e) => e.kind === 'refused' && e.code)).toEqual(['IDEMPOTENCY_KEY_REUSED', 'INVALID_AMOUNT']);
    expect(expected.filter((e) => e.kind === 'scored' && e.replayed === true)).toHaveLength(1); // the retry
    expect(scored.filter((e) => !e.joined)).toHaveLength(3); // late, stale, ahead
    // Scores are not all equal: most transactions have a score of their own.
    const scores = scored.map((e) => e.score);
    expect(new Set(scores).size).toBeGreaterThan(scored.length / 2);
    expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.01);

    const perfect = perfectAnswers(expected);
    expect(differences(expected, perfect)).toEqual([]);
    // Another transaction's score under each transactionId (rows mixed between requests).
    const shifted = perfect.map((a, i) => {
      if (a.result === undefined) return a;
      const next = scored[(scored.findIndex((e) => e.transactionId === a.result!.transactionId) + 1) % scored.length]!;
      return { result: { ...a.result, score: next.score } };
    });
    expect(differences(expected, shifted).length).toBeGreaterThan(scored.length / 2);
    // Every row scored as all zeros.
    const zero = (await oracle.scoreRows([new Float32Array(scored[0]!.features.length)]))[0]!;
    const zeroed = perfect.map((a) => (a.result === undefined ? a : { result: { ...a.result, score: zero } }));
    expect(differences(expected, zeroed).length).toBeGreaterThan(scored.length / 2);
    // The same transactions handled in reverse order (a reordered batch): other histories, other scores.
    const reversed = await oracle.replay(seq.slice(0, 48).reverse().concat(seq.slice(48)));
    const reversedById = new Map(reversed.slice(0, 48).map((e) => [e.transactionId, e]));
    const reorderedAnswers = perfectAnswers(expected.map((e, i) => (i < 48 ? reversedById.get(e.transactionId)! : e)));
    expect(differences(expected, reorderedAnswers).length).toBeGreaterThan(10);
    // Answers out of order (a batch's results reordered): transactionIds no longer line up.
    expect(differences(expected, [...perfect].reverse()).length).toBeGreaterThan(scored.length / 2);
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
      'scoregate_quality_checks_total{check="uniqueness",result="pass"}',
      'scoregate_idempotent_replays_total{source="http"}',
      'scoregate_admission_limit',
      'scoregate_idempotency_answers',
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
