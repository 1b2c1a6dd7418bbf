/**
 * The training baseline a model ships with (`baseline.json` in its MLflow model directory,
 * written by models/pipeline/baseline.py): per feature, in contract order, and for the score,
 * quantile bin edges and the share of training rows in each bin. Bin i holds the values x with
 * edges[i-1] < x <= edges[i]: the number of edges below x, as numpy's
 * `searchsorted(edges, x, side="left")` counts it in the pipeline.
 *
 * A model without one, or with one that does not check out, still serves: drift is off for it
 * and the reason is logged (a monitoring artifact never keeps a model from serving).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FEATURE_NAMES } from '../features/contract.js';

export const BASELINE_FILE = 'baseline.json';
export const BASELINE_FORMAT = 'scoregate.baseline/1';
/** Most bins a series may have (the pipeline makes at most 10). */
export const MAX_BINS = 16;

export interface BaselineSeries {
  edges: number[];
  shares: number[];
}

export interface Baseline {
  rows: number;
  source: string;
  /** One per contract feature, in contract order. */
  features: BaselineSeries[];
  score: BaselineSeries;
}

/** The baseline, or null with the reason drift is off for this model. */
export type BaselineRead = { baseline: Baseline; problem: null } | { baseline: null; problem: string };

function series(v: unknown, what: string): BaselineSeries {
  const o = v as { edges?: unknown; shares?: unknown } | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.edges) || !Array.isArray(o.shares)) throw new Error(`${what}: needs edges and shares arrays`);
  const edges = o.edges as unknown[];
  const shares = o.shares as unknown[];
  if (edges.length + 1 > MAX_BINS) throw new Error(`${what}: ${edges.length} edges, at most ${MAX_BINS - 1}`);
  if (shares.length !== edges.length + 1) throw new Error(`${what}: ${edges.length} edges need ${edges.length + 1} shares, got ${shares.length}`);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    if (typeof e !== 'number' || !Number.isFinite(e)) throw new Error(`${what}: edge ${i} is not a finite number`);
    if (i > 0 && !(e > (edges[i - 1] as number))) throw new Error(`${what}: edges must increase (edge ${i})`);
  }
  let sum = 0;
  for (const s of shares) {
    if (typeof s !== 'number' || !(s >= 0 && s <= 1)) throw new Error(`${what}: shares must be numbers in [0, 1]`);
    sum += s;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`${what}: shares sum to ${sum}, not 1`);
  return { edges: edges as number[], shares: shares as number[] };
}

/** Checks a parsed baseline.json against the feature contract; throws naming what is wrong. */
export function parseBaseline(doc: unknown): Baseline {
  const d = doc as { format?: unknown; rows?: unknown; source?: unknown; features?: unknown; score?: unknown } | null;
  if (typeof d !== 'object' || d === null) throw new Error('not a JSON object');
  if (d.format !== BASELINE_FORMAT) throw new Error(`format is ${JSON.stringify(d.format)}, expected ${BASELINE_FORMAT}`);
  if (!Array.isArray(d.features)) throw new Error('features must be a list');
  const names = (d.features as { name?: unknown }[]).map((f) => (typeof f?.name === 'string' ? f.name : '<unnamed>'));
  if (names.length !== FEATURE_NAMES.length || names.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw new Error(`features are not the contract's, in its order: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}`);
  }
  return {
    rows: typeof d.rows === 'number' ? d.rows : 0,
    source: typeof d.source === 'string' ? d.source : '',
    features: (d.features as unknown[]).map((f, i) => series(f, `feature ${FEATURE_NAMES[i]}`)),
    score: series(d.score, 'score'),
  };
}

/** Reads `dir/baseline.json`; never throws. */
export async function readBaseline(dir: string): Promise<BaselineRead> {
  let text: string;
  try {
    text = await readFile(join(dir, BASELINE_FILE), 'utf8');
  } catch {
    return { baseline: null, problem: `the model has no ${BASELINE_FILE}` };
  }
  try {
    return { baseline: parseBaseline(JSON.parse(text)), problem: null };
  } catch (err) {
    return { baseline: null, problem: `${BASELINE_FILE} is not usable: ${err instanceof Error ? err.message : String(err)}` };
  }
}
