/**
 * Microbenchmarks of the hot path, piece by piece, with tinybench:
 *   request parse + validation, quality checks, feature compute + ingest, response
 *   serialisation, and inference at batch sizes 1…128 through the real worker pool.
 * Prints a table a person can read. `--quick` runs each task briefly (CI smoke).
 *
 *   npm run build && node dist/bench/hotpath.js [--quick]
 */
import { Bench } from 'tinybench';
import { loadConfig } from '../src/core/config.js';
import { FEATURE_COUNT } from '../src/features/contract.js';
import { FeatureEngine } from '../src/features/engine.js';
import { LoggedFeatures } from '../src/features/logged.js';
import { fingerprint } from '../src/idempotency/fingerprint.js';
import { resultJson } from '../src/scoring/answer.js';
import { InferencePool } from '../src/inference/pool.js';
import { readModelDir } from '../src/models/mlmodel.js';
import { assessQuality } from '../src/quality/checks.js';
import { parseTransaction } from '../src/quality/parse.js';
import type { ScoredEvent } from '../src/sink/events.js';
import { generate } from '../src/synth/generator.js';

const quick = process.argv.includes('--quick');
const time = quick ? 100 : 1000;

const stream = generate({ users: 2000, days: 2, startMs: Date.now() - 2 * 86_400_000 });
const bodies = stream.map((t) => JSON.stringify(t));
const parsed = stream.map((t) => parseTransaction(t));
let i = 0;
const next = (): number => (i = (i + 1) % stream.length);

const engine = new FeatureEngine({ maxUsers: 1e6, maxBytes: 2 ** 32, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: 1e7 });
for (const tx of parsed.slice(0, parsed.length / 2)) {
  engine.ingest(tx);
}
const row = new Float32Array(FEATURE_COUNT);
const ev: ScoredEvent = {
  transaction: parsed[0]!,
  score: 0.123456789,
  riskCategory: 'LOW',
  model: { name: 'fraud-detector', version: '1' },
  quality: { score: 1, flags: [] },
  source: 'http',
  receivedAt: Date.now(),
  scoredAt: Date.now(),
  challenger: null,
  fallback: null,
  tookMs: 0.512,
  fingerprint: 'AAAAAAAAAAAAAAAAAAAAAA',
  classification: null,
  features: new LoggedFeatures(row.slice()),
  lineage: { sourceSystem: 'scoregate.http', admittedAt: 0, validatedAt: 0.01, enrichedAt: 0.02, checkedAt: 0.03, scoredAt: 0.3, history24h: 0, joined: true, quality: assessQuality(parsed[0]!, Number.NaN, parsed[0]!.timestamp) },
};

const bench = new Bench({ time, warmupTime: quick ? 20 : 200 });
bench
  .add('parse: JSON.parse + validate', () => {
    parseTransaction(JSON.parse(bodies[next()]!));
  })
  .add('idempotency: fingerprint', () => {
    fingerprint(parsed[next()]!);
  })
  .add('quality: assess flags', () => {
    assessQuality(parsed[next()]!, 40, Date.now());
  })
  .add('features: compute (history read)', () => {
    engine.compute(parsed[next()]!, row, 0);
  })
  .add('features: compute + ingest', () => {
    const tx = parsed[next()]!;
    engine.compute(tx, row, 0);
    engine.ingest({ ...tx, transactionId: `${tx.transactionId}-${i}-${Math.random()}` });
  })
  .add('response: serialise result', () => {
    resultJson(ev);
  });

const config = loadConfig();
const model = await readModelDir(config.modelDir);
const pool = await InferencePool.start(model, { workers: 1, batchMax: 128, queueMax: 1e6 });
const inline = await InferencePool.start(model, { workers: 0, batchMax: 128, queueMax: 1e6 });
const rows = new Float32Array(128 * FEATURE_COUNT);
for (let r = 0; r < 128; r++) {
  engine.compute(parsed[r]!, row, 0);
  rows.set(row, r * FEATURE_COUNT);
}
for (const n of [1, 8, 32, 128]) {
  bench.add(`inference: batch of ${n}, worker thread`, async () => {
    await pool.scoreRows(rows, n);
  });
  bench.add(`inference: batch of ${n}, on the event loop`, async () => {
    await inline.scoreRows(rows, n);
  });
}

await bench.run();
await pool.close();
await inline.close();

const table = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p99: number }; throughput?: { mean: number } } | undefined;
  const mean = r?.latency?.mean ?? NaN;
  const p99 = r?.latency?.p99 ?? NaN;
  return `| ${t.name} | ${(mean * 1000).toFixed(2)} | ${(p99 * 1000).toFixed(2)} | ${Math.round(1000 / mean).toLocaleString('en-US')} |`;
});
console.log(['| task | mean µs | p99 µs | ops/s |', '|---|---:|---:|---:|', ...table].join('\n'));
