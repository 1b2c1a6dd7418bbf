import { describe, expect, it } from 'vitest';
import { CVV_KEYS } from '../../test/support/privacy-corpus.js';
import { classifyKey, normaliseKey, valueFitsKey } from './keys.js';

describe('key classification', () => {
  it('reads every CVV spelling as a CVV', () => {
    for (const k of CVV_KEYS) expect(classifyKey(k), k).toBe('cvv');
  });
  it('reads expiry keys by their part', () => {
    for (const k of ['exp', 'expiry', 'expiration', 'expirationDate', 'card_expiry', 'ccExp', 'expiry_date']) expect(classifyKey(k), k).toBe('expiry');
    for (const k of ['exp_month', 'expMonth', 'expiry-month', 'exp_mm']) expect(classifyKey(k), k).toBe('expiry-month');
    for (const k of ['exp_year', 'expYear', 'expiration_year', 'exp_yyyy']) expect(classifyKey(k), k).toBe('expiry-year');
  });
  it('reads national id keys', () => {
    for (const k of ['ssn', 'SSN', 'social_security_number', 'nationalId', 'national_id_number', 'nino', 'taxId', 'passport_number', 'customer.ssn']) {
      expect(classifyKey(k), k).toBe('national-id');
    }
  });
  it('leaves ordinary keys alone, including look-alikes', () => {
    for (const k of ['country', 'device', 'ip', 'merchant_cid', 'cvvHint', 'expected', 'exporter', 'destination', 'setting', 'postcode', 'description', 'export_id']) {
      expect(classifyKey(k), k).toBe(null);
    }
  });
  it('judges a path by its last segment', () => {
    expect(normaliseKey('payment.card.Card-Security-Code')).toBe('cardsecuritycode');
    expect(normaliseKey('card[cvv]')).toBe('cvv');
  });
  it('checks the value fits the key', () => {
    expect(valueFitsKey('cvv', '123')).toBe(true);
    expect(valueFitsKey('cvv', ' 1234 ')).toBe(true);
    expect(valueFitsKey('cvv', '12')).toBe(false);
    expect(valueFitsKey('cvv', '12345')).toBe(false);
    expect(valueFitsKey('expiry', '12/26')).toBe(true);
    expect(valueFitsKey('expiry', '01/2027')).toBe(true);
    expect(valueFitsKey('expiry', '13/26')).toBe(false);
    expect(valueFitsKey('expiry', '1735689600')).toBe(false); // a JWT-style exp in seconds
    expect(valueFitsKey('expiry-month', '12')).toBe(true);
    expect(valueFitsKey('expiry-year', '2027')).toBe(true);
  });
});
