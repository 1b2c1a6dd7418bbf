/**
 * Human reason codes for the features of the contract (src/features/contract.ts), and the top
 * contributors of one explanation. A code names what an analyst would say about a feature that
 * pushed a score up or down; windows of the same kind share the prefix, the window tells them
 * apart (VELOCITY_1M … VELOCITY_24H).
 */
import { FEATURE_NAMES } from '../features/contract.js';

/** Reason code per feature name; every contract feature has one (a test checks). */
export const REASON_CODES: Readonly<Record<string, string>> = Object.freeze({
  amount: 'AMOUNT',
  hour_of_day: 'ODD_HOUR',
  seconds_since_prev: 'RAPID_REPEAT',
  amount_count_1m: 'VELOCITY_1M',
  amount_sum_1m: 'SPEND_1M',
  amount_mean_1m: 'AVG_AMOUNT_1M',
  amount_max_1m: 'MAX_AMOUNT_1M',
  amount_std_1m: 'AMOUNT_VARIANCE_1M',
  amount_count_5m: 'VELOCITY_5M',
  amount_sum_5m: 'SPEND_5M',
  amount_mean_5m: 'AVG_AMOUNT_5M',
  amount_max_5m: 'MAX_AMOUNT_5M',
  amount_std_5m: 'AMOUNT_VARIANCE_5M',
  amount_count_1h: 'VELOCITY_1H',
  amount_sum_1h: 'SPEND_1H',
  amount_mean_1h: 'AVG_AMOUNT_1H',
  amount_max_1h: 'MAX_AMOUNT_1H',
  amount_std_1h: 'AMOUNT_VARIANCE_1H',
  amount_count_24h: 'VELOCITY_24H',
  amount_sum_24h: 'SPEND_24H',
  amount_mean_24h: 'AVG_AMOUNT_24H',
  amount_max_24h: 'MAX_AMOUNT_24H',
  amount_std_24h: 'AMOUNT_VARIANCE_24H',
  distinct_merchants_24h: 'MANY_MERCHANTS_24H',
  merchant_new_24h: 'NEW_MERCHANT',
  amount_zscore_24h: 'AMOUNT_SPIKE',
});

const CODES: readonly string[] = FEATURE_NAMES.map((f) => REASON_CODES[f] ?? f.toUpperCase());

/** One feature's part in a score: its value, its contribution to the margin (log-odds) and its code. */
export interface Contributor {
  feature: string;
  value: number;
  contribution: number;
  code: string;
}

export interface Explanation {
  /** The margin a row with no known features gets (the ensemble's mean over its training rows). */
  bias: number;
  /** bias + every contribution: the score's log-odds. */
  margin: number;
  /** The k largest by |contribution|: those raising the score first, then those lowering it, each by size. */
  top: Contributor[];
}

/** How many contributors an explanation lists. */
export const TOP_K = 5;

/**
 * Picks the k contributions largest in magnitude from `phi[0…F−1]` (bias at phi[F]) with a
 * k-slot insertion (F = 26: cheaper than sorting all of them), then orders them positive
 * first. Zero contributions are left out.
 */
export function topContributors(phi: Float64Array, row: Float32Array, off: number, k = TOP_K): Explanation {
  const F = FEATURE_NAMES.length;
  const idx: number[] = [];
  for (let f = 0; f < F; f++) {
    const a = Math.abs(phi[f]!);
    if (a === 0) continue;
    let p = idx.length;
    if (p === k && a <= Math.abs(phi[idx[k - 1]!]!)) continue;
    if (p === k) p--;
    while (p > 0 && Math.abs(phi[idx[p - 1]!]!) < a) {
      idx[p] = idx[p - 1]!;
      p--;
    }
    idx[p] = f;
  }
  let margin = phi[F]!;
  for (let f = 0; f < F; f++) margin += phi[f]!;
  const top: Contributor[] = [];
  for (const pos of [true, false])
    for (const f of idx)
      if (phi[f]! > 0 === pos) top.push({ feature: FEATURE_NAMES[f]!, value: row[off + f]!, contribution: phi[f]!, code: CODES[f]! });
  return { bias: phi[F]!, margin, top };
}
