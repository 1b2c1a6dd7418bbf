/**
 * The seed's quality rules that do not stop a transaction from being scored: each named
 * check yields a flag; the quality score is the mean of the four dimensions (completeness,
 * validity, consistency, uniqueness), each 1 when its check passed and 0 when it flagged.
 * Completeness and uniqueness failures are fatal (400 / 409) and never reach here, so a
 * scored transaction's quality score is 1, 0.75 or 0.5.
 */
import type { Transaction } from './transaction.js';

export const QUALITY_CHECKS = ['completeness', 'validity', 'consistency', 'uniqueness'] as const;
export type QualityCheck = (typeof QUALITY_CHECKS)[number];

export const QUALITY_FLAGS = ['TIMESTAMP_STALE', 'TIMESTAMP_AHEAD', 'AMOUNT_INCONSISTENT'] as const;
export type QualityFlag = (typeof QUALITY_FLAGS)[number];

export const MAX_AGE_MS = 86_400_000;
export const MAX_AHEAD_MS = 300_000;
/** Relative distance from the mean of the user's last 5 amounts that flags inconsistency. */
export const CONSISTENCY_TOLERANCE = 0.5;

export interface QualityReport {
  score: number;
  flags: readonly QualityFlag[];
  /** Whether the event may join the feature windows (a timestamp out of range may not). */
  joinsWindows: boolean;
  validity: 0 | 1;
  consistency: 0 | 1;
}

// The six possible reports, built once: the hot path returns a shared frozen object.
function report(flags: QualityFlag[]): QualityReport {
  const validity = flags.some((f) => f.startsWith('TIMESTAMP')) ? 0 : 1;
  const consistency = flags.includes('AMOUNT_INCONSISTENT') ? 0 : 1;
  return Object.freeze({
    score: (1 + validity + consistency + 1) / 4,
    flags: Object.freeze(flags),
    joinsWindows: validity === 1,
    validity,
    consistency,
  });
}
const OK = report([]);
const INCONSISTENT = report(['AMOUNT_INCONSISTENT']);
const STALE = report(['TIMESTAMP_STALE']);
const STALE_INCONSISTENT = report(['TIMESTAMP_STALE', 'AMOUNT_INCONSISTENT']);
const AHEAD = report(['TIMESTAMP_AHEAD']);
const AHEAD_INCONSISTENT = report(['TIMESTAMP_AHEAD', 'AMOUNT_INCONSISTENT']);

/**
 * Validity of the event time against the wall clock (within the last 24 h, at most 5 min
 * ahead) and consistency of the amount against the mean of the user's last 5 (NaN: no history).
 */
export function assessQuality(tx: Transaction, meanLast5: number, now: number): QualityReport {
  const inconsistent = meanLast5 > 0 && Math.abs(tx.amount - meanLast5) / meanLast5 > CONSISTENCY_TOLERANCE;
  if (tx.timestamp < now - MAX_AGE_MS) return inconsistent ? STALE_INCONSISTENT : STALE;
  if (tx.timestamp > now + MAX_AHEAD_MS) return inconsistent ? AHEAD_INCONSISTENT : AHEAD;
  return inconsistent ? INCONSISTENT : OK;
}
