/**
 * Privacy on the hot path, with tinybench: protectTransaction on a clean transaction (the
 * common case: the prescan says no to every field) and on a dirty one (card, CVV, expiry,
 * e-mail, phone in metadata), and maskText on a clean and a dirty dead-letter payload.
 * `--quick` runs each task briefly (CI smoke).
 *
 *   npm run build && node dist/bench/privacy.js [--quick]
 */
import { Bench } from 'tinybench';
import { maskText, privacyOptions, protectTransaction } from '../src/privacy/index.js';
import { parseTransaction } from '../src/quality/parse.js';

const quick = process.argv.includes('--quick');
const time = quick ? 100 : 1000;

const base = {
  transactionId: 'tx-1001',
  userId: 'user-42',
  amount: '129.90',
  currency: 'EUR',
  timestamp: 1735689600000,
  merchantId: 'm-77',
  channel: 'web',
};
const clean = parseTransaction({ ...base, metadata: { country: 'DE', device: 'ios-17', ip: '10.1.2.3', session: '9f8e7d6c' } });
const dirty = parseTransaction({
  ...base,
  metadata: { country: 'DE', card_number: '4111 1111 1111 1111', cvv: '123', exp: '12/26', email: 'jane.doe@example.com', phone: '+44 20 7946 0958' },
});
const cleanRaw = JSON.stringify({ ...base, amount: -1, metadata: { country: 'DE', device: 'ios-17' } });
const dirtyRaw = JSON.stringify({ ...base, amount: -1, metadata: { country: 'DE', card_number: '4111 1111 1111 1111', cvv: '123', email: 'jane.doe@example.com' } });
const withKey = privacyOptions(Buffer.alloc(32, 9));

let sink = 0;
const bench = new Bench({ time, warmupTime: quick ? 20 : 200 });
bench
  .add('protectTransaction: clean', () => {
    sink += protectTransaction(clean).classification.fields.length;
  })
  .add('protectTransaction: dirty', () => {
    sink += protectTransaction(dirty).classification.fields.length;
  })
  .add('protectTransaction: dirty, with join tokens', () => {
    sink += protectTransaction(dirty, withKey).classification.fields.length;
  })
  .add('maskText: clean dead letter', () => {
    sink += maskText(cleanRaw).length;
  })
  .add('maskText: dirty dead letter', () => {
    sink += maskText(dirtyRaw).length;
  });

await bench.run();
if (sink === 0) console.error('unreachable');

const table = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p50: number; p99: number } } | undefined;
  const mean = r?.latency?.mean ?? NaN;
  const p99 = r?.latency?.p99 ?? NaN;
  const p50 = r?.latency?.p50 ?? NaN;
  return `| ${t.name} | ${(p50 * 1e6).toFixed(0)} | ${(mean * 1e6).toFixed(0)} | ${(p99 * 1e6).toFixed(0)} | ${Math.round(1000 / mean).toLocaleString('en-US')} |`;
});
console.log(['| task | median ns | mean ns | p99 ns | ops/s |', '|---|---:|---:|---:|---:|', ...table].join('\n'));
