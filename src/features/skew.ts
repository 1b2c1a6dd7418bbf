/**
 * Training/serving skew check: for a sample of logged events, the feature vector the gateway
 * served (as logged with the scored event and exported from the Delta table) against the one the
 * replay CLI computes from the same events (replayToCsv, the engine that makes training data).
 * Both sides are float32 rows in the contract's order; any difference is reported, by feature.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_NAMES } from './contract.js';
import { replayToCsv } from './replay.js';

export interface SkewDifference {
  transactionId: string;
  feature: string;
  served: number;
  replayed: number;
}

export interface SkewReport {
  /** Served rows in the sample. */
  sampled: number;
  /** Sampled rows the replay also produced and that were compared. */
  compared: number;
  /** Sampled ids the replay did not produce (not in the events, invalid or duplicate there). */
  missing: string[];
  /** Rows with at least one feature beyond the tolerance. */
  mismatchedRows: number;
  /** Differences per feature name (only features that differ). */
  byFeature: Record<string, number>;
  /** The first differences found (at most 20). */
  examples: SkewDifference[];
}

/** A replay-format CSV (transactionId, label, contract features) as rows by id. */
export function readFeatureCsv(path: string): Map<string, Float32Array> {
  const lines = readFileSync(path, 'utf8').split('\n');
  const header = lines[0]!.split(',');
  const names = header.slice(2);
  if (header[0] !== 'transactionId' || names.join(',') !== FEATURE_NAMES.join(',')) {
    throw new Error(`${path}: the header is not transactionId,label + the feature contract's names in order`);
  }
  const rows = new Map<string, Float32Array>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const cells = line.split(',');
    const row = new Float32Array(names.length);
    for (let j = 0; j < names.length; j++) row[j] = Number(cells[j + 2]);
    rows.set(cells[0]!, row);
  }
  return rows;
}

/** Every k-th id so that about `sample` rows are compared (all when sample is 0 or larger than the set). */
function pick(ids: string[], sample: number): string[] {
  if (sample <= 0 || sample >= ids.length) return ids;
  const step = ids.length / sample;
  return Array.from({ length: sample }, (_, i) => ids[Math.floor(i * step)]!);
}

export async function skewCheck(servedCsv: string, eventsJsonl: string, opts: { sample?: number; tolerance?: number } = {}): Promise<SkewReport> {
  const served = readFeatureCsv(servedCsv);
  const dir = mkdtempSync(join(tmpdir(), 'skew-'));
  let replayed: Map<string, Float32Array>;
  try {
    const out = join(dir, 'replayed.csv');
    await replayToCsv(eventsJsonl, out);
    replayed = readFeatureCsv(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const tol = opts.tolerance ?? 0;
  const ids = pick([...served.keys()], opts.sample ?? 0);
  const report: SkewReport = { sampled: ids.length, compared: 0, missing: [], mismatchedRows: 0, byFeature: {}, examples: [] };
  for (const id of ids) {
    const s = served.get(id)!;
    const r = replayed.get(id);
    if (r === undefined) {
      report.missing.push(id);
      continue;
    }
    report.compared++;
    let differs = false;
    for (let j = 0; j < s.length; j++) {
      // NaN never equals NaN: both NaN is no difference.
      if (s[j] === r[j] || Math.abs(s[j]! - r[j]!) <= tol || (Number.isNaN(s[j]) && Number.isNaN(r[j]))) continue;
      differs = true;
      const f = FEATURE_NAMES[j]!;
      report.byFeature[f] = (report.byFeature[f] ?? 0) + 1;
      if (report.examples.length < 20) report.examples.push({ transactionId: id, feature: f, served: s[j]!, replayed: r[j]! });
    }
    if (differs) report.mismatchedRows++;
  }
  return report;
}
