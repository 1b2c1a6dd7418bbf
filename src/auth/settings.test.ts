import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { authConfigured, checkAuthConfig, isLoopback, secureByDefault } from './settings.js';

describe('secure by default', () => {
  it('the default HOST is loopback, so the gateway starts without credentials (README: npm start)', () => {
    const c = loadConfig({});
    expect(c.host).toBe('127.0.0.1');
    expect(authConfigured(c)).toBe(false);
    expect(() => secureByDefault(c)).not.toThrow();
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', 'example.com'])('refuses HOST=%s without credentials, naming HOST and the settings to set', (host) => {
    const c = loadConfig({ HOST: host });
    expect(() => secureByDefault(c)).toThrow(ConfigError);
    expect(() => secureByDefault(c)).toThrow(/^invalid configuration: HOST .*AUTH_KEYS_FILE.*AUTH_JWKS_URL/);
  });

  it.each([{ AUTH_KEYS_FILE: '/etc/scoregate/keys.json' }, { AUTH_JWKS_URL: 'https://idp.example/jwks' }, { AUTH_JWKS_FILE: '/etc/jwks.json' }])('allows any HOST once credentials are configured: %j', (env) => {
    const c = loadConfig({ HOST: '0.0.0.0', ...env });
    expect(authConfigured(c)).toBe(true);
    expect(() => secureByDefault(c)).not.toThrow();
  });

  it('knows the loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '128.0.0.1', '10.0.0.1', 'localhost.example.com', '']) expect(isLoopback(h), h).toBe(false);
  });

  it('checkAuthConfig refuses a bad WS_ALLOWED_ORIGINS naming it', () => {
    expect(() => checkAuthConfig(loadConfig({ WS_ALLOWED_ORIGINS: 'app.example.com' }))).toThrow(/^invalid configuration: WS_ALLOWED_ORIGINS /);
  });

});
