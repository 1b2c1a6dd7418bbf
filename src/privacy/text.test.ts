import { describe, expect, it } from 'vitest';
import { CVV_KEYS, EMAILS, IBANS, leaks, NINOS, NOT_IBANS, NOT_PANS, ORDINARY, PANS, PHONES, shapes, SSNS } from '../../test/support/privacy-corpus.js';
import { maskText } from './text.js';

describe('maskText', () => {
  it('returns the very same string when there is nothing to mask', () => {
    const raw = JSON.stringify({ transactionId: 'tx-123', userId: 'user-42', amount: '129.90', currency: 'EUR', timestamp: 1735689600000, metadata: { country: 'DE' } });
    expect(maskText(raw)).toBe(raw);
    for (const s of ORDINARY) expect(maskText(s), s).toBe(s);
    for (const s of [...NOT_PANS, ...NOT_IBANS]) expect(maskText(`x ${s} y`), s).toBe(`x ${s} y`);
  });

  it('masks every PAN shape in JSON values, nested keys, keys, numbers, escaped JSON, forms and prose', () => {
    for (const pan of PANS) {
      for (const s of shapes(pan)) {
        const texts = [
          JSON.stringify({ payment: { card: { number: s } } }),
          `{"${s}":"x"}`,
          `{"pan":${pan}}`,
          JSON.stringify({ error: 'bad', raw: JSON.stringify({ card: s, cvv: '123' }) }),
          `card_number=${s.replace(/ /g, '+')}&amount=10.00`,
          `payment failed for card ${s}; retrying`,
        ];
        for (const t of texts) {
          const out = maskText(t);
          expect(leaks(out, [pan, s]), t).toEqual([]);
          expect(out).toContain(pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4));
        }
      }
    }
  });

  it('removes CVVs under every key spelling in JSON, escaped JSON, forms and log text', () => {
    for (const k of CVV_KEYS) {
      expect(maskText(`{"${k}":"737","amount":"10.00"}`), k).toBe(`{"${k}":"[REDACTED]","amount":"10.00"}`);
      expect(maskText(`{"${k}": 737}`), k).toBe(`{"${k}": "[REDACTED]"}`);
      expect(maskText(`{\\"${k}\\":\\"7373\\"}`), k).toBe(`{\\"${k}\\":\\"[REDACTED]\\"}`);
      expect(maskText(`a=1&${k}=737&b=2`), k).toBe(`a=1&${k}=[REDACTED]&b=2`);
      expect(maskText(`${k}: 737 declined`), k).toBe(`${k}: [REDACTED] declined`);
      expect(maskText(`{'${k}': '737'}`), k).toBe(`{'${k}': '[REDACTED]'}`);
    }
    // The JSON stays JSON.
    expect(JSON.parse(maskText('{"card":{"cvv":123,"cvc2":"4567"}}'))).toEqual({ card: { cvv: '[REDACTED]', cvc2: '[REDACTED]' } });
  });

  it('masks expiry dates and national ids by their key, and leaves what does not fit', () => {
    expect(maskText('{"exp":"12/26","exp_month":"12","exp_year":"2027","expiry":"01/2027"}')).toBe('{"exp":"**/**","exp_month":"**","exp_year":"**","expiry":"**/**"}');
    expect(maskText('{"ssn":"123456789","nationalId":"X1234567"}')).toBe('{"ssn":"***","nationalId":"***"}');
    expect(maskText('{"exp":1735689600,"cvv":"n/a","note":"expected 3 items"}')).toBe('{"exp":1735689600,"cvv":"n/a","note":"expected 3 items"}');
  });

  it('masks IBANs, e-mails, phones, SSNs and NINOs anywhere', () => {
    const all = [...IBANS, ...EMAILS, ...PHONES, ...SSNS, ...NINOS];
    const raw = all.map((v, i) => `f${i}=${v};`).join(' ');
    const out = maskText(raw);
    expect(leaks(out, all)).toEqual([]);
    expect(maskText('mail jane.doe@example.com, call +1 415-555-2671, iban DE89 3704 0044 0532 0130 00, ssn 123-45-6789')).toBe(
      'mail j***@example.com, call +***71, iban DE***3000, ssn ***-**-6789',
    );
  });

  it('masks a whole dead-letter payload and keeps its ordinary fields', () => {
    const raw = JSON.stringify({
      transactionId: 'tx-1001',
      userId: 'user-42',
      amount: -1,
      currency: 'EUR',
      timestamp: 1735689600000,
      metadata: { country: 'DE', card: '5555-5555-5555-4444', cvc: '321', email: 'jane.doe@example.com', expiry: '09/28' },
      merchantId: 'm-77',
    });
    const out = maskText(raw);
    const back = JSON.parse(out) as Record<string, unknown>;
    expect(back).toMatchObject({ transactionId: 'tx-1001', userId: 'user-42', amount: -1, currency: 'EUR', timestamp: 1735689600000, merchantId: 'm-77' });
    expect(back['metadata']).toEqual({ country: 'DE', card: '555555******4444', cvc: '[REDACTED]', email: 'j***@example.com', expiry: '**/**' });
  });

  it('stays linear on long hostile input', () => {
    const long = 'a'.repeat(200_000) + '@' + 'b.'.repeat(50_000) + ' ' + '1 '.repeat(50_000) + 'cvv=' + 'x'.repeat(100_000);
    const t0 = performance.now();
    maskText(long);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
