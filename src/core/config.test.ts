import { spawnSync } from 'node:child_process';
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

  it.each([
    [{ PORT: 'eighty' }, /^invalid configuration: PORT must be an integer/],
    [{ KAFKA_BROKERS: '127.0.0.1:9092' }, /^invalid configuration: SCHEMA_REGISTRY_URL must be set/],
    [{ MODEL_DIR: '/nonexistent/model' }, /^invalid configuration: MODEL_DIR .*no MLmodel file/],
  ])('the gateway refuses to start on bad configuration %j, naming the setting (exit 2)', (env, message) => {
    const r = spawnSync(process.execPath, [`${REPO_ROOT}/dist/src/main.js`], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').find((l) => l.startsWith('invalid configuration'))).toMatch(message);
  });

  it('CLUSTER_SHARDS with credentials configured needs a CLUSTER_SECRET of 32 characters or more: the forward route is no open door', () => {
    const env = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081', CLUSTER_SHARDS: 'true', AUTH_KEYS_FILE: '/etc/scoregate/keys.json' };
    expect(() => loadConfig(env)).toThrow(/^invalid configuration: CLUSTER_SECRET /);
    expect(() => loadConfig({ ...env, CLUSTER_SECRET: 'too-short' })).toThrow(/^invalid configuration: CLUSTER_SECRET /);
    expect(loadConfig({ ...env, CLUSTER_SECRET: 'x'.repeat(32) }).clusterSecret).toHaveLength(32);
    // Without credentials every route is as open as /v1/score (the gateway then listens on loopback only).
    expect(loadConfig({ ...env, AUTH_KEYS_FILE: '' }).clusterShards).toBe(true);
  });

  it("README's configuration table is the one the code generates", () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
    expect(readme).toContain(configTable());
    for (const s of SETTINGS) expect(readme).toContain(`\`${s.env}\``);
  });
});
