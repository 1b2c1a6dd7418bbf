/**
 * Bad inputs and the error each must get, shared by the HTTP and WebSocket tests. `body` is the
 * raw text sent (a whole request body, or the `transaction` of a WebSocket message when `tx`).
 */
import { validTx } from './gateway.js';

export interface BadCase {
  name: string;
  /** Raw JSON text of the transaction. */
  tx: () => string;
  code: string;
  field?: string;
}

const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const withField = (field: string, raw: string): string => {
  const base = JSON.stringify(validTx()).slice(0, -1);
  return `${base},"${field}":${raw}}`;
};
const without = (field: string): string => {
  const t = validTx();
  delete t[field];
  return JSON.stringify(t);
};

export const BAD_TRANSACTIONS: BadCase[] = [
  { name: 'malformed JSON', tx: () => '{"transactionId": "a",', code: 'INVALID_JSON' },
  { name: 'truncated JSON', tx: () => JSON.stringify(validTx()).slice(0, 40), code: 'INVALID_JSON' },
  { name: 'NaN literal', tx: () => withField('amount', 'NaN'), code: 'INVALID_JSON' },
  { name: 'Infinity literal', tx: () => withField('amount', 'Infinity'), code: 'INVALID_JSON' },
  { name: 'number overflowing to Infinity', tx: () => withField('amount', '1e400'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'deep nesting', tx: () => withField('metadata', deep(5000)), code: 'INVALID_TYPE', field: 'metadata' },
  { name: 'very deep nesting', tx: () => withField('metadata', deep(100_000)), code: 'INVALID_TYPE', field: 'metadata' },
  { name: 'array instead of object', tx: () => '[1,2,3]', code: 'INVALID_BODY' },
  { name: 'null body', tx: () => 'null', code: 'INVALID_BODY' },
  { name: 'missing transactionId', tx: () => without('transactionId'), code: 'MISSING_FIELD', field: 'transactionId' },
  { name: 'missing userId', tx: () => without('userId'), code: 'MISSING_FIELD', field: 'userId' },
  { name: 'missing amount', tx: () => without('amount'), code: 'MISSING_FIELD', field: 'amount' },
  { name: 'missing currency', tx: () => without('currency'), code: 'MISSING_FIELD', field: 'currency' },
  { name: 'missing timestamp', tx: () => without('timestamp'), code: 'MISSING_FIELD', field: 'timestamp' },
  { name: 'userId of wrong type', tx: () => withField('userId', '{"a":1}'), code: 'INVALID_TYPE', field: 'userId' },
  { name: 'amount of wrong type', tx: () => withField('amount', '[12]'), code: 'INVALID_TYPE', field: 'amount' },
  { name: 'amount "NaN"', tx: () => withField('amount', '"NaN"'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'negative amount', tx: () => withField('amount', '"-10.00"'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'zero amount', tx: () => withField('amount', '0'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'over-precise amount', tx: () => withField('amount', '"10.001"'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'over-precise number amount', tx: () => withField('amount', '0.30000000000000004'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'amount beyond precision 18', tx: () => withField('amount', '"99999999999999999.00"'), code: 'INVALID_AMOUNT', field: 'amount' },
  { name: 'unknown currency', tx: () => withField('currency', '"ZZZ"'), code: 'INVALID_CURRENCY', field: 'currency' },
  { name: 'lower-case currency', tx: () => withField('currency', '"eur"'), code: 'INVALID_CURRENCY', field: 'currency' },
  { name: 'timestamp text', tx: () => withField('timestamp', '"yesterday"'), code: 'INVALID_TIMESTAMP', field: 'timestamp' },
  { name: 'fractional epoch', tx: () => withField('timestamp', '1.5'), code: 'INVALID_TIMESTAMP', field: 'timestamp' },
  { name: 'metadata with a number', tx: () => withField('metadata', '{"k":1}'), code: 'INVALID_TYPE', field: 'metadata.k' },
  { name: 'huge string field', tx: () => withField('userId', JSON.stringify('u'.repeat(100_000))), code: 'INVALID_FIELD', field: 'userId' },
];
