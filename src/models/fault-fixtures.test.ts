/**
 * The fault fixtures (test/fixtures/slow, test/fixtures/failing, made by
 * test/fixtures/make_fault_models.py) are what they claim, through the gateway's own code: the
 * ModelManager accepts both (signature, load, warm, golden set in [0, 1]), then at inference time
 * the slow one takes ≥ 100 ms per run even for one row, and the failing one makes onnxruntime
 * raise for a batch holding a row with amount ≥ 100000 while scoring every other batch like
 * linear-external. These are properties of the fixtures, for tests of deadlines and fallbacks;
 * the lower bound on time proves the slow fixture is slow, it is not a performance claim.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { Logger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { FEATURE_COUNT, F } from '../features/contract.js';
import { FeatureEngine } from '../features/engine.js';
import { ModelSession } from '../inference/session.js';
import { Scorer } from '../scoring/scorer.js';
import type { EventSink } from '../sink/events.js';
import { loadGoldenRows } from './golden.js';
import { ModelManager } from './manager.js';
import { readModelDir } from './mlmodel.js';

const SLOW = join(REPO_ROOT, 'test/fixtures/slow');
const FAILING = join(REPO_ROOT, 'test/fixtures/failing');
const LINEAR = join(REPO_ROOT, 'test/fixtures/linear-external');
/** Documented in test/fixtures/README.md; the generator's FAIL_AMOUNT. */
const FAIL_AMOUNT = 100_000;
const SLOW_RUN_MIN_MS = 100;

const golden = loadGoldenRows();
// Nothing is scored through the scorer here; async stubs fit whether the sink's methods return void or a promise.
const sink: EventSink = { accepting: () => true, scored: async () => undefined, deadLetter: async () => undefined, close: async () => undefined };
const sessions: ModelSession[] = [];
const scorers: Scorer[] = [];

function rowsWithAmounts(amounts: number[]): Float32Array {
  const rows = new Float32Array(amounts.length * FEATURE_COUNT);
  amounts.forEach((a, i) => {
    rows.set(golden.rows.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), i * FEATURE_COUNT);
    rows[i * FEATURE_COUNT + F.amount] = a;
  });
  return rows;
}

async function open(dir: string): Promise<ModelSession> {
  const s = await ModelSession.open((await readModelDir(dir)).onnxPath, FEATURE_COUNT);
  sessions.push(s);
  return s;
}

/** A manager with its own scorer, as the gateway makes them; workers 0 runs inline, 1 in a piscina thread. */
function manager(workers: number): { manager: ModelManager; scorer: Scorer } {
  const engine = new FeatureEngine({ maxUsers: 1e4, maxBytes: 1e8, maxEventsPerUser: 100, allowedLatenessMs: 300_000, seenIdsMax: 1e5 });
  const scorer = new Scorer(engine, sink, new Metrics());
  scorers.push(scorer);
  return { manager: new ModelManager(scorer, new Metrics(), new Logger('error'), { workers, batchMax: 32, queueMax: 100_000 }, golden), scorer };
}

afterAll(async () => {
  for (const s of scorers) await s.pool?.close();
  for (const s of sessions) await s.release();
});

describe.each([0, 1])('fault fixtures through ModelManager (workers %i)', (workers) => {
  it('accepts the slow fixture: signature, load, warm, golden set in [0, 1]', async () => {
    const { manager: m, scorer } = manager(workers);
    const d = await m.activate({ dir: SLOW, origin: 'fixture' });
    expect(d).toMatchObject({ name: 'slow', version: 'fixture-1' });
    const status = m.status() as { lastRejection: unknown; active: { name: string }; history: { tookMs?: number }[] };
    expect(status).toMatchObject({ lastRejection: null, active: { name: 'slow' } });
    console.log(`slow fixture (workers ${workers}): validation (load, warm, golden set) took ${status.history[0]!.tookMs} ms`);
    // One row through the pool (micro-batcher, executor, session) still takes a slow run.
    const t0 = performance.now();
    const [s] = await scorer.pool!.scoreRows(rowsWithAmounts([50]), 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(SLOW_RUN_MIN_MS);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThanOrEqual(1);
  });

  it('accepts the failing fixture; a batch with amount ≥ 100000 fails with INFERENCE_FAILED, others score', async () => {
    const { manager: m, scorer } = manager(workers);
    const d = await m.activate({ dir: FAILING, origin: 'fixture' });
    expect(d).toMatchObject({ name: 'failing', version: 'fixture-1' });
    expect(m.status()).toMatchObject({ lastRejection: null, active: { name: 'failing' } });
    const pool = scorer.pool!;
    const ok = await pool.scoreRows(rowsWithAmounts([1, 2131.22, 99_999.99]), 3);
    expect([...ok].every((s) => Number.isFinite(s) && s >= 0 && s <= 1)).toBe(true);
    const err = await pool.scoreRows(rowsWithAmounts([25, FAIL_AMOUNT]), 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScoregateError);
    expect((err as ScoregateError).code).toBe('INFERENCE_FAILED');
    expect((err as Error).message).toMatch(/Gather.*indices element out of data bounds/);
    // The pool keeps working after the failed batch.
    expect((await pool.scoreRows(rowsWithAmounts([25]), 1))[0]).toBeGreaterThan(0);
  });
});

describe('fault fixtures in one ModelSession (as session.ts runs them)', () => {
  it('slow: every run takes ≥ 100 ms, 1 row or 32, and scores like linear-external', async () => {
    const slow = await open(SLOW);
    const linear = await open(LINEAR);
    await slow.warm(32);
    const times: number[] = [];
    for (const n of [1, 1, 1, 32]) {
      const rows = golden.rows.subarray(0, n * FEATURE_COUNT);
      const t0 = performance.now();
      const scores = await slow.run(rows, n);
      times.push(performance.now() - t0);
      expect([...scores]).toEqual([...(await linear.run(rows, n))]);
    }
    console.log(`slow fixture: run times ${times.map((t) => t.toFixed(0)).join(', ')} ms (1, 1, 1, 32 rows)`);
    for (const t of times) expect(t).toBeGreaterThanOrEqual(SLOW_RUN_MIN_MS);
  });

  it('failing: onnxruntime raises for amount ≥ 100000 (any row of the batch), scores finite below', async () => {
    const failing = await open(FAILING);
    const linear = await open(LINEAR);
    for (const amounts of [[FAIL_AMOUNT], [1e9], [10, 20, FAIL_AMOUNT + 0.01, 30]]) {
      await expect(failing.run(rowsWithAmounts(amounts), amounts.length)).rejects.toThrow(/indices element out of data bounds/);
    }
    const below = rowsWithAmounts([0.01, 99_999.99, 5_000]);
    const scores = await failing.run(below, 3);
    expect([...scores].every((s) => Number.isFinite(s) && s >= 0 && s <= 1)).toBe(true);
    expect([...scores]).toEqual([...(await linear.run(below, 3))]);
    // The whole golden set (amounts < 4000) scores exactly like linear-external.
    expect([...(await failing.run(golden.rows, golden.n))]).toEqual([...(await linear.run(golden.rows, golden.n))]);
  });
});
