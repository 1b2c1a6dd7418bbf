/**
 * Reason codes are exact: the gateway's TreeSHAP (read from the shipped model's ONNX file and
 * its tree_counts.json) equals LightGBM's own `pred_contrib` — computed in Python by
 * models/pipeline/contrib.py from the booster shipped with the model (booster.txt), in the
 * pipeline's venv — on every held-out row, within 1e-5 per feature and for the bias; and the
 * contributions sum to the ONNX model's raw margin (its log-odds before the sigmoid, from
 * onnxruntime) and, through the sigmoid, to the score the gateway's inference pool gives.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/contract.js';
import { InferencePool } from '../inference/pool.js';
import { readModelDir } from '../models/mlmodel.js';
import { Explainer } from './explainer.js';
import { REASON_CODES, topContributors } from './reasons.js';

const exec = promisify(execFile);
const MODEL_DIR = join(REPO_ROOT, 'models/fraud-detector');
const HELDOUT = join(REPO_ROOT, 'models/parity/heldout.csv');
const TOLERANCE = 1e-5;

interface Reference {
  features: string[];
  rows: number;
  contrib: number[][];
  margin: number[];
  onnx_margin: number[];
}

let ref: Reference;
let rows: Float32Array;
let n: number;
let explainer: Explainer;
let pool: InferencePool;

beforeAll(async () => {
  const { stdout: python } = await exec('bash', [join(REPO_ROOT, 'scripts/services/mlflow-venv.sh')], { timeout: 900_000 });
  const { stdout } = await exec(python.trim(), [join(REPO_ROOT, 'models/pipeline/contrib.py'), '--model-dir', MODEL_DIR, '--rows', HELDOUT], { timeout: 300_000, maxBuffer: 64 << 20 });
  ref = JSON.parse(stdout) as Reference;
  const lines = readFileSync(HELDOUT, 'utf8').trim().split('\n');
  n = lines.length - 1;
  rows = new Float32Array(n * FEATURE_COUNT);
  lines.slice(1).forEach((line, r) => {
    const cells = line.split(',');
    for (let f = 0; f < FEATURE_COUNT; f++) rows[r * FEATURE_COUNT + f] = Number(cells[2 + f]);
  });
  const desc = await readModelDir(MODEL_DIR);
  explainer = await Explainer.load(MODEL_DIR, desc.onnxPath);
  pool = await InferencePool.start(desc, { workers: 0, batchMax: 64, queueMax: 100_000 });
}, 900_000);

afterAll(async () => {
  await pool?.close();
});

describe('TreeSHAP on the shipped model', () => {
  it('equals LightGBM pred_contrib on every held-out row, feature by feature and the bias (|Δ| ≤ 1e-5)', () => {
    expect(ref.features).toEqual([...FEATURE_NAMES]);
    expect(ref.rows).toBe(n);
    expect(n).toBeGreaterThanOrEqual(1000);
    const phi = new Float64Array(FEATURE_COUNT + 1);
    let worst = 0;
    let where = '';
    let nonZero = 0;
    for (let r = 0; r < n; r++) {
      explainer.contributions(rows, r * FEATURE_COUNT, phi);
      for (let f = 0; f <= FEATURE_COUNT; f++) {
        const d = Math.abs(phi[f]! - ref.contrib[r]![f]!);
        if (d > worst) {
          worst = d;
          where = `row ${r + 1}, ${f === FEATURE_COUNT ? 'bias' : FEATURE_NAMES[f]}: ${phi[f]} vs ${ref.contrib[r]![f]}`;
        }
        if (f < FEATURE_COUNT && Math.abs(ref.contrib[r]![f]!) > 1e-3) nonZero++;
      }
    }
    console.log(`TreeSHAP parity: ${n} rows × ${FEATURE_COUNT + 1} values, max |gateway − pred_contrib| = ${worst.toExponential(2)} (${where}); ${nonZero} contributions above 1e-3`);
    expect(nonZero).toBeGreaterThan(n); // the comparison is not between zeros
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });

  it('sums to the raw margin: ONNX log-odds within 1e-5, and through the sigmoid to the served score', async () => {
    const scores = await pool.scoreRows(rows, n);
    const phi = new Float64Array(FEATURE_COUNT + 1);
    let worstMargin = 0;
    let worstScore = 0;
    let worstLgb = 0;
    for (let r = 0; r < n; r++) {
      explainer.contributions(rows, r * FEATURE_COUNT, phi);
      let sum = 0;
      for (let f = 0; f <= FEATURE_COUNT; f++) sum += phi[f]!;
      worstMargin = Math.max(worstMargin, Math.abs(sum - ref.onnx_margin[r]!));
      worstLgb = Math.max(worstLgb, Math.abs(sum - ref.margin[r]!));
      worstScore = Math.max(worstScore, Math.abs(1 / (1 + Math.exp(-sum)) - scores[r]!));
    }
    console.log(`sum of contributions: max |Σ − ONNX margin| = ${worstMargin.toExponential(2)}, |Σ − LightGBM raw score| = ${worstLgb.toExponential(2)}, |sigmoid(Σ) − served score| = ${worstScore.toExponential(2)}`);
    expect(worstMargin).toBeLessThanOrEqual(TOLERANCE);
    expect(worstLgb).toBeLessThanOrEqual(TOLERANCE);
    expect(worstScore).toBeLessThanOrEqual(1e-6);
  });

  it('lists the top contributors by size, raising ones first, with a reason code for every feature', () => {
    expect(FEATURE_NAMES.filter((f) => REASON_CODES[f] === undefined)).toEqual([]);
    expect(REASON_CODES['amount_count_1m']).toBe('VELOCITY_1M');
    expect(REASON_CODES['amount_zscore_24h']).toBe('AMOUNT_SPIKE');
    expect(REASON_CODES['merchant_new_24h']).toBe('NEW_MERCHANT');
    expect(REASON_CODES['hour_of_day']).toBe('ODD_HOUR');
    const phi = new Float64Array(FEATURE_COUNT + 1);
    for (let r = 0; r < 50; r++) {
      explainer.contributions(rows, r * FEATURE_COUNT, phi);
      const x = topContributors(phi, rows, r * FEATURE_COUNT, 5);
      const bySize = [...phi.subarray(0, FEATURE_COUNT)].map((c, f) => ({ c, f })).filter((e) => e.c !== 0).sort((a, b) => Math.abs(b.c) - Math.abs(a.c)).slice(0, 5);
      expect(new Set(x.top.map((t) => t.feature))).toEqual(new Set(bySize.map((e) => FEATURE_NAMES[e.f])));
      const signs = x.top.map((t) => t.contribution > 0);
      expect(signs).toEqual([...signs].sort((a, b) => Number(b) - Number(a)));
      for (const t of x.top) expect(t.value).toBe(rows[r * FEATURE_COUNT + FEATURE_NAMES.indexOf(t.feature)]);
      expect(x.margin).toBeCloseTo(ref.margin[r]!, 5);
    }
  });
});
