/**
 * How each sensitive kind is masked, and the keyed tokens that let masked values still join.
 *
 * - PAN: BIN (first six) + "*" for the middle + last four, separators dropped:
 *   "4111 1111 1111 1111" → "411111******1111" (PCI DSS 3.4.1's most that may be shown). With
 *   `panStyle: 'token'` (and a token key) the PAN becomes its token instead.
 * - CVV: removed; in text the value becomes "[REDACTED]" (a fixed word: not even the length stays).
 * - Expiry: "**" + "/" + "**" for a date, "**" for a month or a year alone.
 * - E-mail: first character of the local part, "***", "@" and the domain: "j***@example.com"
 *   (the domain stays: fraud rules read disposable-mail domains).
 * - Phone: "+" if there was one, "***" and the last two digits: "+***71".
 * - IBAN: the country code, "***" and the last four: "DE***3000".
 * - US SSN: "***-**-" and the last four (the usual display form); NINO and any value under a
 *   national-id key: "***".
 *
 * Tokens: with a key, every finding except a CVV (never kept in any form, PCI DSS 3.3.1) gets
 * "tok_" + the first 128 bits of HMAC-SHA256(key, kind ":" normalised value), base64url. The
 * value is normalised so shapes of one value share a token: digits only for cards, SSNs and
 * phones ("+" kept), upper case without spaces for IBAN and NINO, lower case for e-mail.
 */
import { createHmac } from 'node:crypto';
import type { ValueKind } from './detect.js';

export interface PrivacyOptions {
  /** Key for HMAC-SHA256 tokens (at least 32 bytes); null: findings carry no token. */
  readonly tokenKey: Buffer | null;
  /** How a PAN is written in masked output: BIN + last four, or its token (needs tokenKey). */
  readonly panStyle: 'bin-last4' | 'token';
}

export const DEFAULT_OPTIONS: PrivacyOptions = Object.freeze({ tokenKey: null, panStyle: 'bin-last4' });

export const REDACTED = '[REDACTED]';

function digitsOf(s: string): string {
  return s.replace(/\D/g, '');
}

/** The canonical form a token is computed from. */
export function normaliseValue(kind: ValueKind | 'expiry' | 'national-id', v: string): string {
  switch (kind) {
    case 'pan':
    case 'ssn':
      return digitsOf(v);
    case 'phone':
      return (v.trimStart().startsWith('+') ? '+' : '') + digitsOf(v);
    case 'iban':
    case 'nino':
    case 'national-id':
      return v.replace(/\s/g, '').toUpperCase();
    case 'email':
      return v.toLowerCase();
    case 'expiry':
      return v.replace(/\s/g, '');
  }
}

/** "tok_" + base64url of the first 16 bytes of HMAC-SHA256(key, kind ":" normalised value). */
export function tokenFor(key: Buffer, kind: string, normalised: string): string {
  return 'tok_' + createHmac('sha256', key).update(kind).update(':').update(normalised).digest().subarray(0, 16).toString('base64url');
}

/** The masked form of one value found by the detectors. */
export function maskValue(kind: ValueKind, v: string, opts: PrivacyOptions): string {
  switch (kind) {
    case 'pan': {
      const d = digitsOf(v);
      if (opts.panStyle === 'token' && opts.tokenKey !== null) return tokenFor(opts.tokenKey, 'pan', d);
      return d.slice(0, 6) + '*'.repeat(d.length - 10) + d.slice(-4);
    }
    case 'email': {
      const at = v.lastIndexOf('@');
      return v.slice(0, 1) + '***' + v.slice(at);
    }
    case 'phone': {
      const d = digitsOf(v);
      return (v.startsWith('+') ? '+' : '') + '***' + d.slice(-2);
    }
    case 'iban': {
      const c = v.replace(/ /g, '');
      return c.slice(0, 2) + '***' + c.slice(-4);
    }
    case 'ssn':
      return '***-**-' + digitsOf(v).slice(-4);
    case 'nino':
      return '***';
  }
}

/** The masked form of a value that its key classified (a CVV is never masked: it is removed). */
export function maskKeyed(kind: 'expiry' | 'expiry-month' | 'expiry-year' | 'national-id'): string {
  return kind === 'expiry' ? '**/**' : kind === 'national-id' ? '***' : '**';
}

/** One sensitive value found in a field: its kind and, with a token key, its join token. */
export interface Finding {
  readonly kind: 'pan' | 'cvv' | 'expiry' | 'email' | 'phone' | 'iban' | 'national-id';
  readonly token: string | null;
}

export function findingKind(kind: ValueKind): Finding['kind'] {
  return kind === 'ssn' || kind === 'nino' ? 'national-id' : kind;
}

/** A finding for a detected value, with its token when a key is configured. */
export function findingFor(kind: ValueKind, v: string, opts: PrivacyOptions): Finding {
  const fk = findingKind(kind);
  return { kind: fk, token: opts.tokenKey === null ? null : tokenFor(opts.tokenKey, fk, normaliseValue(kind, v)) };
}
