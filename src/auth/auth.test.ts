/** Auth.authorize / authorizeUpgrade / admit with API keys: the answers the transports send. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { generateKey } from './api-key.js';
import { Auth } from './auth.js';
import { writeKeysFile, type KeyRecord } from './keys-file.js';
import { ANONYMOUS, Principal } from './principal.js';
import { RateLimited } from './rate-limit.js';
import type { Role } from './roles.js';

let dir: string;
let path: string;
let t: number;
const clock = (): number => t;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scoregate-auth-'));
  path = join(dir, 'keys.json');
  t = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function key(roles: Role[], extra: Partial<KeyRecord> = {}): { key: string; record: KeyRecord } {
  const made = generateKey();
  return { key: made.key, record: { id: made.id, name: `n-${made.id}`, roles, sha256: made.digest, createdAt: '2025-01-01T00:00:00Z', ...extra } };
}

function auth(env: Record<string, string> = {}): Auth {
  return Auth.create(loadConfig({ AUTH_KEYS_FILE: path, ...env }), { clock });
}

describe('authorize with API keys', () => {
  it('answers the principal for a key with the role, synchronously', () => {
    const a = key(['scorer']);
    writeKeysFile(path, [a.record]);
    const r = auth().authorize(`Bearer ${a.key}`, 'scorer');
    expect(r).toBeInstanceOf(Principal);
    expect((r as Principal).id).toBe(`key:${a.record.id}`);
  });

  it('401 UNAUTHENTICATED with one message for no header, another scheme, an unknown key, a wrong secret', () => {
    const a = key(['scorer']);
    const stranger = key(['scorer']);
    writeKeysFile(path, [a.record]);
    const x = auth();
    const wrongSecret = `sk_${a.record.id}_${stranger.key.slice(16)}`;
    const answers = ['', `Basic ${a.key}`, `Bearer ${stranger.key}`, `Bearer ${wrongSecret}`, a.key, 'Bearer sk_'].map((h) => x.authorize(h, 'scorer'));
    for (const r of answers) {
      expect(r).toBeInstanceOf(ScoregateError);
      expect((r as ScoregateError).toBody()).toEqual({ code: 'UNAUTHENTICATED', message: 'missing or invalid credentials' });
      expect((r as ScoregateError).status).toBe(401);
    }
  });

  it('the answer never echoes the key, its id or its secret', () => {
    const a = key(['scorer']);
    writeKeysFile(path, [a.record]);
    const r = auth().authorize(`Bearer ${a.key.slice(0, -1)}X`, 'scorer') as ScoregateError;
    const body = JSON.stringify(r.toBody());
    expect(body).not.toContain(a.record.id);
    expect(body).not.toContain(a.key.slice(16, 30));
  });

  it('403 FORBIDDEN for a key without the role; admin holds every role', () => {
    const scorer = key(['scorer']);
    const admin = key(['admin']);
    const multi = key(['streamer', 'auditor']);
    writeKeysFile(path, [scorer.record, admin.record, multi.record]);
    const x = auth();
    expect(x.authorize(`Bearer ${scorer.key}`, 'streamer')).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(x.authorize(`Bearer ${scorer.key}`, 'model-operator')).toMatchObject({ code: 'FORBIDDEN' });
    for (const role of ['scorer', 'streamer', 'model-operator', 'auditor', 'metrics', 'admin'] as const) expect(x.authorize(`Bearer ${admin.key}`, role)).toBeInstanceOf(Principal);
    expect(x.authorize(`Bearer ${multi.key}`, 'auditor')).toBeInstanceOf(Principal);
    expect(x.authorize(`Bearer ${multi.key}`, 'admin')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a revoked key is 401 once the file is reloaded (SIGHUP)', async () => {
    const a = key(['scorer']);
    writeKeysFile(path, [a.record]);
    const x = Auth.create(loadConfig({ AUTH_KEYS_FILE: path }), { clock, keysPollMs: 60_000 }); // only the signal reloads
    const reports: (Error | null)[] = [];
    x.watch((err) => reports.push(err));
    try {
      expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toBeInstanceOf(Principal);
      writeKeysFile(path, [{ ...a.record, revokedAt: '2025-01-02T00:00:00Z' }]);
      process.kill(process.pid, 'SIGHUP');
      await vi.waitFor(() => expect(reports).toEqual([null]), { timeout: 5000, interval: 10 });
      expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      x.close();
    }
  });

  it('429 RATE_LIMITED past the burst, with retryAfterS; refills with time; per key', () => {
    const a = key(['scorer']);
    const b = key(['scorer'], { ratePerS: 1, burst: 1 });
    writeKeysFile(path, [a.record, b.record]);
    const x = auth({ AUTH_RATE_PER_S: '10', AUTH_RATE_BURST: '3' });
    for (let i = 0; i < 3; i++) expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toBeInstanceOf(Principal);
    const limited = x.authorize(`Bearer ${a.key}`, 'scorer');
    expect(limited).toBeInstanceOf(RateLimited);
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterS: 1 });
    expect(x.authorize(`Bearer ${b.key}`, 'scorer')).toBeInstanceOf(Principal); // its own bucket
    expect(x.authorize(`Bearer ${b.key}`, 'scorer')).toBeInstanceOf(RateLimited);
    t += 100; // one token at 10/s
    expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toBeInstanceOf(Principal);
    expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toBeInstanceOf(RateLimited);
  });

  it('a 403 spends no tokens', () => {
    const a = key(['scorer']);
    writeKeysFile(path, [a.record]);
    const x = auth({ AUTH_RATE_PER_S: '1', AUTH_RATE_BURST: '1' });
    for (let i = 0; i < 5; i++) expect(x.authorize(`Bearer ${a.key}`, 'streamer')).toMatchObject({ code: 'FORBIDDEN' });
    expect(x.authorize(`Bearer ${a.key}`, 'scorer')).toBeInstanceOf(Principal);
  });

  it('admit spends more tokens of an authorized principal (a WebSocket frame of n transactions)', () => {
    const a = key(['streamer']);
    writeKeysFile(path, [a.record]);
    const x = auth({ AUTH_RATE_PER_S: '100', AUTH_RATE_BURST: '100' });
    const p = x.authorize(`Bearer ${a.key}`, 'streamer') as Principal;
    expect(x.admit(p, 90)).toBeNull();
    expect(x.admit(p, 20)).toMatchObject({ code: 'RATE_LIMITED', retryAfterS: 1 });
    expect(x.admit(p, 9)).toBeNull();
  });

  it('a keys file that is missing or malformed stops the start naming AUTH_KEYS_FILE', () => {
    expect(() => auth()).toThrow(ConfigError);
    expect(() => auth()).toThrow(/^invalid configuration: AUTH_KEYS_FILE keys file .* does not exist/);
  });
});

describe('authorizeUpgrade', () => {
  it('takes the key from the Authorization header or the bearer.<token> subprotocol, answering scoregate.v1', () => {
    const a = key(['streamer']);
    writeKeysFile(path, [a.record]);
    const x = auth();
    const viaHeader = x.authorizeUpgrade({ authorization: `Bearer ${a.key}`, protocol: '', origin: '' }, 'streamer');
    expect(viaHeader).toMatchObject({ protocol: '', principal: { id: `key:${a.record.id}` } });
    const viaProtocol = x.authorizeUpgrade({ authorization: '', protocol: `scoregate.v1, bearer.${a.key}`, origin: '' }, 'streamer');
    expect(viaProtocol).toMatchObject({ protocol: 'scoregate.v1', principal: { id: `key:${a.record.id}` } });
    expect(x.authorizeUpgrade({ authorization: '', protocol: 'scoregate.v1', origin: '' }, 'streamer')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(x.authorizeUpgrade({ authorization: `Bearer ${a.key}`, protocol: '', origin: '' }, 'scorer')).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses an Origin not in WS_ALLOWED_ORIGINS with 403 before looking at credentials', () => {
    const a = key(['streamer']);
    writeKeysFile(path, [a.record]);
    const x = auth({ WS_ALLOWED_ORIGINS: 'https://app.example.com' });
    const h = { authorization: `Bearer ${a.key}`, protocol: '' };
    expect(x.authorizeUpgrade({ ...h, origin: 'https://app.example.com' }, 'streamer')).toMatchObject({ principal: { kind: 'api-key' } });
    expect(x.authorizeUpgrade({ ...h, origin: 'https://evil.example.com' }, 'streamer')).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(x.authorizeUpgrade({ authorization: '', protocol: '', origin: 'https://evil.example.com' }, 'streamer')).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('without credentials configured (loopback)', () => {
  it('every call is ANONYMOUS with every role and no limit; Origin is still checked', () => {
    const x = Auth.create(loadConfig({ AUTH_RATE_PER_S: '1' }));
    expect(x.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect(x.authorize('', 'model-operator')).toBe(ANONYMOUS);
    expect(x.authorize('Bearer whatever', 'scorer')).toBe(ANONYMOUS);
    expect(x.authorizeUpgrade({ authorization: '', protocol: 'scoregate.v1', origin: '' }, 'streamer')).toEqual({ principal: ANONYMOUS, protocol: 'scoregate.v1' });
    expect(x.authorizeUpgrade({ authorization: '', protocol: '', origin: 'https://evil.example.com' }, 'streamer')).toMatchObject({ code: 'FORBIDDEN' });
    expect(x.protectsMetrics).toBe(false);
  });

  it('AUTH_METRICS=protected asks for the metrics role only once credentials are configured', () => {
    writeKeysFile(path, []);
    expect(auth({ AUTH_METRICS: 'protected' }).protectsMetrics).toBe(true);
    expect(auth().protectsMetrics).toBe(false);
  });
});
