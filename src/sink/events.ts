/** What leaves the gateway: a scored event, or a dead letter for an event that could not be scored. */
import type { FallbackReason } from '../admission/fallback.js';
import type { ErrorCode } from '../core/errors.js';
import type { Explanation } from '../explain/reasons.js';
import type { LoggedFeatures } from '../features/logged.js';
import type { Classification } from '../privacy/index.js';
import type { QualityFlag } from '../quality/checks.js';
import type { Transaction } from '../quality/transaction.js';
import type { Lineage } from './lineage.js';

export type RiskCategory = 'HIGH' | 'MEDIUM' | 'LOW';
/** Where a transaction came in; 'cli' is `scoregate score --in-process` (file sink only, never Kafka). */
export type Source = 'http' | 'ws' | 'kafka' | 'cli';

export interface LineageStage {
  stage: string;
  processor: string;
  timestamp: number;
  status: string;
  rulesApplied: readonly string[];
  metrics: Readonly<Record<string, number>>;
}

export interface ScoredEvent {
  transaction: Transaction;
  score: number;
  riskCategory: RiskCategory;
  model: Readonly<{ name: string; version: string }>;
  quality: { score: number; flags: readonly QualityFlag[] };
  source: Source;
  receivedAt: number;
  scoredAt: number;
  /** The challenger's opinion on the same features, when one runs; never part of the answer. */
  challenger: { name: string; version: string; score: number } | null;
  /** Set when the fallback rule model answered instead of the model, with why. */
  fallback: FallbackReason | null;
  /** Server time from admission to the score, as answered (ms, 3 decimals). */
  tookMs: number;
  /** The transaction's canonical fingerprint (idempotency: a retry must match it). */
  fingerprint: string;
  /**
   * What the transaction held, field by field (sensitivity, PCI-DSS/GDPR/SOX tags, retention,
   * what was masked or removed). `transaction` above is already the protected copy: no PAN, no
   * CVV, no PII in clear ever reaches a sink.
   */
  classification: Classification | null;
  /**
   * The score's top contributors (exact TreeSHAP, src/explain/): when the answer asked for it,
   * and per EXPLAIN_EVENTS otherwise; null (or absent) when not computed, the fallback answered
   * or the model cannot be explained.
   */
  explanation?: Explanation | null;
  /** Whether the answer carried the explanation (so a replayed answer is rebuilt byte for byte). */
  explanationInAnswer?: boolean;
  // ---- issue 13: the data loop (feature logging, measured lineage) ----
  /** The exact row the model (or the fallback rule model) scored, with the contract's version. */
  features: LoggedFeatures;
  /** Each stage as the scorer measured it (src/sink/lineage.ts renders the seed's record). */
  lineage: Lineage;
}

export interface DeadLetter {
  code: ErrorCode;
  field: string | null;
  message: string;
  /** The payload as received (truncated to DEAD_LETTER_MAX_RAW characters). */
  raw: string;
  source: Source;
  receivedAt: number;
}

export const DEAD_LETTER_MAX_RAW = 65_536;

/**
 * A payload re-serialised for a dead letter. JSON.stringify recurses and throws on nesting a
 * JSON.parse accepted (V8 parses iteratively), so a payload too deep to print is named instead.
 */
export function rawPayload(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'undefined';
  } catch {
    return '"[payload not re-serialisable: nesting too deep]"';
  }
}

/**
 * Where scored events and dead letters go. A scored event's promise resolves once the event is
 * durable (written to the spool or file, per SPOOL_FSYNC): the answer waits for it, so an answer
 * given is never an event lost. Dead letters are not waited for.
 */
export interface EventSink {
  /** False while the sink cannot take more events without losing some (scoring is refused). */
  accepting(): boolean;
  scored(ev: ScoredEvent): Promise<void>;
  deadLetter(dl: DeadLetter): void;
  /** Flushes what is queued and releases files or connections. */
  close(): Promise<void>;
}
