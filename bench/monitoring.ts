/**
 * What monitoring adds to each scored transaction, with tinybench: the drift window's feature
 * update (26 bin searches over the shipped baseline's edges, a ring write and counter moves),
 * its score update, the outcome join's remember, the canary split's hash, and the whole
 * per-answer monitor call; plus the PSI evaluation (per scrape and per second, not per row).
 * Real rows: the synthetic stream replayed through the feature engine.
 *
 *   npm run build && node dist/bench/monitoring.js [--quick]
 */
import { Registry } from 'prom-client';
import { Bench } from 'tinybench';
import { Logger } from '../src/core/log.js';
import { FEATURE_COUNT } from '../src/features/contract.js';
import { FeatureEngine } from '../src/features/engine.js';
import { REPLAY_ENGINE_OPTIONS } from '../src/features/replay.js';
import { userBucket } from '../src/models/canary.js';
import { readModelDir } from '../src/models/mlmodel.js';
import { DriftMonitor } from '../src/monitoring/drift.js';
import { Monitor } from '../src/monitoring/monitor.js';
import { OutcomeTracker } from '../src/monitoring/outcomes.js';
import { parseTransaction } from '../src/quality/parse.js';
import { generate } from '../src/synth/generator.js';
import { Counter } from 'prom-client';
import { REPO_ROOT } from '../src/core/config.js';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');
const time = quick ? 100 : 1000;

const stream = generate({ users: 2000, days: 2 });
const engine = new FeatureEngine(REPLAY_ENGINE_OPTIONS);
const rows = new Float32Array(stream.length * FEATURE_COUNT);
stream.forEach((t, r) => {
  const tx = parseTransaction(t);
  engine.compute(tx, rows, r * FEATURE_COUNT);
  engine.ingest(tx);
});
const ids = stream.map((t) => t.transactionId);
const users = stream.map((t) => t.userId);
const scores = Float64Array.from(stream, (_, i) => (i % 97) / 97);

const registry = new Registry();
const log = new Logger('error');
const drift = new DriftMonitor({ windowRows: 10_000, threshold: 0.2, minRows: 500 }, registry, log);
const model = await readModelDir(join(REPO_ROOT, 'models/fraud-detector'));
drift.use(model);
const outcomes = new OutcomeTracker({ maxEntries: 500_000, ttlMs: 7 * 86_400_000, window: 10_000 }, registry);
const byModel = new Counter({ name: 'bench_answers', help: 'x', labelNames: ['name', 'version', 'by'] as const, registers: [registry] });
const monitor = new Monitor(drift, outcomes, byModel);
const ref = Object.freeze({ name: model.name, version: model.version });

let i = 0;
const n = stream.length;
const bench = new Bench({ time, warmupTime: quick ? 20 : 200 });
bench
  .add('drift: features of one row', () => {
    i = i + 1 === n ? 0 : i + 1;
    drift.features(rows, i * FEATURE_COUNT);
  })
  .add('drift: one score', () => {
    i = i + 1 === n ? 0 : i + 1;
    drift.score(scores[i]!);
  })
  .add('outcomes: remember one answer', () => {
    i = i + 1 === n ? 0 : i + 1;
    outcomes.answered(ids[i]!, scores[i]!);
  })
  .add('canary: bucket of one userId', () => {
    i = i + 1 === n ? 0 : i + 1;
    userBucket(users[i]!);
  })
  .add('monitor: features + answered (all of the above per answer)', () => {
    i = i + 1 === n ? 0 : i + 1;
    monitor.features(rows, i * FEATURE_COUNT);
    monitor.answered(ids[i]!, scores[i]!, ref, 'champion');
  })
  .add('drift: evaluate PSI of 27 series (per scrape / second)', () => {
    drift.evaluate();
  });
await bench.run();
console.log(`monitoring per scored transaction (${n} replayed rows, Node ${process.version})`);
console.table(bench.table());
