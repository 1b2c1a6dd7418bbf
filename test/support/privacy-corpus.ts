/**
 * Card numbers, CVVs, IBANs, national ids, e-mails and phones in the shapes they arrive in, and
 * ordinary values that must come through untouched. Shared by the privacy tests and bench.
 */

/** Luhn-valid test PANs of every length the detector takes (13, 14, 15, 16, 19 digits). */
export const PANS = [
  '4111111111111111', // Visa 16
  '4222222222222', // Visa 13
  '378282246310005', // Amex 15
  '6011111111111117', // Discover 16
  '5555555555554444', // Mastercard 16
  '2223000048400011', // Mastercard 2-series
  '3530111333300000', // JCB
  '30569309025904', // Diners 14
  '4000000000000000006', // Visa 19
  '6221260000000000001', // UnionPay 19
] as const;

/** Look-alikes: one digit off (Luhn fails), or a prefix no card brand uses. Never masked. */
export const NOT_PANS = [
  '4111111111111112',
  '378282246310006',
  '5555555555554445',
  '4222222222223',
  '1735689600000', // epoch ms, Luhn-valid by chance? either way prefix 1
  '1234567812345670', // Luhn-valid, prefix 1
  '9999999999999995', // Luhn-valid, prefix 9
  '5105105105105101', // Luhn-invalid Mastercard shape
] as const;

/** Every way a PAN is written: grouped, dashed, mixed, glued to words. */
export function shapes(pan: string): string[] {
  const g4 = pan.replace(/(\d{4})(?=\d)/g, '$1 ');
  return [
    pan,
    g4,
    g4.replace(/ /g, '-'),
    g4.replace(/ /, '-'), // mixed: one dash, then spaces
    pan.length === 15 ? `${pan.slice(0, 4)} ${pan.slice(4, 10)} ${pan.slice(10)}` : g4, // Amex 4-6-5
  ];
}

export const CVV_KEYS = [
  'cvv',
  'CVV',
  'cvc',
  'cvv2',
  'CVC2',
  'cid',
  'CID',
  'csc',
  'securityCode',
  'security_code',
  'SecurityCode',
  'card_security_code',
  'Card-Security-Code',
  'cardCvv',
  'card.cvc',
  'billing_cvc2',
  'cardVerificationValue',
  'cvn',
] as const;

export const IBANS = ['DE89 3704 0044 0532 0130 00', 'DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300'] as const;
export const NOT_IBANS = ['DE89 3704 0044 0532 0130 01', 'GB82WEST12345698765433', 'NL91ABNA0417164301'] as const;

export const EMAILS = ['jane.doe@example.com', 'J.Smith+fraud@mail.co.uk', 'x_y-z@sub.domain.io'] as const;
export const NOT_EMAILS = ['user@localhost', 'a@b', '@handle', 'price@ 12'] as const;

export const PHONES = ['+1 415-555-2671', '+44 20 7946 0958', '+4930123456', '(415) 555-2671', '415-555-2671', '415.555.2671', '1-415-555-2671', '020 7946 0958', '06 12 34 56 78', '+44 (0)20 7946 0958', '+33 6 12 34 56 78'] as const;

export const SSNS = ['123-45-6789', '078-05-1120', '123 45 6789'] as const;
export const NOT_SSNS = ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-4567', '123-45-0000'] as const;
export const NINOS = ['AB123456C', 'AB 12 34 56 C', 'CE 123456 D'] as const;
export const NOT_NINOS = ['GB123456A', 'AB123456E', 'DA123456A', 'ab123456c'] as const;

/** Ordinary values: amounts, timestamps, ids, codes, dates, addresses. Never changed. */
export const ORDINARY = [
  'tx-123',
  'tx-1001',
  'user-42',
  'm-77',
  'EUR',
  'USD',
  'DE',
  'web',
  '129.90',
  '1234567.89',
  '1,234,567.89',
  '12345678',
  '1735689600000',
  '1735689600000000',
  '1735689600000000000',
  '2026-01-31T12:00:00Z',
  '2026-01-31T12:00:00.123+01:00',
  '2026-01-31',
  '31.12.2026',
  '01.12.2026',
  '123e4567-e89b-12d3-a456-426614174000',
  '192.168.100.200',
  '2001:db8::8a2e:370:7334',
  'v1.2.3',
  'ORD-2024-000123',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0',
  'order 42 of 100',
  'EUR 129.90',
  'tx-20260131-000000123456',
  'AB12',
] as const;

/** Digits only: what a leak check must also search for. */
export function digitsOnly(s: string): string {
  return s.replace(/\D/g, '');
}

/** The originals that must not be found in `out`, as written and with separators removed. */
export function leaks(out: string, originals: readonly string[]): string[] {
  const flat = out.replace(/[\s\-.()+/]/g, '');
  const found: string[] = [];
  for (const o of originals) {
    const compact = o.replace(/[\s\-.()+/]/g, '');
    if (out.includes(o) || flat.includes(compact)) found.push(o);
  }
  return found;
}
