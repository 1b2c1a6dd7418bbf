/**
 * A known sequence of transactions for checking scores by value: several users whose events
 * interleave in time, in bursts of four inside a minute (the 1 min and 5 min velocity features
 * are non-zero), amounts that wander and spike (mean, std, z-score and consistency vary),
 * merchants that repeat and appear (distinct and new-merchant features vary), and, after them,
 * the events the windows must not count: one later than the allowed lateness, one stale, one
 * ahead of the clock, a duplicate and an invalid amount; then one more event that shows they
 * were not counted. No randomness: the same options give the same sequence.
 */
export interface SequenceOptions {
  /** Unique per test run: prefixes every userId and transactionId. */
  prefix: string;
  users: number;
  perUser: number;
  /** The wall clock the sequence is placed against (events sit 90 to 60 min before it). */
  now: number;
  /** The gateway's ALLOWED_LATENESS_MS, to place the late event just beyond it. */
  allowedLatenessMs: number;
}

export type Tx = Record<string, unknown>;

const WAVE = [1, 1.3, 0.7, 1.1, 0.95, 1.6, 0.8, 1.05];

function tx(o: SequenceOptions, user: number, k: number, ts: number, amount: number, merchant: string | null): Tx {
  return {
    transactionId: `${o.prefix}-u${user}-${k}`,
    userId: `${o.prefix}-user-${user}`,
    // Both forms the API takes: a decimal string, and now and then a JSON number.
    amount: k % 5 === 4 ? Math.round(amount * 100) / 100 : amount.toFixed(2),
    currency: user % 2 === 0 ? 'EUR' : 'USD',
    timestamp: k % 7 === 3 ? new Date(ts).toISOString() : ts,
    metadata: { country: 'DE' },
    ...(merchant === null ? {} : { merchantId: merchant }),
    channel: k % 2 === 0 ? 'web' : 'app',
  };
}

export function knownSequence(o: SequenceOptions): Tx[] {
  const events: { ts: number; t: Tx }[] = [];
  const newest: number[] = [];
  for (let u = 0; u < o.users; u++) {
    const start = o.now - 90 * 60_000 + u * 7_000;
    const base = 20 + u * 15;
    for (let k = 0; k < o.perUser; k++) {
      const burst = Math.floor(k / 4);
      // Four events within 4 × (9 + u) s < 1 min, bursts 4 min apart (inside one 5 min window).
      const ts = start + burst * 240_000 + (k % 4) * (9 + u) * 1000 + u;
      // A spike every ninth event, else the amount wanders around the user's base.
      const amount = k % 9 === 7 ? base * 14 : base * WAVE[(k + u) % WAVE.length]!;
      // Mostly the user's three merchants; some new ones; one event without a merchant.
      const merchant = k === 5 ? null : k % 6 === 4 ? `${o.prefix}-m-new-${u}-${k}` : `${o.prefix}-m-${u}-${k % 3}`;
      events.push({ ts, t: tx(o, u, k, ts, amount, merchant) });
      newest[u] = ts;
    }
  }
  events.sort((a, b) => a.ts - b.ts);
  const seq = events.map((e) => e.t);
  const last = newest[0]!;
  const n = o.perUser;
  seq.push(
    tx(o, 0, n, last - o.allowedLatenessMs - 60_000, 33.3, `${o.prefix}-m-0-1`), // late: scored, not counted
    tx(o, 0, n + 1, o.now - 25 * 3_600_000, 41.5, `${o.prefix}-m-0-2`), // stale: flagged, not counted
    tx(o, 0, n + 2, o.now + 30 * 60_000, 12.75, `${o.prefix}-m-late-merchant`), // ahead: flagged, not counted
    { ...seq[2]!, amount: '999.99' }, // transactionId reused for another transaction: refused
    retryOf(seq[2]!), // the same transaction again, written differently: replays its first answer
    { ...tx(o, 0, n + 3, last + 1000, 10, null), amount: '-5' }, // invalid amount: refused
    tx(o, 0, n + 4, last + 20_000, 27.4, `${o.prefix}-m-late-merchant`), // counts only what joined
  );
  return seq;
}

/** The same transaction written another way (number amount, ISO timestamp, keys reversed): a retry. */
function retryOf(t: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(t).reverse()) out[k] = t[k];
  out['amount'] = Number(t['amount']);
  const ts = t['timestamp'];
  out['timestamp'] = typeof ts === 'number' ? new Date(ts).toISOString() : Date.parse(String(ts));
  return out;
}
