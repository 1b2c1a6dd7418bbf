/**
 * Encryption at rest, with tinybench: seal and open of one 1 KiB record (AES-256-GCM, a fresh
 * random IV each), a frame, and openFrames over a 1,000-record stream (per record).
 * `--quick` runs each task briefly (CI smoke).
 *
 *   npm run build && node dist/bench/cipher.js [--quick]
 */
import { randomBytes } from 'node:crypto';
import { Bench } from 'tinybench';
import { openFrames, parseKeyring, RecordCipher } from '../src/sink/cipher.js';

const quick = process.argv.includes('--quick');
const time = quick ? 100 : 1000;

const cipher = new RecordCipher(parseKeyring(JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } })));
const record = randomBytes(1024);
const sealed = cipher.seal(record);
const FRAMES = 1000;
const stream = Buffer.concat(Array.from({ length: FRAMES }, () => cipher.sealFrame(record)));

let sink = 0;
const bench = new Bench({ time, warmupTime: quick ? 20 : 200 });
bench
  .add('seal 1 KiB', () => {
    sink += cipher.seal(record).length;
  })
  .add('open 1 KiB', () => {
    sink += cipher.open(sealed).length;
  })
  .add('sealFrame 1 KiB', () => {
    sink += cipher.sealFrame(record).length;
  })
  .add(`openFrames, ${FRAMES} × 1 KiB`, () => {
    sink += openFrames(stream, cipher).records.length;
  });

await bench.run();
if (sink === 0) console.error('unreachable');

const table = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p50: number; p99: number } } | undefined;
  const per = t.name.startsWith('openFrames') ? FRAMES : 1;
  const mean = (r?.latency?.mean ?? NaN) / per;
  const p99 = (r?.latency?.p99 ?? NaN) / per;
  const p50 = (r?.latency?.p50 ?? NaN) / per;
  return `| ${t.name}${per > 1 ? ' (per record)' : ''} | ${(p50 * 1000).toFixed(2)} | ${(mean * 1000).toFixed(2)} | ${(p99 * 1000).toFixed(2)} | ${Math.round(1000 / mean).toLocaleString('en-US')} | ${((1000 / mean) * 1024 / 2 ** 20).toFixed(0)} |`;
});
console.log(['| task | median µs | mean µs | p99 µs | records/s | MiB/s |', '|---|---:|---:|---:|---:|---:|', ...table].join('\n'));
