/**
 * Completeness and validity of one incoming transaction (the seed's FinancialTransaction plus
 * optional merchantId and channel). Anything missing or unusable throws a ScoregateError
 * naming the field; what passes is a normalised Transaction.
 */
import { ScoregateError } from '../core/errors.js';
import { isCurrency } from './currencies.js';
import type { Transaction } from './transaction.js';

export const MAX_ID_LENGTH = 128;
export const MAX_METADATA_KEYS = 64;
export const MAX_METADATA_VALUE_LENGTH = 1024;

// Precision 18, scale 2: at most 16 integer digits and 2 decimals, no sign, no exponent.
const DECIMAL = /^(\d{1,16})(?:\.(\d{1,2}))?$/;
// ISO-8601 date-time with an explicit offset (a time without a zone is ambiguous for payments).
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const MAX_EPOCH_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

function requiredString(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (v === undefined || v === null || v === '') throw new ScoregateError('MISSING_FIELD', `${field} is required`, field);
  if (typeof v !== 'string') throw new ScoregateError('INVALID_TYPE', `${field} must be a string`, field);
  if (v.length > MAX_ID_LENGTH) throw new ScoregateError('INVALID_FIELD', `${field} must be at most ${MAX_ID_LENGTH} characters`, field);
  return v;
}

function optionalString(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ScoregateError('INVALID_TYPE', `${field} must be a string`, field);
  if (v.length > MAX_ID_LENGTH) throw new ScoregateError('INVALID_FIELD', `${field} must be at most ${MAX_ID_LENGTH} characters`, field);
  return v;
}

/** Parses an amount given as a decimal string or a JSON number into [number, canonical text]. */
export function parseAmount(v: unknown): [number, string] {
  if (v === undefined || v === null || v === '') throw new ScoregateError('MISSING_FIELD', 'amount is required', 'amount');
  let text: string;
  if (typeof v === 'string') text = v;
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ScoregateError('INVALID_AMOUNT', 'amount must be a finite number', 'amount');
    // String(n) is the shortest round-trip form: 0.1+0.2 shows as 0.30000000000000004 and is
    // refused as over-precise, 1e21 shows an exponent and is refused as too large.
    text = String(v);
  } else throw new ScoregateError('INVALID_TYPE', 'amount must be a decimal string or a number', 'amount');
  if (text.startsWith('-')) throw new ScoregateError('INVALID_AMOUNT', 'amount must be greater than 0', 'amount');
  const m = DECIMAL.exec(text);
  if (m === null) {
    const why = /^\d+\.\d{3,}$/.test(text)
      ? 'amount must have at most 2 decimals'
      : /^\d{17,}(\.\d*)?$/.test(text) || /e/i.test(text)
        ? 'amount must have at most 16 integer digits (precision 18, scale 2)'
        : 'amount must be a decimal like "12.50"';
    throw new ScoregateError('INVALID_AMOUNT', why, 'amount');
  }
  const intPart = m[1]!.replace(/^0+(?=\d)/, '');
  const frac = (m[2] ?? '').padEnd(2, '0');
  const canonical = `${intPart}.${frac}`;
  const n = Number(canonical);
  if (!(n > 0)) throw new ScoregateError('INVALID_AMOUNT', 'amount must be greater than 0', 'amount');
  return [n, canonical];
}

function invalidDate(): never {
  throw new ScoregateError('INVALID_TIMESTAMP', 'timestamp is not a real date-time', 'timestamp');
}

/** Parses a timestamp given as epoch milliseconds or an ISO-8601 date-time with zone. */
export function parseTimestamp(v: unknown): number {
  if (v === undefined || v === null || v === '') throw new ScoregateError('MISSING_FIELD', 'timestamp is required', 'timestamp');
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > MAX_EPOCH_MS) {
      throw new ScoregateError('INVALID_TIMESTAMP', 'timestamp must be a whole number of epoch milliseconds', 'timestamp');
    }
    return v;
  }
  if (typeof v !== 'string') throw new ScoregateError('INVALID_TYPE', 'timestamp must be epoch milliseconds or an ISO-8601 string', 'timestamp');
  if (!ISO_DATE_TIME.test(v)) {
    throw new ScoregateError('INVALID_TIMESTAMP', 'timestamp must be an ISO-8601 date-time with a zone, like 2026-01-31T12:00:00Z', 'timestamp');
  }
  const ms = Date.parse(v);
  // Date.parse rolls 2026-02-31 over into March: check the calendar date is real.
  const y = Number(v.slice(0, 4));
  const mo = Number(v.slice(5, 7));
  const d = Number(v.slice(8, 10));
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) invalidDate();
  if (!Number.isFinite(ms) || ms < 0) throw new ScoregateError('INVALID_TIMESTAMP', 'timestamp is not a real date-time', 'timestamp');
  return ms;
}

function parseMetadata(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ScoregateError('INVALID_TYPE', 'metadata must be an object of strings', 'metadata');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_METADATA_KEYS) throw new ScoregateError('INVALID_FIELD', `metadata may have at most ${MAX_METADATA_KEYS} keys`, 'metadata');
  // A fresh null-prototype object: keys like "__proto__" stay plain data.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw new ScoregateError('INVALID_TYPE', `metadata.${k} must be a string`, `metadata.${k}`);
    if (val.length > MAX_METADATA_VALUE_LENGTH) {
      throw new ScoregateError('INVALID_FIELD', `metadata.${k} must be at most ${MAX_METADATA_VALUE_LENGTH} characters`, `metadata.${k}`);
    }
    out[k] = val;
  }
  return out;
}

/** Completeness and validity: a parsed JSON value to a Transaction, or a ScoregateError. */
export function parseTransaction(v: unknown): Transaction {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ScoregateError('INVALID_BODY', 'a transaction must be a JSON object');
  }
  const o = v as Record<string, unknown>;
  const transactionId = requiredString(o, 'transactionId');
  const userId = requiredString(o, 'userId');
  const [amount, amountText] = parseAmount(o['amount']);
  const cur = o['currency'];
  if (cur === undefined || cur === null || cur === '') throw new ScoregateError('MISSING_FIELD', 'currency is required', 'currency');
  if (typeof cur !== 'string') throw new ScoregateError('INVALID_TYPE', 'currency must be a string', 'currency');
  if (!isCurrency(cur)) {
    throw new ScoregateError('INVALID_CURRENCY', `currency ${JSON.stringify(cur.slice(0, 16))} is not an active ISO 4217 code (upper case, like "EUR")`, 'currency');
  }
  const timestamp = parseTimestamp(o['timestamp']);
  const metadata = parseMetadata(o['metadata']);
  const merchantId = optionalString(o, 'merchantId');
  const channel = optionalString(o, 'channel');
  return { transactionId, userId, amount, amountText, currency: cur, timestamp, metadata, merchantId, channel };
}
