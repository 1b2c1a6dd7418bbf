/** Loading MLflow model directories: the contract check names each missing or unknown feature. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { FEATURE_NAMES } from '../features/contract.js';
import { InferencePool } from '../inference/pool.js';
import { ModelLoadError, compareToContract, readModelDir } from './mlmodel.js';

function modelDir(columns: readonly string[], onnx = 'model.onnx', extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlmodel-'));
  const inputs = JSON.stringify(columns.map((name) => ({ type: 'float', name, required: true })));
  writeFileSync(join(dir, 'MLmodel'), `flavors:\n  onnx:\n    onnx_model: ${onnx}\nsignature:\n  inputs: '${inputs}'\n  outputs: '[]'\n${extra}`);
  return dir;
}

describe('readModelDir', () => {
  it('names missing and unknown features', async () => {
    const cols = [...FEATURE_NAMES.filter((f) => f !== 'amount_std_1h' && f !== 'hour_of_day'), 'favourite_colour'];
    const dir = modelDir(cols);
    writeFileSync(join(dir, 'model.onnx'), 'x');
    await expect(readModelDir(dir)).rejects.toThrow(/missing feature\(s\): hour_of_day, amount_std_1h; unknown feature\(s\): favourite_colour/);
  });

  it('refuses features out of contract order', () => {
    const cols = [...FEATURE_NAMES];
    [cols[0], cols[1]] = [cols[1]!, cols[0]!];
    expect(compareToContract(cols)).toEqual([`features out of order: position 0 is ${FEATURE_NAMES[1]}, the contract has ${FEATURE_NAMES[0]}`]);
  });

  it('refuses a directory without MLmodel, without onnx flavor, or naming a missing file', async () => {
    await expect(readModelDir(mkdtempSync(join(tmpdir(), 'empty-')))).rejects.toThrow(ModelLoadError);
    const dir = mkdtempSync(join(tmpdir(), 'noflavor-'));
    writeFileSync(join(dir, 'MLmodel'), 'flavors:\n  sklearn: {}\n');
    await expect(readModelDir(dir)).rejects.toThrow(/no onnx flavor/);
    await expect(readModelDir(modelDir(FEATURE_NAMES, 'gone.onnx'))).rejects.toThrow(/gone.onnx, which does not exist/);
    await expect(readModelDir(modelDir(FEATURE_NAMES, '../../etc/passwd'))).rejects.toThrow(/outside the model directory/);
  });

  it('a corrupt onnx file fails to load in the workers, with the reason', async () => {
    const dir = modelDir(FEATURE_NAMES);
    writeFileSync(join(dir, 'model.onnx'), 'not a model');
    const d = await readModelDir(dir);
    await expect(InferencePool.start(d, { workers: 1, batchMax: 8, queueMax: 10 })).rejects.toThrow(/failed to load in the inference workers/);
  });

  it('loads a model whose onnx file keeps its weights in an external data file beside it', async () => {
    const d = await readModelDir(join(REPO_ROOT, 'test/fixtures/linear-external'));
    expect(d).toMatchObject({ name: 'linear-external', version: 'fixture-1' });
    const pool = await InferencePool.start(d, { workers: 1, batchMax: 8, queueMax: 10 });
    try {
      const row = new Float32Array(FEATURE_NAMES.length);
      row[FEATURE_NAMES.indexOf('amount_zscore_24h')] = 1;
      row[FEATURE_NAMES.indexOf('amount_count_1m')] = 2;
      const [score] = await pool.scoreRows(row, 1);
      expect(score).toBeCloseTo(1 / (1 + Math.exp(1.2)), 6);
    } finally {
      await pool.close();
    }
  });
});
