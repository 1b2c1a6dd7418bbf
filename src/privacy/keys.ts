/**
 * Sensitive data that only its key gives away: a CVV is three digits and an expiry a short
 * date, both harmless-looking alone. A key is judged by its last path segment ("card.cvv" →
 * "cvv"), lower-cased with separators removed, so cvv, CVV2, card_security_code, securityCode
 * and Card-Security-Code read alike.
 *
 * CVV keys: cvv, cvc, cvv2, cvc2, cvn, cvn2, cvd, csc, cav2, cid, securitycode,
 *   cardsecuritycode, cardcode, cardverificationvalue/-code/-number, plus anything ending in
 *   cvv, cvv2, cvc, cvc2, cvn or securitycode (billingCvc, card_cvv). "cid" only exactly
 *   (merchant_cid is not a card code).
 * Expiry keys: [card|cc] + exp|expiry|expiration|expire|expires + [date] (the date MM/YY or
 *   MM/YYYY), + month|mm|mon (1–12), + year|yy|yyyy|yr (YY or YYYY).
 * National id keys: ssn, socialsecuritynumber, nationalid(number), nationalidentifier,
 *   nino, nationalinsurancenumber, taxid, tin, sin, passport(number|no), or ending in ssn.
 */
export type KeyKind = 'cvv' | 'expiry' | 'expiry-month' | 'expiry-year' | 'national-id';

// A cheap test before any string work: most keys (country, device, ip) contain none of these.
export const KEY_HINT = /cv|cid|csc|cav|secur|cod|verif|exp|ssn|nin|nation|social|tax|tin|sin|passport/i;

const CVV_EXACT = new Set([
  'cid',
  'csc',
  'cvd',
  'cav2',
  'cardcid',
  'cardcode',
  'cvvcode',
  'cvccode',
  'cardverificationvalue',
  'cardverificationcode',
  'cardverificationnumber',
  'cardsecuritynumber',
]);
const CVV_SUFFIX = ['cvv', 'cvv2', 'cvc', 'cvc2', 'cvn', 'cvn2', 'securitycode'];
const NATIONAL_EXACT = new Set([
  'ssn',
  'socialsecuritynumber',
  'socialsecurityno',
  'nationalid',
  'nationalidnumber',
  'nationalidentifier',
  'nationalidentitynumber',
  'nino',
  'nationalinsurancenumber',
  'taxid',
  'taxidnumber',
  'tin',
  'sin',
  'passport',
  'passportnumber',
  'passportno',
]);
const EXPIRY = /^(?:card|cc)?(?:exp|expiry|expiration|expire|expires)(?:date)?$/;
const EXPIRY_MONTH = /^(?:card|cc)?(?:exp|expiry|expiration)(?:month|mm|mon)$/;
const EXPIRY_YEAR = /^(?:card|cc)?(?:exp|expiry|expiration)(?:year|yy|yyyy|yr)$/;

/** The key's last path segment, lower-cased, letters and digits only. */
export function normaliseKey(key: string): string {
  let end = key.length;
  // Skip trailing separators ("card.cvv]" from a bracketed path).
  while (end > 0 && !isAlnum(key.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > 0) {
    const c = key.charCodeAt(start - 1);
    if (c === 46 || c === 47 || c === 91 || c === 93 || c === 58) break; // . / [ ] :
    start--;
  }
  return key.slice(start, end).toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** What a key says its value is, or null for an ordinary key. */
export function classifyKey(key: string): KeyKind | null {
  if (!KEY_HINT.test(key)) return null;
  const k = normaliseKey(key);
  if (CVV_EXACT.has(k)) return 'cvv';
  for (const s of CVV_SUFFIX) if (k.endsWith(s)) return 'cvv';
  if (EXPIRY.test(k)) return 'expiry';
  if (EXPIRY_MONTH.test(k)) return 'expiry-month';
  if (EXPIRY_YEAR.test(k)) return 'expiry-year';
  if (NATIONAL_EXACT.has(k) || k.endsWith('ssn')) return 'national-id';
  return null;
}

const CVV_VALUE = /^\s*\d{3,4}\s*$/;
const EXPIRY_VALUE = /^\s*(?:0?[1-9]|1[0-2])\s*[/-]\s*(?:\d{2}|\d{4})\s*$/;
const MONTH_VALUE = /^\s*(?:0?[1-9]|1[0-2])\s*$/;
const YEAR_VALUE = /^\s*(?:\d{2}|\d{4})\s*$/;

/**
 * Whether a value under a key of this kind is what the key says: a CVV is 3–4 digits, an
 * expiry MM/YY or MM/YYYY (or MM-YY), a month 1–12, a year YY or YYYY; a national id any
 * value with a letter or digit. A value that does not fit is left to the value detectors.
 */
export function valueFitsKey(kind: KeyKind, value: string): boolean {
  switch (kind) {
    case 'cvv':
      return CVV_VALUE.test(value);
    case 'expiry':
      return EXPIRY_VALUE.test(value);
    case 'expiry-month':
      return MONTH_VALUE.test(value);
    case 'expiry-year':
      return YEAR_VALUE.test(value);
    case 'national-id':
      return /[A-Za-z0-9]/.test(value);
  }
}
