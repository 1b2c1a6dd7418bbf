/**
 * The seed's lineage record for a scored event, built when a sink serialises the event (not on
 * the request path): validation, enrichment, quality check and scoring, each with processor,
 * time, status, rules applied and metrics.
 */
import type { LineageStage, ScoredEvent } from './events.js';

export function lineageOf(ev: ScoredEvent): LineageStage[] {
  const validity = ev.quality.flags.some((f) => f.startsWith('TIMESTAMP')) ? 0 : 1;
  const consistency = ev.quality.flags.includes('AMOUNT_INCONSISTENT') ? 0 : 1;
  return [
    { stage: 'validation', processor: 'scoregate.quality.parse', timestamp: ev.receivedAt, status: 'passed', rulesApplied: ['completeness', 'validity'], metrics: { completeness: 1 } },
    { stage: 'enrichment', processor: 'scoregate.features.engine', timestamp: ev.receivedAt, status: 'completed', rulesApplied: ['rolling_windows_1m_5m_1h_24h'], metrics: {} },
    {
      stage: 'quality_check',
      processor: 'scoregate.quality.checks',
      timestamp: ev.receivedAt,
      status: ev.quality.flags.length === 0 ? 'passed' : 'flagged',
      rulesApplied: ['completeness', 'validity', 'consistency', 'uniqueness'],
      metrics: { completeness: 1, validity, consistency, uniqueness: 1, score: ev.quality.score },
    },
    { stage: 'scoring', processor: ev.fallback === null ? `onnx:${ev.model.name}:${ev.model.version}` : `rules:${ev.model.name}:${ev.model.version}`, timestamp: ev.scoredAt, status: ev.fallback === null ? 'completed' : `fallback:${ev.fallback}`, rulesApplied: [], metrics: { score: ev.score } },
  ];
}
