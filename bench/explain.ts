/**
 * What an explanation costs per scored transaction, with tinybench: exact TreeSHAP over the
 * shipped model's 200 trees (every feature's contribution), the top-5 selection and its JSON,
 * next to what the transaction already pays (feature compute, one row of inference on the event
 * loop, the answer's serialisation), on real feature rows (the held-out file: LOW, MEDIUM and
 * HIGH scores as they come). Prints a table a person can read.
 *
 *   npm run build && node dist/bench/explain.js [--quick]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { REPO_ROOT } from '../src/core/config.js';
import { Explainer } from '../src/explain/explainer.js';
import { topContributors } from '../src/explain/reasons.js';
import { FEATURE_COUNT } from '../src/features/contract.js';
import { InferencePool } from '../src/inference/pool.js';
import { readModelDir } from '../src/models/mlmodel.js';
import { explanationJson } from '../src/scoring/answer.js';

const quick = process.argv.includes('--quick');
const dir = join(REPO_ROOT, 'models/fraud-detector');
const model = await readModelDir(dir);
const explainer = await Explainer.load(dir, model.onnxPath);
const inline = await InferencePool.start(model, { workers: 0, batchMax: 128, queueMax: 1e6 });

const lines = readFileSync(join(REPO_ROOT, 'models/parity/heldout.csv'), 'utf8').trim().split('\n').slice(1);
const n = lines.length;
const rows = new Float32Array(n * FEATURE_COUNT);
const expected = new Float64Array(n);
lines.forEach((l, r) => {
  const c = l.split(',');
  for (let f = 0; f < FEATURE_COUNT; f++) rows[r * FEATURE_COUNT + f] = Number(c[2 + f]);
  expected[r] = Number(c[2 + FEATURE_COUNT]);
});
const high = [...expected.keys()].filter((r) => expected[r]! > 0.5);
let i = 0;
let h = 0;
const phi = new Float64Array(FEATURE_COUNT + 1);

const bench = new Bench({ time: quick ? 100 : 2000, warmupTime: quick ? 20 : 300 });
bench
  .add('inference: 1 row on the event loop (for scale)', async () => {
    await inline.scoreRows(rows.subarray((i = (i + 1) % n) * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), 1);
  })
  .add('explain: margin only (walk 200 trees)', () => {
    explainer.shap.margin(rows, (i = (i + 1) % n) * FEATURE_COUNT);
  })
  .add('explain: TreeSHAP, all 26 contributions + bias', () => {
    explainer.contributions(rows, (i = (i + 1) % n) * FEATURE_COUNT, phi);
  })
  .add('explain: TreeSHAP on MEDIUM/HIGH rows only', () => {
    explainer.contributions(rows, high[(h = (h + 1) % high.length)]! * FEATURE_COUNT, phi);
  })
  .add('explain: top 5 + reason codes (from contributions)', () => {
    topContributors(phi, rows, i * FEATURE_COUNT, 5);
  })
  .add('explain: full (TreeSHAP + top 5 + JSON)', () => {
    explanationJson(explainer.explain(rows, (i = (i + 1) % n) * FEATURE_COUNT));
  });

const cpu0 = process.cpuUsage();
const t0 = performance.now();
await bench.run();
const cpuShare = (() => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1000 / (performance.now() - t0);
})();
await inline.close();

const table = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p50?: number; p99: number } } | undefined;
  const mean = r?.latency?.mean ?? NaN;
  return `| ${t.name} | ${(mean * 1000).toFixed(2)} | ${((r?.latency?.p50 ?? NaN) * 1000).toFixed(2)} | ${((r?.latency?.p99 ?? NaN) * 1000).toFixed(2)} | ${Math.round(1000 / mean).toLocaleString('en-US')} |`;
});
console.log(['| task | mean µs | p50 µs | p99 µs | ops/s |', '|---|---:|---:|---:|---:|', ...table].join('\n'));
// CPU time, not wall time: on a shared machine a task's wall time includes the time other
// processes held the core; its CPU time is what this process spent.
function cpuPerRow(f: (off: number) => void, rowsList: readonly number[]): number {
  const c0 = process.cpuUsage();
  for (const r of rowsList) f(r * FEATURE_COUNT);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / rowsList.length;
}
const all = [...Array(n).keys()];
const cpuShap = cpuPerRow((off) => explainer.contributions(rows, off, phi), all);
const cpuHigh = cpuPerRow((off) => explainer.contributions(rows, off, phi), high);
const cpuMargin = cpuPerRow((off) => explainer.shap.margin(rows, off), all);
console.log(`\nCPU time per row over the ${n} held-out rows: TreeSHAP ${cpuShap.toFixed(0)} µs (MEDIUM/HIGH rows ${cpuHigh.toFixed(0)} µs), margin walk ${cpuMargin.toFixed(1)} µs`);
console.log(`\n${n} held-out rows (${high.length} MEDIUM/HIGH); deepest tree ${explainer.shap.ensemble.maxDepth} splits; this process had ${(cpuShare * 100).toFixed(0)}% of a core while it ran`);
