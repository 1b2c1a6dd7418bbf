import { describe, expect, it } from 'vitest';
import { ScoregateError } from '../core/errors.js';
import { assessQuality } from './checks.js';
import { parseAmount, parseTimestamp, parseTransaction } from './parse.js';

const good = { transactionId: 't1', userId: 'u1', amount: '12.50', currency: 'EUR', timestamp: 1_767_225_600_000, metadata: { a: 'b' } };

function codeOf(f: () => unknown): [string, string | undefined] {
  try {
    f();
  } catch (err) {
    if (err instanceof ScoregateError) return [err.code, err.field];
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseTransaction (completeness, validity)', () => {
  it('normalises a good transaction', () => {
    const tx = parseTransaction({ ...good, merchantId: 'm', channel: 'web' });
    expect(tx).toMatchObject({ transactionId: 't1', userId: 'u1', amount: 12.5, amountText: '12.50', currency: 'EUR', merchantId: 'm', channel: 'web' });
  });

  it.each([
    ['transactionId', undefined, 'MISSING_FIELD'],
    ['transactionId', '', 'MISSING_FIELD'],
    ['transactionId', 42, 'INVALID_TYPE'],
    ['userId', null, 'MISSING_FIELD'],
    ['userId', 'x'.repeat(129), 'INVALID_FIELD'],
    ['amount', undefined, 'MISSING_FIELD'],
    ['amount', true, 'INVALID_TYPE'],
    ['amount', '-5.00', 'INVALID_AMOUNT'],
    ['amount', -5, 'INVALID_AMOUNT'],
    ['amount', 0, 'INVALID_AMOUNT'],
    ['amount', '0.00', 'INVALID_AMOUNT'],
    ['amount', '1.234', 'INVALID_AMOUNT'],
    ['amount', 0.1 + 0.2, 'INVALID_AMOUNT'],
    ['amount', 1e21, 'INVALID_AMOUNT'],
    ['amount', '12345678901234567.00', 'INVALID_AMOUNT'],
    ['amount', 'NaN', 'INVALID_AMOUNT'],
    ['amount', 'Infinity', 'INVALID_AMOUNT'],
    ['amount', '1e3', 'INVALID_AMOUNT'],
    ['amount', ' 12', 'INVALID_AMOUNT'],
    ['currency', undefined, 'MISSING_FIELD'],
    ['currency', 'usd', 'INVALID_CURRENCY'],
    ['currency', 'ABC', 'INVALID_CURRENCY'],
    ['currency', 'XTS', 'INVALID_CURRENCY'],
    ['currency', 'HRK', 'INVALID_CURRENCY'],
    ['currency', 978, 'INVALID_TYPE'],
    ['timestamp', undefined, 'MISSING_FIELD'],
    ['timestamp', 1.5, 'INVALID_TIMESTAMP'],
    ['timestamp', -1, 'INVALID_TIMESTAMP'],
    ['timestamp', '2026-01-01', 'INVALID_TIMESTAMP'],
    ['timestamp', '2026-01-01T10:00:00', 'INVALID_TIMESTAMP'],
    ['timestamp', '2026-02-31T10:00:00Z', 'INVALID_TIMESTAMP'],
    ['timestamp', '1767225600000', 'INVALID_TIMESTAMP'],
    ['timestamp', {}, 'INVALID_TYPE'],
    ['metadata', [], 'INVALID_TYPE'],
    ['metadata', { a: 1 }, 'INVALID_TYPE'],
    ['merchantId', 5, 'INVALID_TYPE'],
  ])('%s = %j → %s', (field, value, code) => {
    const body: Record<string, unknown> = { ...good, [field]: value };
    if (value === undefined) delete body[field];
    const [c, f] = codeOf(() => parseTransaction(body));
    expect(c).toBe(code);
    expect(f === field || f?.startsWith(`${field}.`)).toBe(true);
  });

  it('refuses non-objects', () => {
    for (const v of [null, 1, 'x', [good]]) expect(codeOf(() => parseTransaction(v))[0]).toBe('INVALID_BODY');
  });

  it('reads amounts as strings or numbers, exactly', () => {
    expect(parseAmount('0012.5')).toEqual([12.5, '12.50']);
    expect(parseAmount(12.34)).toEqual([12.34, '12.34']);
    expect(parseAmount('9999999999999999.99')[1]).toBe('9999999999999999.99');
  });

  it('reads timestamps as epoch ms or ISO-8601 with a zone', () => {
    expect(parseTimestamp('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestamp('2026-01-01T01:00:00.5+01:00')).toBe(Date.UTC(2026, 0, 1) + 500);
  });

  it('keeps a __proto__ metadata key as data', () => {
    const tx = parseTransaction({ ...good, metadata: JSON.parse('{"__proto__": "x"}') as unknown });
    expect(Object.keys(tx.metadata)).toEqual(['__proto__']);
  });
});

describe('assessQuality', () => {
  const now = Date.UTC(2026, 0, 2);
  const tx = parseTransaction({ ...good, timestamp: now - 1000, amount: '100.00' });
  it('passes a fresh, consistent transaction', () => {
    expect(assessQuality(tx, 110, now)).toMatchObject({ score: 1, flags: [] });
    expect(assessQuality(tx, Number.NaN, now)).toMatchObject({ score: 1, flags: [] });
  });
  it('flags an amount more than 50% from the mean of the last 5', () => {
    expect(assessQuality(tx, 60, now)).toMatchObject({ score: 0.75, flags: ['AMOUNT_INCONSISTENT'], joinsWindows: true });
  });
  it('flags stale and future timestamps and keeps them out of the windows', () => {
    expect(assessQuality({ ...tx, timestamp: now - 86_400_001 }, 100, now)).toMatchObject({ flags: ['TIMESTAMP_STALE'], joinsWindows: false });
    expect(assessQuality({ ...tx, timestamp: now + 300_001 }, 10, now)).toMatchObject({ score: 0.5, flags: ['TIMESTAMP_AHEAD', 'AMOUNT_INCONSISTENT'] });
    expect(assessQuality({ ...tx, timestamp: now + 299_000 }, 100, now).flags).toEqual([]);
  });
});
