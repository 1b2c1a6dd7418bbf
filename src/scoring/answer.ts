/**
 * The public answer for a scored transaction, serialised by hand: one string, no temporaries.
 * The same text is sent over HTTP, inside batch results and WebSocket messages, remembered for
 * idempotent replays and rebuilt from a scored event read back from Kafka — so it depends only
 * on fields the scored event keeps.
 */
import type { FallbackReason } from '../admission/fallback.js';
import type { QualityFlag } from '../quality/checks.js';
import type { Explanation } from '../explain/reasons.js';
import type { RiskCategory, ScoredEvent } from '../sink/events.js';

/** tookMs as answered and kept: microsecond precision. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

// A pool's model reference is one frozen object for every answer it gives: printed once.
const frozenText = new WeakMap<object, string>();
function modelJson(m: ScoredEvent['model']): string {
  let s = frozenText.get(m);
  if (s === undefined) {
    s = `{"name":${JSON.stringify(m.name)},"version":${JSON.stringify(m.version)}}`;
    if (Object.isFrozen(m)) frozenText.set(m, s);
  }
  return s;
}
/** Most answers carry no flag. */
function flagsJson(f: readonly string[]): string {
  return f.length === 0 ? '[]' : JSON.stringify(f);
}

export function resultJson(ev: ScoredEvent): string {
  return (
    `{"transactionId":${JSON.stringify(ev.transaction.transactionId)},"score":${ev.score},"riskCategory":"${ev.riskCategory}",` +
    `"model":${modelJson(ev.model)},` +
    `"quality":{"score":${ev.quality.score},"flags":${flagsJson(ev.quality.flags)}}` +
    (ev.fallback === null ? '' : `,"fallback":true,"fallbackReason":"${ev.fallback}"`) +
    (ev.explanationInAnswer === true ? `,"explanation":${explanationJson(ev.explanation ?? null)}` : '') +
    `,"tookMs":${ev.tookMs}}`
  );
}

/** An explanation as answered: bias, margin and the top contributors, fields in a fixed order. */
export function explanationJson(x: Explanation | null): string {
  if (x === null) return 'null';
  let top = '';
  for (const c of x.top) top += `${top === '' ? '' : ','}{"feature":"${c.feature}","code":"${c.code}","value":${c.value},"contribution":${c.contribution}}`;
  return `{"bias":${x.bias},"margin":${x.margin},"top":[${top}]}`;
}

/**
 * The answer a scored event read back from `transactions.scored` was given with, or null for an
 * event written before answers were kept in it (no fingerprint or tookMs). Only the fields
 * resultJson reads are filled in.
 */
export function answerFromScoredRecord(rec: unknown): { body: string; fingerprint: string; scoredAt: number } | null {
  if (typeof rec !== 'object' || rec === null) return null;
  const r = rec as Record<string, unknown>;
  const fp = r['requestFingerprint'];
  const took = r['tookMs'];
  if (typeof fp !== 'string' || typeof took !== 'number' || typeof r['score'] !== 'number') return null;
  const ev = {
    transaction: { transactionId: String(r['transactionId']) },
    score: r['score'],
    riskCategory: String(r['riskCategory']) as RiskCategory,
    model: { name: String(r['modelName']), version: String(r['modelVersion']) },
    quality: { score: Number(r['qualityScore']), flags: (Array.isArray(r['qualityFlags']) ? r['qualityFlags'] : []) as QualityFlag[] },
    fallback: (typeof r['fallbackReason'] === 'string' ? r['fallbackReason'] : null) as FallbackReason | null,
    tookMs: took,
    ...explanationOfRecord(r['explanation']),
  } as unknown as ScoredEvent;
  const at = r['scoredAt'];
  const scoredAt = typeof at === 'number' ? at : at instanceof Date ? at.getTime() : Date.now();
  return { body: resultJson(ev), fingerprint: fp, scoredAt };
}

/** The explanation fields of a transactions.scored record (Avro), as the event had them. */
function explanationOfRecord(x: unknown): { explanation: Explanation | null; explanationInAnswer: boolean } {
  if (typeof x !== 'object' || x === null) return { explanation: null, explanationInAnswer: false };
  const r = x as Record<string, unknown>;
  const top = Array.isArray(r['top']) ? (r['top'] as Record<string, unknown>[]) : [];
  return {
    explanation: {
      bias: Number(r['bias']),
      margin: Number(r['margin']),
      top: top.map((c) => ({ feature: String(c['feature']), code: String(c['code']), value: Number(c['value']), contribution: Number(c['contribution']) })),
    },
    explanationInAnswer: r['inAnswer'] === true,
  };
}
