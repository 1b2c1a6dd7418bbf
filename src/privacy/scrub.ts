/** Masks every sensitive value inside one string (the value detectors; keys are not consulted here). */
import { findSpans, prescan } from './detect.js';
import { findingFor, maskValue, type Finding, type PrivacyOptions } from './mask.js';

/**
 * s with each detected value masked, or s itself when there is none (no allocation: the
 * prescan decides for most strings). Findings are appended to `findings` when given.
 */
export function scrub(s: string, opts: PrivacyOptions, findings: Finding[] | null): string {
  if (!prescan(s)) return s;
  const spans = findSpans(s);
  if (spans.length === 0) return s;
  let out = '';
  let last = 0;
  for (const sp of spans) {
    const v = s.slice(sp.start, sp.end);
    out += s.slice(last, sp.start) + maskValue(sp.kind, v, opts);
    last = sp.end;
    if (findings !== null) findings.push(findingFor(sp.kind, v, opts));
  }
  return out + s.slice(last);
}
