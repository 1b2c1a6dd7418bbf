/**
 * Privacy: classification and masking of card data and personal data, so that nothing leaving
 * the process (sinks, Kafka, logs, error messages, audit) carries a PAN, a CVV or PII in clear.
 *
 * How it is meant to be called (wiring is done in src/scoring/, once per event, not per sink):
 *
 *   const privacy = privacyOptions(config.privacyTokenKey);         // once, at start
 *   // per scored event, after the answer is computed:
 *   const { transaction, classification } = protectTransaction(tx, privacy);
 *   sink.scored({ ...event, transaction, classification });        // the event carries it
 *   // per dead letter, error message or log line that may echo a payload:
 *   sink.deadLetter({ ...dl, raw: maskText(dl.raw, privacy), message: maskText(dl.message, privacy) });
 *
 * The feature engine keeps working on the original transaction (it never leaves the process);
 * only what is written out goes through here. Both entry points are synchronous, allocate
 * nothing beyond the classification list for a clean transaction, and never throw on input.
 */
export { protectMerchantId, protectTransaction, type Action, type Classification, type FieldClassification, type Protected } from './protect.js';
export { maskText } from './text.js';
export { DEFAULT_OPTIONS, REDACTED, type Finding, type PrivacyOptions } from './mask.js';
export { POLICY, type ComplianceTag, type FieldKind, type KindPolicy, type SensitiveKind, type Sensitivity } from './policy.js';
export { findSpans, prescan, type Span, type ValueKind } from './detect.js';
export { classifyKey, type KeyKind } from './keys.js';
import { DEFAULT_OPTIONS, type PrivacyOptions } from './mask.js';

/**
 * Options from configuration: a token key (≥ 32 bytes, e.g. base64 in a secret) turns on join
 * tokens; `panAsToken` writes a PAN as its token instead of BIN + last four.
 */
export function privacyOptions(tokenKey: Buffer | null, panAsToken = false): PrivacyOptions {
  if (tokenKey === null) return DEFAULT_OPTIONS;
  if (tokenKey.length < 32) throw new RangeError('the privacy token key must be at least 32 bytes');
  return Object.freeze({ tokenKey, panStyle: panAsToken ? 'token' : 'bin-last4' });
}
