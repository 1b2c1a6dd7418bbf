import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './config.js';
import { ERRORS, ScoregateError, type ErrorCode } from './errors.js';

describe('error codes', () => {
  it('each code carries its status and serialises as {code, message, field?}', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const e = new ScoregateError(code, undefined, 'f');
      expect(e.status).toBe(ERRORS[code].status);
      expect(e.toBody()).toEqual({ code, message: ERRORS[code].message, field: 'f' });
    }
  });

  it("README's error table documents every code with its status", () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });
});
