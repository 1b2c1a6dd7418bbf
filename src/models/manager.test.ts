/**
 * The model lifecycle with real worker pools and real ONNX models (no registry): a switch under
 * steady scoring fails nothing and every answer names exactly one version; bad candidates are
 * rejected with the reason while the old model keeps serving; rollback; a challenger is scored
 * beside the champion without touching the answer.
 */
import { cpSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { Logger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { FeatureEngine } from '../features/engine.js';
import type { Answer } from '../idempotency/answers.js';
import { Scorer, type ScoreContext } from '../scoring/scorer.js';
import type { EventSink, ScoredEvent } from '../sink/events.js';
import { loadGoldenRows } from './golden.js';
import { ModelManager, ModelRejected } from './manager.js';

const SHIPPED = join(REPO_ROOT, 'models/fraud-detector');
const LINEAR = join(REPO_ROOT, 'test/fixtures/linear-external');
const scoredEvents: ScoredEvent[] = [];
const sink: EventSink = { accepting: () => true, scored: async (e) => void scoredEvents.push(e), deadLetter: () => undefined, close: async () => undefined };
const metrics = new Metrics();
const engine = new FeatureEngine({ maxUsers: 1e5, maxBytes: 1e9, maxEventsPerUser: 100, allowedLatenessMs: 300_000, seenIdsMax: 1e6 });
const scorer = new Scorer(engine, sink, metrics);
const manager = new ModelManager(scorer, metrics, new Logger('error'), { workers: 1, batchMax: 32, queueMax: 100_000 }, loadGoldenRows());
let seq = 0;
// A budget no model run here comes near: these tests are about which model answers, not deadlines.
const ctx = (): ScoreContext => ({ source: 'http', receivedAt: Date.now(), startedAt: performance.now(), budgetMs: 60_000, raw: () => '' });
const versionOf = (a: Answer): string => (JSON.parse(a.body) as { model: { version: string } }).model.version;
const tx = (): Record<string, unknown> => ({ transactionId: `mgr-${seq++}`, userId: `u${seq % 17}`, amount: '25.00', currency: 'EUR', timestamp: Date.now(), merchantId: 'm1' });

afterAll(async () => {
  await scorer.pool?.close();
  await scorer.challenger?.close();
});

describe('ModelManager', () => {
  it('serves the first model only after it loaded, warmed and passed the golden set', async () => {
    expect(scorer.pool).toBeNull();
    const d = await manager.activate({ dir: SHIPPED, origin: 'shipped' });
    expect(d.name).toBe('fraud-detector');
    expect(scorer.pool?.model.version).toBe(d.version);
  });

  it('switches under steady load: nothing fails, each answer names one version', async () => {
    const before = manager.activeVersion!;
    const results: Promise<Answer>[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        for (let i = 0; i < 20; i++) results.push(scorer.score(tx(), ctx()));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await manager.activate({ dir: LINEAR, origin: 'fixture' });
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await load;
    const settled = await Promise.allSettled(results);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    const versions = settled.map((s) => versionOf((s as PromiseFulfilledResult<Answer>).value));
    expect(new Set(versions)).toEqual(new Set([before, 'fixture-1']));
    // Answers switch once: no old-version answer after the first new-version one was handed out.
    const firstNew = versions.indexOf('fixture-1');
    expect(versions.slice(firstNew).filter((v) => v === before).length).toBe(0);
  });

  it('rejects a corrupt model with the reason and keeps serving the old one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corrupt-'));
    cpSync(SHIPPED, dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), 'garbage');
    await expect(manager.activate({ dir, version: '99', origin: 'corrupt' })).rejects.toThrow(ModelRejected);
    expect(manager.activeVersion).toBe('fixture-1');
    expect(versionOf(await scorer.score(tx(), ctx()))).toBe('fixture-1');
    const status = manager.status() as { lastRejection: { version: string; reason: string } };
    expect(status.lastRejection.version).toBe('99');
    expect(status.lastRejection.reason).toMatch(/failed to load/);
  });

  it('rejects a model whose signature does not match the contract, naming the feature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badsig-'));
    cpSync(SHIPPED, dir, { recursive: true });
    const ml = readFileSync(join(dir, 'MLmodel'), 'utf8').replace('"name": "amount_zscore_24h"', '"name": "amount_zscore_7d"');
    writeFileSync(join(dir, 'MLmodel'), ml);
    await expect(manager.activate({ dir, version: '100', origin: 'badsig' })).rejects.toThrow(/missing feature\(s\): amount_zscore_24h; unknown feature\(s\): amount_zscore_7d/);
    expect(manager.activeVersion).toBe('fixture-1');
  });

  it('rejects a model scoring outside [0, 1] on the golden set', async () => {
    // Raw logits, not probabilities: loads and runs fine, and must still not serve.
    await expect(manager.activate({ dir: join(REPO_ROOT, 'test/fixtures/linear-logits'), origin: 'logits' })).rejects.toThrow(/not a probability in \[0, 1\]/);
    expect(manager.activeVersion).toBe('fixture-1');
  });

  it('rolls back to the previous model', async () => {
    const d = await manager.rollback();
    expect(d.name).toBe('fraud-detector');
    expect(manager.activeVersion).toBe(d.version);
  });

  it('scores a challenger on the same traffic, off the answer', async () => {
    await manager.setChallenger({ dir: LINEAR, origin: 'fixture challenger' });
    scoredEvents.length = 0;
    const answer = JSON.parse((await scorer.score(tx(), ctx())).body) as { transactionId: string; model: { name: string } };
    expect(answer.model.name).toBe('fraud-detector');
    // Durable before the answer: the event is in the sink already, with the challenger's score.
    const sunk = scoredEvents.find((e) => e.transaction.transactionId === answer.transactionId)!;
    expect(sunk.challenger).toMatchObject({ name: 'linear-external', version: 'fixture-1' });
    expect(sunk.challenger!.score).toBeGreaterThan(0);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/scoregate_challenger_score_count\{version="fixture-1"\} [1-9]/);
    expect(text).toMatch(/scoregate_challenger_score_diff_count\{version="fixture-1"\} [1-9]/);
    await manager.setChallenger(null);
    expect(scorer.challenger).toBeNull();
  });
});
