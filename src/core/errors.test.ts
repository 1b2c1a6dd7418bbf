import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './config.js';
import { asScoregateError, ERRORS, ScoregateError, type ErrorCode } from './errors.js';

describe('error codes', () => {
  it('each code carries its status and serialises as {code, message, field?}', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const e = new ScoregateError(code, undefined, 'f');
      expect(e.status).toBe(ERRORS[code].status);
      expect(e.toBody()).toEqual({ code, message: ERRORS[code].message, field: 'f' });
    }
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
