import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './config.js';
import { asScoregateError, ERRORS, ScoregateError, type ErrorCode } from './errors.js';

describe('error codes', () => {
  it('each code carries its status and serialises as {code, message, field?, retryAfterMs?}', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const e = new ScoregateError(code, undefined, 'f');
      const spec: { status: number; message: string; retryAfterMs?: number } = ERRORS[code];
      expect(e.status).toBe(spec.status);
      const body = spec.retryAfterMs === undefined ? { code, message: spec.message, field: 'f' } : { code, message: spec.message, field: 'f', retryAfterMs: spec.retryAfterMs };
      expect(e.toBody()).toEqual(body);
    }
  });

  it('every 503 tells the client when to retry: retryAfterMs from the map, whole seconds ≥ 1', () => {
    const unavailable = (Object.keys(ERRORS) as ErrorCode[]).filter((c) => ERRORS[c].status === 503);
    expect(unavailable).toEqual(expect.arrayContaining(['NOT_READY', 'OVERLOADED', 'SINK_FULL']));
    for (const code of unavailable) {
      const ms = new ScoregateError(code, 'a message of the throw').retryAfterMs;
      expect(ms, code).toBeGreaterThanOrEqual(1000);
      expect(ms! % 1000, code).toBe(0); // Retry-After is whole seconds: the header and the field agree
    }
    expect(new ScoregateError('SINK_FULL').toBody().retryAfterMs).toBe(5000);
    expect(new ScoregateError('INVALID_BODY').retryAfterMs).toBeUndefined();
  });

  it('INTERNAL: a failure that is not a ScoregateError (a bug) answers 500 with none of its details', () => {
    // Only a bug produces it in the gateway, so it is provoked here at the one place every
    // transport turns a thrown value into an answer.
    const e = asScoregateError(new TypeError('cannot read /srv/scoregate/dist/x.js for card 4111111111111111'));
    expect([e.code, e.status]).toEqual(['INTERNAL', 500]);
    expect(e.toBody()).toEqual({ code: 'INTERNAL', message: 'internal error' });
    const known = new ScoregateError('OVERLOADED');
    expect(asScoregateError(known)).toBe(known);
  });

  it("README's error table documents every code with its status", () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
