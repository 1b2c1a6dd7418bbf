/**
 * Replays a stream of transactions (JSON lines, in file order) through the feature engine
 * exactly as the gateway does — compute from the history, then join it — and writes one CSV row
 * per transaction: transactionId, label, then the features in contract order. This is how the
 * model pipeline gets its training data: from this engine, never from a second implementation.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { parseTransaction } from '../quality/parse.js';
import { FEATURE_COUNT, FEATURE_NAMES } from './contract.js';
import { FeatureEngine, type EngineOptions } from './engine.js';

export const REPLAY_ENGINE_OPTIONS: EngineOptions = {
  maxUsers: 10_000_000,
  maxBytes: 2 ** 40,
  maxEventsPerUser: 4096,
  allowedLatenessMs: 300_000,
  seenIdsMax: 100_000_000,
};

export interface ReplayStats {
  rows: number;
  invalid: number;
  duplicates: number;
}


/** Told every PROGRESS_EVERY lines how far the replay is: its counts and input bytes read. */
export type ReplayProgress = (stats: ReplayStats, bytesRead: number) => void;
const PROGRESS_EVERY = 1000;

export async function replayToCsv(inPath: string, outPath: string, opts: EngineOptions = REPLAY_ENGINE_OPTIONS, onProgress?: ReplayProgress): Promise<ReplayStats> {
  const engine = new FeatureEngine(opts);
  const row = new Float32Array(FEATURE_COUNT);
  const out = createWriteStream(outPath);
  out.write(['transactionId', 'label', ...FEATURE_NAMES].join(',') + '\n');
  const stats: ReplayStats = { rows: 0, invalid: 0, duplicates: 0 };
  const input = createReadStream(inPath);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (onProgress !== undefined && ++n % PROGRESS_EVERY === 0) onProgress(stats, input.bytesRead);
    if (line.trim() === '') continue;
    const raw = JSON.parse(line) as Record<string, unknown>;
    let tx;
    try {
      tx = parseTransaction(raw);
    } catch {
      stats.invalid++;
      continue;
    }
    if (engine.seen.has(tx.transactionId)) {
      stats.duplicates++;
      continue;
    }
    engine.compute(tx, row, 0);
    engine.ingest(tx);
    const label = raw['label'] === 1 ? 1 : 0;
    let s = `${tx.transactionId},${label}`;
    for (let i = 0; i < FEATURE_COUNT; i++) s += ',' + String(row[i]!); // a float32 widened to double prints exactly, so Python reads back the same float32
    if (!out.write(s + '\n')) await once(out, 'drain');
    stats.rows++;
  }
  out.end();
  await once(out, 'finish');
  return stats;
}
