import { describe, expect, it } from 'vitest';
import { EMAILS, IBANS, NINOS, NOT_EMAILS, NOT_IBANS, NOT_NINOS, NOT_PANS, NOT_SSNS, ORDINARY, PANS, PHONES, SSNS, shapes } from '../../test/support/privacy-corpus.js';
import { findSpans, prescan, type ValueKind } from './detect.js';
import { ibanValid, luhnValid } from './checksums.js';

function kinds(s: string): ValueKind[] {
  return findSpans(s).map((x) => x.kind);
}

function only(s: string, kind: ValueKind): string {
  const spans = findSpans(s);
  expect(spans.map((x) => x.kind), s).toEqual([kind]);
  return s.slice(spans[0]!.start, spans[0]!.end);
}

describe('checksums', () => {
  it('Luhn accepts the test PANs and refuses one digit off', () => {
    for (const p of PANS) expect(luhnValid(p, 0, p.length), p).toBe(true);
    for (const p of ['4111111111111112', '378282246310006', '5555555555554445']) expect(luhnValid(p, 0, p.length), p).toBe(false);
  });
  it('Luhn skips separators', () => {
    const s = '4111 1111-1111 1111';
    expect(luhnValid(s, 0, s.length)).toBe(true);
  });
  it('mod-97 accepts real IBANs and refuses a wrong check digit', () => {
    for (const i of IBANS) expect(ibanValid(i, 0, i.length), i).toBe(true);
    for (const i of NOT_IBANS) expect(ibanValid(i, 0, i.length), i).toBe(false);
  });
});

describe('prescan', () => {
  it('says no to ordinary short values without allocating a scan', () => {
    for (const s of ['tx-123', 'EUR', 'DE', 'web', '129.90', 'user-42', 'm-77', 'order 42 of 100', '']) expect(prescan(s), s).toBe(false);
  });
  it('says yes to everything a detector could find', () => {
    const all = [...PANS.flatMap(shapes), ...IBANS, ...EMAILS, ...PHONES, ...SSNS, ...NINOS];
    for (const s of all) expect(prescan(s), s).toBe(true);
    for (const s of all) expect(prescan(`some text ${s} and more`), s).toBe(true);
  });
});

describe('prescan never hides what the detectors find', () => {
  it('holds on 20,000 random strings built from sensitive and ordinary pieces', () => {
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const pieces = [...PANS.flatMap(shapes), ...IBANS, ...EMAILS, ...PHONES, ...SSNS, ...NINOS, ...ORDINARY, ' ', '-', '+', '(', ')', '.', '@', 'a', 'Z', '0', '1', '4', '9', '"', ':'];
    let found = 0;
    for (let n = 0; n < 20_000; n++) {
      let s = '';
      for (let k = rnd(4) + 1; k > 0; k--) {
        const p = pieces[rnd(pieces.length)]!;
        s += rnd(3) === 0 ? p.slice(rnd(p.length)) : p; // also pieces cut short
      }
      if (findSpans(s).length > 0) {
        found++;
        expect(prescan(s), s).toBe(true);
      }
    }
    expect(found).toBeGreaterThan(1000);
  });
});

describe('PAN detector', () => {
  it('finds every test PAN in every shape, whole', () => {
    for (const pan of PANS) {
      for (const s of shapes(pan)) {
        expect(only(s, 'pan').replace(/\D/g, ''), s).toBe(pan);
        expect(only(`paid with ${s} yesterday`, 'pan').replace(/\D/g, '')).toBe(pan);
        expect(only(`card${s}x`, 'pan').replace(/\D/g, '')).toBe(pan);
        expect(only(`{"a":{"b":{"number":"${s}"}}}`, 'pan').replace(/\D/g, '')).toBe(pan);
      }
    }
  });
  it('finds a card inside a longer run of groups', () => {
    expect(only('ref 12 4111 1111 1111 1111', 'pan')).toBe('4111 1111 1111 1111');
    expect(only('4111 1111 1111 1111 2025', 'pan')).toBe('4111 1111 1111 1111');
  });
  it('finds two cards in one string', () => {
    expect(kinds('4111111111111111, 5555-5555-5555-4444')).toEqual(['pan', 'pan']);
  });
  it('leaves Luhn-invalid look-alikes, other prefixes and long ids alone', () => {
    for (const s of NOT_PANS) expect(kinds(s), s).not.toContain('pan');
    expect(kinds('41111111111111110000')).toEqual([]); // 20 digits, no separators: an id
    expect(kinds('4111  1111 1111 1111')).not.toContain('pan'); // two spaces split the run
  });
});

describe('IBAN detector', () => {
  it('finds valid IBANs, spaced or not, also in text', () => {
    for (const i of IBANS) {
      expect(only(i, 'iban')).toBe(i);
      expect(only(`pay to ${i} EUR today`, 'iban')).toBe(i);
    }
  });
  it('refuses a wrong check digit', () => {
    for (const i of NOT_IBANS) expect(kinds(i), i).not.toContain('iban');
  });
  it("does not also report an IBAN's digits as a card", () => {
    expect(kinds('DE89 3704 0044 0532 0130 00')).toEqual(['iban']);
  });
});

describe('national ids', () => {
  it('finds US SSNs and UK NINOs', () => {
    for (const s of SSNS) expect(only(`ssn is ${s}.`, 'ssn')).toBe(s);
    for (const s of NINOS) expect(only(`nino ${s}`, 'nino')).toBe(s);
  });
  it('refuses numbers the SSA never issues and NINO prefixes never used', () => {
    for (const s of NOT_SSNS) expect(kinds(s), s).toEqual([]);
    for (const s of NOT_NINOS) expect(kinds(s), s).toEqual([]);
  });
});

describe('e-mail detector', () => {
  it('finds addresses whole, in text and JSON', () => {
    for (const e of EMAILS) {
      expect(only(e, 'email')).toBe(e);
      expect(only(`mail <${e}>.`, 'email')).toBe(e);
      expect(only(`{"email":"${e}"}`, 'email')).toBe(e);
    }
  });
  it('needs a dotted domain with a letter TLD', () => {
    for (const e of NOT_EMAILS) expect(kinds(e), e).toEqual([]);
  });
});

describe('phone detector', () => {
  it('finds E.164 and national formats', () => {
    for (const p of PHONES) {
      expect(only(p, 'phone')).toBe(p);
      expect(only(`call ${p} now`, 'phone')).toBe(p);
    }
  });
  it('does not take amounts, timestamps, dates, ids or addresses for phones', () => {
    for (const s of ORDINARY) expect(kinds(s), s).toEqual([]);
    for (const s of ['amount 1234567.89', 'ts=1735689600000', '10.00 20.00 30.00', 'port 8080 pid 123456789', 'version 10.2.3.4567']) expect(kinds(s), s).toEqual([]);
  });
});
