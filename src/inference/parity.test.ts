/**
 * Parity with the Python model: the held-out rows the pipeline wrote (features from the
 * gateway's own replay CLI, expected score from LightGBM's predict_proba in Python) scored by
 * the gateway's inference pool — the real worker threads and onnxruntime-node session — agree
 * within 1e-5. Also: the shipped model's MLmodel matches the feature contract.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/contract.js';
import { readModelDir } from '../models/mlmodel.js';
import { InferencePool } from './pool.js';

const MODEL_DIR = join(REPO_ROOT, 'models/fraud-detector');
let pool: InferencePool;

beforeAll(async () => {
  pool = await InferencePool.start(await readModelDir(MODEL_DIR), { workers: 1, batchMax: 64, queueMax: 100_000 });
});
afterAll(async () => {
  await pool.close();
});

describe('the shipped model', () => {
  it('scores the held-out rows as the Python model does, within 1e-5', async () => {
    const lines = readFileSync(join(REPO_ROOT, 'models/parity/heldout.csv'), 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    expect(header.slice(2, 2 + FEATURE_COUNT)).toEqual([...FEATURE_NAMES]);
    expect(header[2 + FEATURE_COUNT]).toBe('expected');
    const n = lines.length - 1;
    expect(n).toBeGreaterThanOrEqual(1000);
    const rows = new Float32Array(n * FEATURE_COUNT);
    const expected = new Float64Array(n);
    lines.slice(1).forEach((line, r) => {
      const cells = line.split(',');
      for (let f = 0; f < FEATURE_COUNT; f++) rows[r * FEATURE_COUNT + f] = Number(cells[2 + f]);
      expected[r] = Number(cells[2 + FEATURE_COUNT]);
    });
    const got = await pool.scoreRows(rows, n);
    let worst = 0;
    for (let r = 0; r < n; r++) worst = Math.max(worst, Math.abs(got[r]! - expected[r]!));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('names itself in its MLmodel and passes the contract check', async () => {
    const d = await readModelDir(MODEL_DIR);
    expect(d.name).toBe('fraud-detector');
    expect(d.onnxPath.endsWith('.onnx')).toBe(true);
  });
});
