/**
 * The fallback score: a small rule model over the same feature row the ONNX model gets, used
 * when the model cannot answer within the request's budget (slow, queue full, failed, being
 * swapped). It is a fixed logistic model, documented in README ("Deadlines and the fallback
 * score"):
 *
 *   logit = −4 + 0.45·min(count_5m, 10) + 0.55·clamp(zscore_24h, 0, 10)
 *              + 1.2·new_merchant (only when the user has 24 h history) + 0.8·[hour 0–5 UTC]
 *   score = 1 / (1 + e^−logit)
 *
 * A first transaction of an ordinary user scores sigmoid(−4) ≈ 0.018 (LOW); five quick ones
 * at five standard deviations above the user's mean reach ≈ 0.73 (MEDIUM); add a new merchant
 * at 3 a.m. and it is HIGH. Crude on purpose: it only has to be safe and explainable for the
 * few answers the model could not give in time.
 */
import { F, WINDOWS } from '../features/contract.js';

export const FALLBACK_MODEL = Object.freeze({ name: 'fallback-rules', version: '1' });

/** Why the fallback answered: the stable values of `fallbackReason`. */
export const FALLBACK_REASONS = ['deadline', 'inference_failed', 'queue_full', 'model_unavailable'] as const;
export type FallbackReason = (typeof FALLBACK_REASONS)[number];

const W5M = WINDOWS.findIndex((w) => w.name === '5m');
const W24H = WINDOWS.findIndex((w) => w.name === '24h');
const COUNT = 0;
const COUNT_5M = F.window(W5M, COUNT);
const COUNT_24H = F.window(W24H, COUNT);

export function fallbackScore(row: Float32Array, off: number): number {
  const velocity = Math.min(row[off + COUNT_5M]!, 10);
  const z = Math.min(Math.max(row[off + F.amountZscore24h]!, 0), 10);
  const hasHistory = row[off + COUNT_24H]! > 0;
  const newMerchant = hasHistory && row[off + F.merchantNew24h]! > 0 ? 1 : 0;
  const hour = row[off + F.hourOfDay]!;
  const oddHour = hour >= 0 && hour < 6 ? 1 : 0;
  const logit = -4 + 0.45 * velocity + 0.55 * z + 1.2 * newMerchant + 0.8 * oddHour;
  return 1 / (1 + Math.exp(-logit));
}
