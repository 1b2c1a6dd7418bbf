/**
 * The golden set a candidate model must score before it may serve. It travels with the model:
 * `golden.csv` in the MLflow model directory (written by the pipeline: the contract's features
 * and `expected`, the trainer's own probability for the row), and every row must score within
 * GOLDEN_TOLERANCE of `expected` — a model exported with its features shuffled or through a
 * broken converter still scores in [0, 1], but not the trainer's scores.
 *
 * A model without golden.csv (built before the pipeline wrote one, or by hand) is checked
 * against the fallback rows — the shipped model's golden rows, which ship with the gateway —
 * for finite scores in [0, 1] only, and the check says so (validation reports "range only",
 * the manager logs a warning). It is served: refusing every such model would lock out every
 * older registry version at once; the warning is what tells an operator to rebuild it.
 */
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../core/config.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/contract.js';

export const GOLDEN_FILE = 'golden.csv';
export const GOLDEN_TOLERANCE = 1e-5;

export interface GoldenSet {
  rows: Float32Array;
  n: number;
  /** The trainer's probability per row; null for range-only fallback rows. */
  expected: Float64Array | null;
  /** Where the rows came from, for messages: "golden.csv of the model", "fallback rows (range only)". */
  origin: string;
}

/** Reads a golden CSV: the contract's features in order, then `expected`. Throws naming what is wrong. */
export function readGoldenCsv(path: string): { rows: Float32Array; n: number; expected: Float64Array } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const want = [...FEATURE_NAMES, 'expected'];
  if (header.length !== want.length || header.some((h, i) => h !== want[i])) throw new Error(`${GOLDEN_FILE} header is not the feature contract followed by expected`);
  const n = lines.length - 1;
  if (n < 1) throw new Error(`${GOLDEN_FILE} has no rows`);
  const rows = new Float32Array(n * FEATURE_COUNT);
  const expected = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const cells = lines[r + 1]!.split(',');
    if (cells.length !== want.length) throw new Error(`${GOLDEN_FILE} row ${r + 1} has ${cells.length} cells, not ${want.length}`);
    for (let f = 0; f < FEATURE_COUNT; f++) rows[r * FEATURE_COUNT + f] = Number(cells[f]);
    expected[r] = Number(cells[FEATURE_COUNT]);
    if (!Number.isFinite(expected[r]!)) throw new Error(`${GOLDEN_FILE} row ${r + 1}: expected is not a number`);
  }
  return { rows, n, expected };
}

/** The fallback rows for models that ship no golden set: the shipped model's, range-checked only. */
export function loadGoldenRows(path = join(REPO_ROOT, 'models/fraud-detector', GOLDEN_FILE)): GoldenSet {
  const g = readGoldenCsv(path);
  return { rows: g.rows, n: g.n, expected: null, origin: 'fallback rows (range only: the model ships no golden.csv)' };
}

/** The model's own golden set when its directory has one, else `fallback`. */
export async function goldenFor(modelDir: string, fallback: GoldenSet): Promise<GoldenSet> {
  const path = join(modelDir, GOLDEN_FILE);
  try {
    await access(path);
  } catch {
    return fallback;
  }
  return { ...readGoldenCsv(path), origin: `${GOLDEN_FILE} of the model` };
}

/**
 * Null when every score is a finite probability and, with expected scores, within
 * GOLDEN_TOLERANCE of them; else a sentence saying what is wrong (the first bad row, the worst
 * difference and how many rows differ).
 */
export function checkGoldenScores(scores: Float32Array, golden?: GoldenSet): string | null {
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s) || s < 0 || s > 1) return `golden row ${i} scored ${s}, not a probability in [0, 1]`;
  }
  const expected = golden?.expected ?? null;
  if (expected === null) return null;
  let bad = 0;
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < scores.length; i++) {
    const d = Math.abs(scores[i]! - expected[i]!);
    if (d > GOLDEN_TOLERANCE) {
      bad++;
      if (d > worstDiff) {
        worstDiff = d;
        worst = i;
      }
    }
  }
  if (bad === 0) return null;
  return (
    `golden set mismatch: ${bad} of ${scores.length} rows of ${GOLDEN_FILE} score more than ${GOLDEN_TOLERANCE.toExponential()} away from the expected scores shipped with the model ` +
    `(worst: row ${worst + 1} scored ${scores[worst]}, expected ${expected[worst]}); its features may be shuffled or its converter broken`
  );
}
