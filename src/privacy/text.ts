/**
 * maskText: any text that may carry a payload — a dead letter's raw body, an error message, a
 * log line — with card data and personal data masked. Works on JSON, JSON escaped inside a
 * JSON string, query strings and form bodies, "key: value" log text and plain prose. Two
 * passes, each behind a cheap test:
 *
 * 1. key = value pairs, where only the key tells (a CVV, an expiry, a national id): a key,
 *    optionally quoted ("…", '…', \"…\"), then ":" or "=", then a quoted or bare value of at
 *    most 64 characters. A CVV's value becomes "[REDACTED]", an expiry stars (see mask.ts), a
 *    national id "***". A bare value after a quoted key (a JSON number, `"cvv":123`) is
 *    written quoted, so JSON stays JSON.
 * 2. values found anywhere by the detectors (detect.ts): cards, IBANs, SSNs, NINOs, e-mails,
 *    phones, masked as mask.ts says.
 *
 * Not handled (documented limits): URL-encoded values ("jane%40example.com", "%20" between
 * card groups), XML elements (<cvv>123</cvv>) and a CVV written without ":" or "=" after its key.
 */
import { classifyKey, KEY_HINT, valueFitsKey } from './keys.js';
import { DEFAULT_OPTIONS, maskKeyed, REDACTED, type PrivacyOptions } from './mask.js';
import { scrub } from './scrub.js';

const KEY_SEP = /(\\?["']?)([A-Za-z_][\w.-]{0,63})\1\s*[:=]\s*/g;
const MAX_VALUE = 64;

function isBareDelimiter(c: number): boolean {
  // whitespace & ; , } ] ) " ' \ < >
  return c <= 32 || c === 38 || c === 59 || c === 44 || c === 125 || c === 93 || c === 41 || c === 34 || c === 39 || c === 92 || c === 60 || c === 62;
}

function maskPairs(s: string): string {
  let out = '';
  let last = 0;
  KEY_SEP.lastIndex = 0;
  for (let m = KEY_SEP.exec(s); m !== null; m = KEY_SEP.exec(s)) {
    const kind = classifyKey(m[2]!);
    if (kind === null) continue;
    const pos = KEY_SEP.lastIndex;
    let quote = '';
    const c0 = s.charCodeAt(pos);
    if (c0 === 92 && (s.charCodeAt(pos + 1) === 34 || s.charCodeAt(pos + 1) === 39)) quote = s.slice(pos, pos + 2);
    else if (c0 === 34 || c0 === 39) quote = s[pos]!;
    const vStart = pos + quote.length;
    let vEnd: number;
    if (quote !== '') {
      vEnd = s.indexOf(quote, vStart);
      if (vEnd === -1 || vEnd - vStart > MAX_VALUE) continue;
    } else {
      vEnd = vStart;
      while (vEnd < s.length && vEnd - vStart <= MAX_VALUE && !isBareDelimiter(s.charCodeAt(vEnd))) vEnd++;
      if (vEnd === vStart || vEnd - vStart > MAX_VALUE) continue;
    }
    if (!valueFitsKey(kind, s.slice(vStart, vEnd))) continue;
    let rep = kind === 'cvv' ? REDACTED : maskKeyed(kind);
    if (quote === '' && m[1] !== '') rep = m[1] + rep + m[1]; // `"cvv":123` → `"cvv":"[REDACTED]"`
    out += s.slice(last, vStart) + rep;
    last = vEnd;
    KEY_SEP.lastIndex = vEnd;
  }
  return last === 0 ? s : out + s.slice(last);
}

/** raw with every sensitive value masked; raw itself when there was none. */
export function maskText(raw: string, opts: PrivacyOptions = DEFAULT_OPTIONS): string {
  const s = KEY_HINT.test(raw) ? maskPairs(raw) : raw;
  return scrub(s, opts, null);
}
