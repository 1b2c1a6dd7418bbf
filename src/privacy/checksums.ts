/** Check digits that tell a real account number from a look-alike: Luhn (cards) and ISO 7064 mod-97 (IBAN). */

/** Luhn over the ASCII digits of s[start, end); other characters (separators) are skipped. */
export function luhnValid(s: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let d = c - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function alnumValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 55; // A = 10 … Z = 35
  if (c >= 97 && c <= 122) return c - 87;
  return -1;
}

function mod97Step(rem: number, c: number): number {
  const v = alnumValue(c);
  if (v < 0) return rem; // a separator
  return v < 10 ? (rem * 10 + v) % 97 : (rem * 100 + v) % 97;
}

/**
 * IBAN check (ISO 13616): the first four characters moved to the end, letters as 10…35, the
 * number mod 97 must be 1. Spaces in s[start, end) are skipped. Computed digit by digit, so
 * no big integers and no allocation.
 */
export function ibanValid(s: string, start: number, end: number): boolean {
  let rem = 0;
  let head = 0; // alphanumerics seen, to find where the first four end
  let bodyStart = end;
  for (let i = start; i < end; i++) {
    if (alnumValue(s.charCodeAt(i)) < 0) continue;
    if (++head === 4) {
      bodyStart = i + 1;
      break;
    }
  }
  for (let i = bodyStart; i < end; i++) rem = mod97Step(rem, s.charCodeAt(i));
  for (let i = start; i < bodyStart; i++) rem = mod97Step(rem, s.charCodeAt(i));
  return rem === 1;
}
