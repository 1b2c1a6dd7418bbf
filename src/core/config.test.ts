import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, REPO_ROOT, SETTINGS, configTable, loadConfig } from './config.js';

describe('configuration', () => {
  it('takes defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.modelDir.endsWith('models/fraud-detector')).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['INFERENCE_WORKERS', '-1'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_BODY_BYTES', '1.5'],
  ])('refuses %s=%s with a message naming the setting', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });

  it("README's configuration table is the one the code generates", () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
    expect(readme).toContain(configTable());
    for (const s of SETTINGS) expect(readme).toContain(`\`${s.env}\``);
  });
});
