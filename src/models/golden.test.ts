/**
 * The golden set travels with the model and checks values: the shipped model scores its own
 * golden.csv within 1e-5 of the expected scores the pipeline wrote; a copy whose ONNX graph
 * reads two feature columns swapped (signature untouched, so the contract check passes) is
 * rejected naming the golden mismatch, by validation and by the ModelManager, while the old
 * model keeps serving; a model without golden.csv gets the range check with a warning.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { Logger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { FeatureEngine } from '../features/engine.js';
import { Scorer } from '../scoring/scorer.js';
import type { EventSink } from '../sink/events.js';
import { loadGoldenRows } from './golden.js';
import { ModelManager, ModelRejected } from './manager.js';
import { ValidationFailed, validateCandidate } from './validate.js';

const exec = promisify(execFile);
const SHIPPED = join(REPO_ROOT, 'models/fraud-detector');
const OPTS = { workers: 0, batchMax: 64, queueMax: 100_000 };
const fallback = loadGoldenRows();
let swapped: string;

beforeAll(async () => {
  const { stdout: python } = await exec('bash', [join(REPO_ROOT, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 });
  swapped = join(mkdtempSync(join(tmpdir(), 'swapped-')), 'model');
  await exec(python.trim(), [join(REPO_ROOT, 'test/fixtures/make_swapped_features.py'), SHIPPED, swapped], { timeout: 120_000 });
}, 900_000);

describe('golden set', () => {
  it('the shipped model scores its own golden.csv within 1e-5, and can be explained', async () => {
    const steps: [string, string, boolean | undefined][] = [];
    const pool = await validateCandidate({ dir: SHIPPED }, OPTS, fallback, (s, d, w) => steps.push([s, d, w]));
    try {
      expect(steps.find((s) => s[0] === 'golden')).toEqual(['golden', expect.stringMatching(/^256 rows scored within 1e-5 of the expected scores shipped with the model \(golden.csv of the model\)$/), undefined]);
      expect(pool.explainer).not.toBeNull();
    } finally {
      await pool.close();
    }
  });

  it('rejects a model whose ONNX graph reads two features swapped, naming the golden mismatch', async () => {
    const err = await validateCandidate({ dir: swapped }, OPTS, fallback).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationFailed);
    expect((err as ValidationFailed).step).toBe('golden');
    expect((err as ValidationFailed).message).toMatch(/^golden set mismatch: \d+ of 256 rows of golden.csv score more than 1e-5 away from the expected scores shipped with the model \(worst: row \d+ scored [\d.e-]+, expected [\d.e-]+\); its features may be shuffled or its converter broken$/);

    const sink: EventSink = { accepting: () => true, scored: async () => undefined, deadLetter: () => undefined, close: async () => undefined };
    const metrics = new Metrics();
    const scorer = new Scorer(new FeatureEngine({ maxUsers: 100, maxBytes: 1e8, maxEventsPerUser: 10, allowedLatenessMs: 300_000, seenIdsMax: 1000 }), sink, metrics);
    const manager = new ModelManager(scorer, metrics, new Logger('error'), OPTS, fallback);
    await manager.activate({ dir: SHIPPED, origin: 'shipped' });
    await expect(manager.activate({ dir: swapped, version: 'swapped', origin: 'swapped features' })).rejects.toThrow(ModelRejected);
    expect(manager.activeVersion).toBe('a2d93111f7bf');
    const status = manager.status() as { lastRejection: { reason: string; version: string } };
    expect(status.lastRejection.version).toBe('swapped');
    expect(status.lastRejection.reason).toMatch(/^golden set mismatch: /);
    await scorer.pool?.close();
  });

  it('refuses a golden.csv whose header is not the contract, and range-checks a model that ships none with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'badgolden-'));
    cpSync(SHIPPED, dir, { recursive: true });
    const text = readFileSync(join(dir, 'golden.csv'), 'utf8');
    writeFileSync(join(dir, 'golden.csv'), text.replace('amount,hour_of_day', 'hour_of_day,amount'));
    await expect(validateCandidate({ dir }, OPTS, fallback)).rejects.toThrow(/golden.csv header is not the feature contract followed by expected/);

    const steps: [string, string, boolean | undefined][] = [];
    const pool = await validateCandidate({ dir: join(REPO_ROOT, 'test/fixtures/linear-external') }, OPTS, fallback, (s, d, w) => steps.push([s, d, w]));
    await pool.close();
    const golden = steps.find((s) => s[0] === 'golden')!;
    expect(golden[2]).toBe(true);
    expect(golden[1]).toMatch(/range only/);
    expect(pool.explainer).toBeNull();
    expect(pool.explainUnavailable).toMatch(/tree_counts.json/);
  });
});
