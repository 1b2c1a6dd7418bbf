/**
 * The feature engine against a brute-force oracle over long random streams: every feature of
 * every transaction equals the oracle's (float32-rounded, relative 1e-6 for sums taken in a
 * different order), including late events inside the allowed lateness, duplicates, and bursts.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../synth/random.js';
import { FEATURE_COUNT, FEATURE_NAMES, F, NO_PREVIOUS, WINDOWS } from './contract.js';
import { FeatureEngine, type FeatureInput } from './engine.js';

interface Ev {
  ts: number;
  amount: number;
  merchant: string | null;
}

/** The definition, written as plainly as possible: filter the accepted history, aggregate. */
class Oracle {
  readonly events = new Map<string, Ev[]>();
  readonly maxTs = new Map<string, number>();
  readonly seen = new Set<string>();
  constructor(readonly lateness: number) {}

  features(tx: FeatureInput): number[] {
    const hist = (this.events.get(tx.userId) ?? []).filter((e) => e.ts <= tx.timestamp);
    const out = new Array<number>(FEATURE_COUNT).fill(0);
    out[F.amount] = tx.amount;
    out[F.hourOfDay] = new Date(tx.timestamp).getUTCHours();
    const prev = hist.length ? Math.max(...hist.map((e) => e.ts)) : null;
    out[F.secondsSincePrev] = prev === null ? NO_PREVIOUS : (tx.timestamp - prev) / 1000;
    WINDOWS.forEach((w, k) => {
      const xs = hist.filter((e) => tx.timestamp - e.ts < w.ms).map((e) => e.amount);
      const n = xs.length;
      const sum = xs.reduce((a, b) => a + b, 0);
      const mean = n ? sum / n : 0;
      const std = n ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : 0;
      out[F.window(k, 0)] = n;
      out[F.window(k, 1)] = sum;
      out[F.window(k, 2)] = mean;
      out[F.window(k, 3)] = n ? Math.max(...xs) : 0;
      out[F.window(k, 4)] = std;
    });
    const day = hist.filter((e) => tx.timestamp - e.ts < 86_400_000);
    const merchants = new Set(day.map((e) => e.merchant).filter((m) => m !== null));
    out[F.distinctMerchants24h] = merchants.size;
    out[F.merchantNew24h] = tx.merchantId !== null && !merchants.has(tx.merchantId) ? 1 : 0;
    const n = day.length;
    const mean = n ? day.reduce((a, e) => a + e.amount, 0) / n : 0;
    const std = n ? Math.sqrt(day.reduce((a, e) => a + (e.amount - mean) ** 2, 0) / n) : 0;
    out[F.amountZscore24h] = n >= 2 && std > 0 ? (tx.amount - mean) / std : 0;
    return out;
  }

  /** Same acceptance rule as the engine: first sighting of the id, within the lateness. */
  ingest(tx: FeatureInput): 'added' | 'duplicate' | 'late' {
    if (this.seen.has(tx.transactionId)) return 'duplicate';
    this.seen.add(tx.transactionId);
    const max = this.maxTs.get(tx.userId);
    if (max !== undefined && tx.timestamp < max - this.lateness) return 'late';
    this.maxTs.set(tx.userId, Math.max(max ?? -Infinity, tx.timestamp));
    const list = this.events.get(tx.userId) ?? [];
    list.push({ ts: tx.timestamp, amount: tx.amount, merchant: tx.merchantId });
    this.events.set(tx.userId, list);
    return 'added';
  }
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}

function stream(seed: number, n: number, users: number, lateness: number): FeatureInput[] {
  const r = new Random(seed);
  const out: FeatureInput[] = [];
  let clock = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    // Mostly small steps, sometimes a burst (same ms), sometimes hours of quiet.
    const step = r.chance(0.1) ? 0 : r.chance(0.05) ? r.int(1, 6) * 3_600_000 : r.int(1, 90_000);
    clock += step;
    // Some events arrive late: inside the lateness mostly, a few beyond it.
    const late = r.chance(0.15) ? r.int(0, lateness) : r.chance(0.02) ? lateness + r.int(1, 3_600_000) : 0;
    const id = r.chance(0.03) && i > 0 ? out[r.int(0, i - 1)]!.transactionId : `t${i}`;
    const amount = r.chance(0.2) ? Math.round(r.uniform(0.5, 5) * 100) / 100 : Math.round(r.lognormal(4, 1.2) * 100) / 100;
    out.push({
      transactionId: id,
      userId: `u${r.int(0, users - 1)}`,
      timestamp: clock - late,
      amount,
      merchantId: r.chance(0.1) ? null : `m${r.int(0, 12)}`,
    });
  }
  return out;
}

describe('FeatureEngine', () => {
  it('has one contract of 26 named features', () => {
    expect(FEATURE_NAMES).toHaveLength(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
    expect(FEATURE_NAMES[F.amountZscore24h]).toBe('amount_zscore_24h');
    expect(FEATURE_NAMES[F.window(3, 4)]).toBe('amount_std_24h');
  });

  for (const [seed, users] of [
    [1, 3],
    [2, 20],
    [3, 200],
  ] as const) {
    it(`equals the brute-force oracle over a random stream (seed ${seed}, ${users} users)`, () => {
      const lateness = 300_000;
      const engine = new FeatureEngine({ maxUsers: 1e6, maxBytes: 2 ** 40, maxEventsPerUser: 1e6, allowedLatenessMs: lateness, seenIdsMax: 1e7 });
      const oracle = new Oracle(lateness);
      const row = new Float32Array(FEATURE_COUNT);
      let compared = 0;
      for (const tx of stream(seed, 6000, users, lateness)) {
        const duplicate = oracle.seen.has(tx.transactionId);
        expect(engine.seen.has(tx.transactionId)).toBe(duplicate);
        const max = oracle.maxTs.get(tx.userId);
        const withinLateness = max === undefined || tx.timestamp >= max - lateness;
        if (!duplicate && withinLateness) {
          engine.compute(tx, row, 0);
          const want = oracle.features(tx);
          for (let i = 0; i < FEATURE_COUNT; i++) {
            if (!close(row[i]!, Math.fround(want[i]!))) {
              throw new Error(`${tx.transactionId} feature ${FEATURE_NAMES[i]}: engine ${row[i]} oracle ${want[i]}`);
            }
          }
          compared++;
        }
        expect(engine.ingest(tx)).toBe(oracle.ingest(tx));
      }
      expect(compared).toBeGreaterThan(5000);
    });
  }

  it('sees a burst at once: the next transaction counts the one before it', () => {
    const engine = new FeatureEngine({ maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 100, allowedLatenessMs: 0, seenIdsMax: 100 });
    const row = new Float32Array(FEATURE_COUNT);
    const t = Date.UTC(2026, 0, 1, 12);
    for (let i = 0; i < 5; i++) {
      const tx = { transactionId: `b${i}`, userId: 'u', timestamp: t, amount: 1, merchantId: 'm' };
      engine.compute(tx, row, 0);
      expect(row[F.window(0, 0)]).toBe(i);
      engine.ingest(tx);
    }
  });

  it('takes an event exactly at the lateness bound, refuses one a millisecond later, and a replay takes both', () => {
    const opts = { maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 100, allowedLatenessMs: 60_000, seenIdsMax: 100 };
    const engine = new FeatureEngine(opts);
    const t = 1_000_000_000;
    engine.ingest({ transactionId: 'new', userId: 'u', timestamp: t, amount: 1, merchantId: null });
    expect(engine.ingest({ transactionId: 'edge', userId: 'u', timestamp: t - 60_000, amount: 2, merchantId: null })).toBe('added');
    expect(engine.ingest({ transactionId: 'past', userId: 'u', timestamp: t - 60_001, amount: 3, merchantId: null })).toBe('late');
    const replay = new FeatureEngine(opts);
    replay.ingest({ transactionId: 'new', userId: 'u', timestamp: t, amount: 1, merchantId: null }, true);
    expect(replay.ingest({ transactionId: 'past', userId: 'u', timestamp: t - 60_001, amount: 3, merchantId: null }, true)).toBe('added');
  });

  it('never counts a transactionId twice', () => {
    const engine = new FeatureEngine({ maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 100, allowedLatenessMs: 0, seenIdsMax: 100 });
    const tx = { transactionId: 'x', userId: 'u', timestamp: 1_000_000, amount: 5, merchantId: null };
    expect(engine.ingest(tx)).toBe('added');
    expect(engine.ingest({ ...tx, timestamp: 1_000_001 })).toBe('duplicate');
    expect(engine.snapshot('u')?.ts).toEqual([1_000_000]);
  });

  it('bounds memory: users beyond the limit are evicted least recently seen first', () => {
    const engine = new FeatureEngine({ maxUsers: 50, maxBytes: 1e9, maxEventsPerUser: 100, allowedLatenessMs: 0, seenIdsMax: 10_000 });
    for (let i = 0; i < 200; i++) engine.ingest({ transactionId: `e${i}`, userId: `u${i}`, timestamp: 1e9 + i, amount: 1, merchantId: null });
    expect(engine.userCount).toBe(50);
    expect(engine.snapshot('u0')).toBeUndefined();
    expect(engine.snapshot('u199')).toBeDefined();
  });

  it('keeps at most maxEventsPerUser events, dropping the oldest', () => {
    const engine = new FeatureEngine({ maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 8, allowedLatenessMs: 0, seenIdsMax: 10_000 });
    for (let i = 0; i < 20; i++) engine.ingest({ transactionId: `e${i}`, userId: 'u', timestamp: 1e9 + i, amount: i, merchantId: null });
    expect(engine.snapshot('u')?.amount).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('forget of an event that never joined the window removes nothing from it', () => {
    const engine = new FeatureEngine({ maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 8, allowedLatenessMs: 0, seenIdsMax: 10_000 });
    const kept = { transactionId: 'k', userId: 'u', timestamp: 1e9, amount: 3, merchantId: 'm' };
    engine.ingest(kept);
    const twin = { ...kept, transactionId: 'twin' };
    engine.seen.add(twin.transactionId); // seen but kept out of the window (e.g. a flagged timestamp)
    engine.forget(twin, false);
    expect(engine.snapshot('u')?.ts).toEqual([1e9]);
    expect(engine.seen.has('twin')).toBe(false);
  });

  it('forget undoes ingest so a retry is not a duplicate', () => {
    const engine = new FeatureEngine({ maxUsers: 10, maxBytes: 1e9, maxEventsPerUser: 8, allowedLatenessMs: 0, seenIdsMax: 10_000 });
    const tx = { transactionId: 'r', userId: 'u', timestamp: 1e9, amount: 3, merchantId: 'm' };
    engine.ingest(tx);
    engine.forget(tx);
    expect(engine.seen.has('r')).toBe(false);
    expect(engine.snapshot('u')?.ts).toEqual([]);
    expect(engine.ingest(tx)).toBe('added');
  });
});
