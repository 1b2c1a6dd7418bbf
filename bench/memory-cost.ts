/**
 * What a user's window, a remembered transactionId and a remembered answer really cost on the
 * heap, against the estimates the byte budgets count. Each scenario runs in a fresh process
 * (nothing left from another, same warm-up cost in each): fill the structure with many entries
 * built the way the gateway builds them (strings from JSON.parse of a request body, so flat),
 * collect garbage, and divide the growth of heap used + ArrayBuffers (lru-cache's index arrays)
 * by the number of entries.
 *
 *   node dist/bench/memory-cost.js [--users 200000]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { lruSlotBytes } from '../src/core/heap-bytes.js';
import { FeatureEngine, type FeatureInput } from '../src/features/engine.js';
import { SeenIds } from '../src/features/seen.js';
import { AnswerStore } from '../src/idempotency/answers.js';
import { resultJson } from '../src/scoring/answer.js';
import type { ScoredEvent } from '../src/sink/events.js';

const { values } = parseArgs({ options: { users: { type: 'string', default: '200000' }, scenario: { type: 'string' } } });
const N = Number(values.users);

interface Measured {
  real: number;
  estimate: number;
  note?: string;
}

/** Heap in use plus ArrayBuffer backing stores, after full collections. */
function used(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('scenarios run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return v8.getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers;
}

/** A 36-character id as a flat string (crypto.randomUUID builds a rope of concatenations). */
const id36 = (): string => randomBytes(18).toString('hex');

/** A transaction the way the HTTP route gets it: fresh strings from JSON.parse. */
function parsed(txId: string, userId: string, amount: number, t: number, merchant: string): FeatureInput {
  return JSON.parse(`{"transactionId":"${txId}","userId":"${userId}","amount":${amount},"timestamp":${t},"merchantId":"${merchant}"}`) as FeatureInput;
}

function seenIds(): Measured {
  const seen = new SeenIds(N * 4, Number.MAX_SAFE_INTEGER);
  const before = used();
  for (let i = 0; i < N; i++) seen.add(JSON.parse(`"${id36()}"`) as string);
  return { real: (used() - before) / N, estimate: seen.bytes / N };
}

function windowSlots(): Measured {
  const before = used();
  const engine = new FeatureEngine({ maxUsers: N, maxBytes: 2 ** 40, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: 1 });
  const real = (used() - before) / N;
  void engine.userCount;
  return { real, estimate: lruSlotBytes(N, { sized: false, ttl: false }) / N };
}

/** A user's window (with `withSeen`, also its events' seen ids), merchant ids long or short. */
function windows(events: number, merchants: 'long' | 'short', withSeen: boolean): Measured {
  const engine = new FeatureEngine({ maxUsers: N, maxBytes: 2 ** 40, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: N * events * 4 });
  const userIds = Array.from({ length: N }, id36);
  const now = Date.now();
  const before = used();
  for (let e = 0; e < events; e++) {
    for (let u = 0; u < N; u++) {
      const merchant = merchants === 'long' ? `merchant-${(u * 7 + e) % 50_000}` : `m-${(u * 7 + e) % 5000}`;
      const tx = parsed(id36(), userIds[u]!, 10 + (u % 90), now - (events - e) * 60_000, merchant);
      engine.ingest(tx);
      // Without the seen ids: forget each id at once, so only the window is left to measure.
      if (!withSeen) engine.seen.delete(tx.transactionId);
    }
  }
  const real = (used() - before) / N;
  return { real, estimate: (engine.bytes + engine.seen.bytes) / N };
}

/** Remembered answers: the body as resultJson builds it, flattened the way sending it does. */
function answers(): Measured {
  const store = new AnswerStore({ maxAnswers: N, ttlMs: 86_400_000, maxBytes: Number.MAX_SAFE_INTEGER });
  const model = { name: 'fraud-detector', version: 'a2d93111f7bf' };
  const now = Date.now();
  const before = used();
  let chars = 0;
  for (let i = 0; i < N; i++) {
    const tx = parsed(id36(), `user-${i}`, 10 + (i % 90), now, 'm-1') as unknown as ScoredEvent['transaction'];
    const ev = { transaction: tx, score: Math.random(), riskCategory: 'LOW', model, quality: { score: 0.75, flags: ['AMOUNT_INCONSISTENT'] }, fallback: null, tookMs: 1.234 } as unknown as ScoredEvent;
    const body = resultJson(ev);
    Buffer.byteLength(body); // writing the answer out flattens the string; so does this
    chars += body.length;
    store.settle(tx.transactionId, randomBytes(16).toString('base64url').slice(0, 22), body);
  }
  return { real: (used() - before) / N, estimate: store.bytes / N, note: `${Math.round(chars / N)}-character body` };
}

const SCENARIOS: Record<string, { what: string; run: () => Measured }> = {
  seen: { what: 'seen transactionId (36 chars): Set entry + string', run: seenIds },
  slots: { what: 'window LRU slot, allocated per WINDOW_MAX_USERS at start', run: windowSlots },
  ...Object.fromEntries(
    [1, 3, 10].flatMap((events) => [
      [`w${events}`, { what: `user window, ${events} event${events > 1 ? 's' : ''} (36-char userId, 13–14-char merchant ids)`, run: () => windows(events, 'long', false) }],
      [`ws${events}`, { what: `… the same with its ${events} seen id${events > 1 ? 's' : ''}`, run: () => windows(events, 'long', true) }],
      [`wm${events}`, { what: `user window, ${events} event${events > 1 ? 's' : ''}, ≤ 6-char merchant ids (JSON.parse shares them)`, run: () => windows(events, 'short', false) }],
    ]),
  ),
  answer: { what: 'remembered answer (36-char id, 22-char fingerprint)', run: answers },
};

if (values.scenario !== undefined) {
  const s = SCENARIOS[values.scenario];
  if (s === undefined) throw new Error(`no scenario ${values.scenario}`);
  console.log(JSON.stringify(s.run()));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows = Object.entries(SCENARIOS).map(([key, s]) => {
    const out = execFileSync(process.execPath, ['--expose-gc', self, '--scenario', key, '--users', String(N)], { encoding: 'utf8' });
    const m = JSON.parse(out.trim().split('\n').pop()!) as Measured;
    const diff = ((m.estimate - m.real) / m.real) * 100;
    return `| ${s.what}${m.note !== undefined ? `, ${m.note}` : ''} | ${m.real.toFixed(0)} | ${m.estimate.toFixed(0)} | ${diff >= 0 ? '+' : ''}${diff.toFixed(1)}% |`;
  });
  console.log([`${N.toLocaleString('en-US')} entries each, a fresh process per row (node --expose-gc; heap used + ArrayBuffers after GC)`, '', '| what | measured B each | estimate B each | estimate vs measured |', '|---|---:|---:|---:|', ...rows].join('\n'));
}
