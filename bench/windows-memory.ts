/**
 * Memory of the feature windows with many users loaded: RSS and V8 heap after ingesting
 * `--users` users with `--events` events each, and the time of compute() over them.
 *
 *   node --expose-gc dist/bench/windows-memory.js [--users 1000000] [--events 3]
 */
import { parseArgs } from 'node:util';
import { FEATURE_COUNT } from '../src/features/contract.js';
import { FeatureEngine } from '../src/features/engine.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '1000000' }, events: { type: 'string', default: '3' } } });
const users = Number(values.users);
const events = Number(values.events);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;

gc?.();
const base = process.memoryUsage();
const engine = new FeatureEngine({ maxUsers: users * 2, maxBytes: 2 ** 40, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: users * events * 2 });
const t0 = Date.now();
const now = Date.now();
for (let e = 0; e < events; e++) {
  for (let u = 0; u < users; u++) {
    engine.ingest({ transactionId: `t${u}-${e}`, userId: `user-${u}`, timestamp: now - (events - e) * 60_000, amount: 10 + (u % 100), merchantId: `m-${u % 5000}` });
  }
}
const ingestS = (Date.now() - t0) / 1000;
gc?.();
const after = process.memoryUsage();
const row = new Float32Array(FEATURE_COUNT);
const t1 = process.hrtime.bigint();
const probes = 200_000;
for (let i = 0; i < probes; i++) {
  const u = (i * 7919) % users;
  engine.compute({ transactionId: 'probe', userId: `user-${u}`, timestamp: now, amount: 50, merchantId: 'm-1' }, row, 0);
}
const computeUs = Number(process.hrtime.bigint() - t1) / 1000 / probes;
console.log(
  [
    '| users | events/user | ingest s | RSS | heap used | RSS per user | compute µs |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${users.toLocaleString('en-US')} | ${events} | ${ingestS.toFixed(1)} | ${mb(after.rss)} | ${mb(after.heapUsed)} | ${((after.rss - base.rss) / users).toFixed(0)} B | ${computeUs.toFixed(2)} |`,
  ].join('\n'),
);
console.log(`(seen ids: ${engine.seen.size.toLocaleString('en-US')}; window estimate ${mb(engine.bytes)})`);
