/**
 * The feature contract: names and order of the model's input columns. One list, used by the
 * feature engine (which writes rows in this order), the replay CLI (which writes training files
 * with these headers), the model pipeline in models/ (which reads those headers) and the model
 * loader (which checks an MLmodel signature against it).
 */
import { createHash } from 'node:crypto';

export const WINDOWS = [
  { name: '1m', ms: 60_000 },
  { name: '5m', ms: 300_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '24h', ms: 86_400_000 },
] as const;

export const LONGEST_WINDOW_MS = 86_400_000;

const WINDOW_STATS = ['count', 'sum', 'mean', 'max', 'std'] as const;

export const FEATURE_NAMES: readonly string[] = Object.freeze([
  'amount',
  'hour_of_day',
  'seconds_since_prev',
  ...WINDOWS.flatMap((w) => WINDOW_STATS.map((st) => `amount_${st}_${w.name}`)),
  'distinct_merchants_24h',
  'merchant_new_24h',
  'amount_zscore_24h',
]);

export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Column offsets, so writers never search the list on the hot path. */
export const F = {
  amount: 0,
  hourOfDay: 1,
  secondsSincePrev: 2,
  /** Window w (index into WINDOWS), stat s (index into count,sum,mean,max,std). */
  window: (w: number, st: number): number => 3 + w * WINDOW_STATS.length + st,
  distinctMerchants24h: 3 + WINDOWS.length * WINDOW_STATS.length,
  merchantNew24h: 4 + WINDOWS.length * WINDOW_STATS.length,
  amountZscore24h: 5 + WINDOWS.length * WINDOW_STATS.length,
} as const;

/** Value of seconds_since_prev when the user has no earlier transaction. */
export const NO_PREVIOUS = -1;

/**
 * The contract's version, logged with every served feature vector: `fc<count>-` and the first
 * 12 hex digits of the SHA-256 of the names in order. It changes by itself whenever a name or
 * the order changes, so a logged vector is never read against the wrong list.
 */
export const FEATURE_CONTRACT_VERSION = `fc${FEATURE_COUNT}-${createHash('sha256').update(FEATURE_NAMES.join(',')).digest('hex').slice(0, 12)}`;
