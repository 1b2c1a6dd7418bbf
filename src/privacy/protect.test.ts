import { describe, expect, it } from 'vitest';
import type { Transaction } from '../quality/transaction.js';
import { CVV_KEYS, EMAILS, IBANS, leaks, NOT_PANS, PANS, PHONES, shapes, SSNS } from '../../test/support/privacy-corpus.js';
import { privacyOptions, protectMerchantId, protectTransaction } from './index.js';

function tx(metadata: Record<string, string>, over: Partial<Transaction> = {}): Transaction {
  const m = Object.create(null) as Record<string, string>;
  Object.assign(m, metadata);
  return {
    transactionId: 'tx-123',
    userId: 'user-42',
    amount: 129.9,
    amountText: '129.90',
    currency: 'EUR',
    timestamp: 1735689600000,
    metadata: m,
    merchantId: 'm-77',
    channel: 'web',
    ...over,
  };
}

const KEY = Buffer.alloc(32, 7);

describe('protectTransaction', () => {
  it('returns the same object for a clean transaction, and classifies every field', () => {
    const t = tx({ country: 'DE', device: 'd-4f3a', ip: '192.168.100.200', at: '2026-01-31T12:00:00Z' });
    const { transaction, classification } = protectTransaction(t);
    expect(transaction).toBe(t);
    expect(classification.fields.map((f) => f.path)).toEqual([
      'transactionId',
      'userId',
      'amount',
      'currency',
      'timestamp',
      'merchantId',
      'channel',
      'metadata.country',
      'metadata.device',
      'metadata.ip',
      'metadata.at',
    ]);
    expect(classification.fields.every((f) => f.action === 'kept')).toBe(true);
    const byPath = Object.fromEntries(classification.fields.map((f) => [f.path, f]));
    expect(byPath['userId']).toMatchObject({ kind: 'user-id', sensitivity: 'confidential', tags: ['GDPR'], retention: 'P2Y' });
    expect(byPath['amount']).toMatchObject({ kind: 'amount', sensitivity: 'internal', tags: ['SOX'], retention: 'P7Y' });
    expect(byPath['metadata.country']).toMatchObject({ kind: 'metadata', sensitivity: 'internal', tags: [] });
    expect(classification.sensitivity).toBe('confidential');
    expect(classification.tags).toEqual(['GDPR', 'SOX']);
  });

  it('masks card data and PII in metadata, removes the CVV, and never changes the input', () => {
    const meta = {
      cardNumber: '4111 1111 1111 1111',
      cvv: '123',
      exp: '12/26',
      email: 'jane.doe@example.com',
      note: 'call +44 20 7946 0958 or mail j.smith+fraud@mail.co.uk',
      iban: 'DE89 3704 0044 0532 0130 00',
      ssn: '123-45-6789',
      country: 'DE',
    };
    const t = tx(meta);
    const before = JSON.stringify(t);
    const { transaction, classification } = protectTransaction(t);
    expect(JSON.stringify(t)).toBe(before);
    expect(transaction).not.toBe(t);
    expect({ ...transaction.metadata }).toEqual({
      cardNumber: '411111******1111',
      exp: '**/**',
      email: 'j***@example.com',
      note: 'call +***58 or mail j***@mail.co.uk',
      iban: 'DE***3000',
      ssn: '***',
      country: 'DE',
    });
    expect(Object.getPrototypeOf(transaction.metadata)).toBe(null);
    const out = JSON.stringify({ transaction, classification });
    expect(leaks(out, ['4111111111111111', '12/26', 'jane.doe', '7946 0958', 'j.smith+fraud', '370400440532013000', '123-45-6789'])).toEqual([]);
    expect(out).not.toMatch(/"cvv":"\d/);
    const byPath = Object.fromEntries(classification.fields.map((f) => [f.path, f]));
    expect(byPath['metadata.cvv']).toMatchObject({ kind: 'cvv', sensitivity: 'restricted', tags: ['PCI-DSS'], retention: 'P0D', action: 'removed' });
    expect(byPath['metadata.cardNumber']).toMatchObject({ kind: 'pan', sensitivity: 'restricted', tags: ['PCI-DSS'], action: 'masked' });
    expect(byPath['metadata.exp']).toMatchObject({ kind: 'expiry', tags: ['PCI-DSS'] });
    expect(byPath['metadata.email']).toMatchObject({ kind: 'email', sensitivity: 'confidential', tags: ['GDPR'] });
    expect(byPath['metadata.note']!.findings.map((f) => f.kind)).toEqual(['phone', 'email']);
    expect(byPath['metadata.iban']).toMatchObject({ kind: 'iban', tags: ['GDPR', 'SOX'] });
    expect(byPath['metadata.ssn']).toMatchObject({ kind: 'national-id', sensitivity: 'restricted' });
    expect(byPath['metadata.country']!.action).toBe('kept');
    expect(classification.sensitivity).toBe('restricted');
    expect(classification.tags).toEqual(['PCI-DSS', 'GDPR', 'SOX']);
    // Ordinary fields untouched.
    expect(transaction).toMatchObject({ transactionId: 'tx-123', userId: 'user-42', amount: 129.9, amountText: '129.90', currency: 'EUR', timestamp: 1735689600000, merchantId: 'm-77', channel: 'web' });
  });

  it('masks every PAN shape under keys of any name, and a PAN used as a key', () => {
    for (const pan of PANS) {
      for (const s of shapes(pan)) {
        const { transaction, classification } = protectTransaction(tx({ anything: s, [`k ${s}`]: 'v', deep: `{"a":{"b":"${s}"}}` }));
        const out = JSON.stringify({ transaction, classification });
        expect(leaks(out, [pan, s]), s).toEqual([]);
        expect(out).toContain(pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4));
      }
    }
  });

  it('removes a CVV under every key spelling, and keeps an ordinary key with the same value', () => {
    for (const k of CVV_KEYS) {
      const { transaction, classification } = protectTransaction(tx({ [k]: '737', other: '737' }));
      expect(Object.keys(transaction.metadata), k).toEqual(['other']);
      expect(classification.fields.find((f) => f.path === `metadata.${k}`)?.action).toBe('removed');
    }
  });

  it('names a field by its most sensitive finding', () => {
    const { classification } = protectTransaction(tx({ note: 'mail jane@example.com card 4111111111111111' }));
    expect(classification.fields.at(-1)).toMatchObject({ kind: 'pan', sensitivity: 'restricted', tags: ['PCI-DSS', 'GDPR'], retention: 'P2Y', action: 'masked' });
  });

  it('masks PII in identifiers too (an e-mail as userId)', () => {
    const { transaction, classification } = protectTransaction(tx({}, { userId: 'jane.doe@example.com' }));
    expect(transaction.userId).toBe('j***@example.com');
    expect(classification.fields[1]).toMatchObject({ path: 'userId', kind: 'email', action: 'masked', tags: ['GDPR'] });
  });

  it('keeps an identifier whose digits only happen to look like a card number inside it; masks one that is a card number', () => {
    // "5-1795792320924" is a Luhn-valid 14-digit run with a separator: inside an id it is part of the key.
    for (const id of ['t-efk63nifly5-1795792320924', 'order-4111111111111111-retry', 'u-378282246310005x']) {
      const p = protectTransaction(tx({}, { transactionId: id, userId: id }));
      expect(p.transaction.transactionId).toBe(id);
      expect(p.transaction.userId).toBe(id);
    }
    const whole = protectTransaction(tx({}, { transactionId: '4111 1111 1111 1111', userId: PANS[2] }));
    expect(whole.transaction.transactionId).toMatch(/^411111\D+1111$/);
    expect(leaks(JSON.stringify(whole.transaction), [PANS[2], '4111111111111111'])).toEqual([]);
  });

  it('gives one join token per value whatever its shape, and none for a CVV', () => {
    const opts = privacyOptions(KEY);
    const token = (v: string): string | null => protectTransaction(tx({ pan: v }), opts).classification.fields.find((f) => f.path === 'metadata.pan')!.findings[0]!.token;
    const t1 = token('4111111111111111');
    expect(t1).toMatch(/^tok_[A-Za-z0-9_-]{22}$/);
    expect(token('4111 1111 1111 1111')).toBe(t1);
    expect(token('4111-1111-1111-1111')).toBe(t1);
    expect(token('5555555555554444')).not.toBe(t1);
    expect(protectTransaction(tx({ pan: '4111111111111111' }), privacyOptions(Buffer.alloc(32, 8))).classification.fields.at(-1)!.findings[0]!.token).not.toBe(t1);
    const cvv = protectTransaction(tx({ cvv: '123' }), opts).classification.fields.at(-1)!;
    expect(cvv.findings).toEqual([{ kind: 'cvv', token: null }]);
  });

  it('writes a PAN as its token when asked', () => {
    const opts = privacyOptions(KEY, true);
    const { transaction, classification } = protectTransaction(tx({ pan: '4111 1111 1111 1111' }), opts);
    expect(transaction.metadata['pan']).toBe(classification.fields.at(-1)!.findings[0]!.token);
    expect(() => privacyOptions(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('masks IBANs, e-mails, phones and SSNs from the corpus in free text', () => {
    const all = [...IBANS, ...EMAILS, ...PHONES, ...SSNS];
    const meta: Record<string, string> = {};
    all.forEach((v, i) => (meta[`note${i}`] = `see ${v} here`));
    const { transaction } = protectTransaction(tx(meta));
    expect(leaks(JSON.stringify(transaction), all)).toEqual([]);
  });
});

describe('protectMerchantId', () => {
  it('writes a merchantId exactly as protectTransaction does, masked or not, with and without a token key', () => {
    const values = ['m-77', 'merchant-4999', ...PANS.flatMap((p) => [...shapes(p), `shop ${p}`]), ...NOT_PANS, ...IBANS, ...EMAILS, ...PHONES, ...SSNS];
    let masked = 0;
    for (const opts of [undefined, privacyOptions(KEY)]) {
      for (const v of values) {
        const whole = protectTransaction(tx({}, { merchantId: v }), opts).transaction.merchantId;
        expect(protectMerchantId(v, opts), v).toBe(whole);
        if (whole !== v) masked++;
      }
    }
    expect(masked).toBeGreaterThan(PANS.length); // the corpus does reach the masking path
  });
});
