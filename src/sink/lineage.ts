/**
 * The seed's lineage record (§2 "Lineage Metadata Structure") of a scored event. The scorer
 * records each stage as it runs — performance.now() when the stage ended and its real outcome,
 * a few numbers in one object per transaction (`Lineage`) — and this module renders them into
 * the seed's transformations when a sink serialises the event, off the request path.
 */
import { FEATURE_COUNT, FEATURE_CONTRACT_VERSION } from '../features/contract.js';
import { QUALITY_CHECKS, type QualityReport } from '../quality/checks.js';
import type { LineageStage, ScoredEvent, Source } from './events.js';

/** The lineage's sourceSystem per transport (shared strings: nothing built per request). */
export const SOURCE_SYSTEM: Readonly<Record<Source, string>> = Object.freeze({ http: 'scoregate.http', ws: 'scoregate.ws', kafka: 'scoregate.kafka', cli: 'scoregate.cli' });

/** What the scorer measured for one transaction. */
export interface Lineage {
  /** Which system sent it: `scoregate.<transport>`, with the topic for Kafka input. */
  sourceSystem: string;
  /** performance.now() at admission (the receive time's clock) and when each stage ended. */
  admittedAt: number;
  validatedAt: number;
  enrichedAt: number;
  checkedAt: number;
  scoredAt: number;
  /** Earlier events of the user in the 24 h window the features came from. */
  history24h: number;
  /** Whether the event joined the user's windows (an out-of-range timestamp does not). */
  joined: boolean;
  /** The report the quality checks returned (a shared frozen object, not a copy). */
  quality: QualityReport;
}

const VALIDATION_RULES = Object.freeze(['completeness', 'amount_validity', 'currency_iso4217', 'timestamp_parse', 'uniqueness', 'pii_detection']);
const ENRICHMENTS = Object.freeze([
  `feature_contract:${FEATURE_CONTRACT_VERSION}`,
  'rolling_windows_1m_5m_1h_24h',
  'seconds_since_prev',
  'merchant_novelty_24h',
  'amount_zscore_24h',
  'hour_of_day',
]);
const NO_RULES: readonly string[] = Object.freeze([]);

/** A stage's wall-clock time: the receive time plus what the monotonic clock measured since admission. */
function wall(ev: ScoredEvent, mark: number): number {
  return Math.floor(ev.receivedAt + (mark - ev.lineage.admittedAt));
}

function ms(d: number): number {
  return Math.round(d * 1000) / 1000;
}

/** Fields the privacy step masked or removed during validation (counted here, off the request path). */
function protectedFields(ev: ScoredEvent): number {
  let n = 0;
  if (ev.classification !== null) for (const f of ev.classification.fields) if (f.action !== 'kept') n++;
  return n;
}

export function lineageOf(ev: ScoredEvent): LineageStage[] {
  const l = ev.lineage;
  const q = l.quality;
  return [
    {
      stage: 'validation',
      processor: 'scoregate.quality.parse',
      timestamp: wall(ev, l.validatedAt),
      status: 'passed',
      rulesApplied: VALIDATION_RULES,
      metrics: { completeness: 1, uniqueness: 1, protectedFields: protectedFields(ev), durationMs: ms(l.validatedAt - l.admittedAt) },
    },
    {
      stage: 'enrichment',
      processor: 'scoregate.features.engine',
      timestamp: wall(ev, l.enrichedAt),
      status: 'completed',
      rulesApplied: ENRICHMENTS,
      metrics: { features: FEATURE_COUNT, history24h: l.history24h, joinedWindows: l.joined ? 1 : 0, durationMs: ms(l.enrichedAt - l.validatedAt) },
    },
    {
      stage: 'quality_check',
      processor: 'scoregate.quality.checks',
      timestamp: wall(ev, l.checkedAt),
      status: q.flags.length === 0 ? 'passed' : 'flagged',
      rulesApplied: QUALITY_CHECKS,
      metrics: { completeness: 1, validity: q.validity, consistency: q.consistency, uniqueness: 1, score: q.score, durationMs: ms(l.checkedAt - l.enrichedAt) },
    },
    {
      stage: 'scoring',
      processor: ev.fallback === null ? `onnx:${ev.model.name}:${ev.model.version}` : `rules:${ev.model.name}:${ev.model.version}`,
      timestamp: wall(ev, l.scoredAt),
      status: ev.fallback === null ? 'completed' : `fallback:${ev.fallback}`,
      rulesApplied: NO_RULES,
      metrics: { score: ev.score, durationMs: ms(l.scoredAt - l.checkedAt) },
    },
  ];
}

/** The seed's whole record, as the file sink writes it (Avro spreads it over recordId = transactionId, sourceSystem, receivedAt and lineage). */
export function lineageRecord(ev: ScoredEvent): { recordId: string; sourceSystem: string; ingestionTimestamp: number; transformations: LineageStage[] } {
  return { recordId: ev.transaction.transactionId, sourceSystem: ev.lineage.sourceSystem, ingestionTimestamp: ev.receivedAt, transformations: lineageOf(ev) };
}

// ---- the same record as JSON text, from a template (the file sink's line; see sink/scored-json.ts)

/** A number as JSON prints it (non-finite: null). */
function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

const str = JSON.stringify;
const VALIDATION_HEAD = `{"stage":"validation","processor":"scoregate.quality.parse","timestamp":`;
const VALIDATION_RULES_JSON = `,"status":"passed","rulesApplied":${str(VALIDATION_RULES)},"metrics":{"completeness":1,"uniqueness":1,"protectedFields":`;
const ENRICHMENT_HEAD = `{"stage":"enrichment","processor":"scoregate.features.engine","timestamp":`;
const ENRICHMENT_RULES_JSON = `,"status":"completed","rulesApplied":${str(ENRICHMENTS)},"metrics":{"features":${FEATURE_COUNT},"history24h":`;
const QUALITY_HEAD = `{"stage":"quality_check","processor":"scoregate.quality.checks","timestamp":`;
const QUALITY_RULES_JSON = `,"rulesApplied":${str(QUALITY_CHECKS)},"metrics":{"completeness":1,"validity":`;

/** JSON.stringify(lineageRecord(ev)), byte for byte, with the constant parts printed once. */
export function lineageJson(ev: ScoredEvent): string {
  const l = ev.lineage;
  const q = l.quality;
  const fb = ev.fallback;
  return (
    `{"recordId":${str(ev.transaction.transactionId)},"sourceSystem":${str(l.sourceSystem)},"ingestionTimestamp":${num(ev.receivedAt)},"transformations":[` +
    `${VALIDATION_HEAD}${num(wall(ev, l.validatedAt))}${VALIDATION_RULES_JSON}${protectedFields(ev)},"durationMs":${num(ms(l.validatedAt - l.admittedAt))}}},` +
    `${ENRICHMENT_HEAD}${num(wall(ev, l.enrichedAt))}${ENRICHMENT_RULES_JSON}${num(l.history24h)},"joinedWindows":${l.joined ? 1 : 0},"durationMs":${num(ms(l.enrichedAt - l.validatedAt))}}},` +
    `${QUALITY_HEAD}${num(wall(ev, l.checkedAt))},"status":${q.flags.length === 0 ? '"passed"' : '"flagged"'}${QUALITY_RULES_JSON}${num(q.validity)},"consistency":${num(q.consistency)},"uniqueness":1,"score":${num(q.score)},"durationMs":${num(ms(l.checkedAt - l.enrichedAt))}}},` +
    `{"stage":"scoring","processor":${str(fb === null ? `onnx:${ev.model.name}:${ev.model.version}` : `rules:${ev.model.name}:${ev.model.version}`)},"timestamp":${num(wall(ev, l.scoredAt))},"status":${str(fb === null ? 'completed' : `fallback:${fb}`)},"rulesApplied":[],"metrics":{"score":${num(ev.score)},"durationMs":${num(ms(l.scoredAt - l.checkedAt))}}}` +
    `]}`
  );
}
