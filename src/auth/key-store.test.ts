import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKey, parseKey } from './api-key.js';
import { KeyStore } from './key-store.js';
import { KeysFileError, writeKeysFile, type KeyRecord } from './keys-file.js';
import { allows } from './roles.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scoregate-keys-'));
  path = join(dir, 'keys.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function record(made: ReturnType<typeof generateKey>, extra: Partial<KeyRecord> = {}): KeyRecord {
  return { id: made.id, name: 'payments', roles: ['scorer'], sha256: made.digest, createdAt: new Date().toISOString(), ...extra };
}

describe('API key format', () => {
  it('is sk_<12 hex id>_<43 base64url secret>, parsed back into id and secret', () => {
    const made = generateKey();
    expect(made.key).toMatch(/^sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseKey(made.key)).toEqual({ id: made.id, secret: made.key.slice(16) });
    expect(parseKey('sk_abc_def')).toBeNull();
    expect(parseKey(made.key + 'x')).toBeNull();
    expect(parseKey('eyJhbGciOi')).toBeNull();
  });
});

describe('key store', () => {
  it('verifies a key to its principal, the same object each time', () => {
    const a = generateKey();
    writeKeysFile(path, [record(a)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0 });
    const p = store.verify(a.key);
    expect(p?.id).toBe(`key:${a.id}`);
    expect(p?.name).toBe('payments');
    expect(allows(p!.roles, 'scorer')).toBe(true);
    expect(allows(p!.roles, 'streamer')).toBe(false);
    expect(store.verify(a.key)).toBe(p);
  });

  it('refuses a wrong secret, an unknown id and a malformed key alike (null)', () => {
    const a = generateKey();
    const other = generateKey();
    writeKeysFile(path, [record(a)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0 });
    const wrongSecret = `sk_${a.id}_${other.key.slice(16)}`;
    expect(store.verify(wrongSecret)).toBeNull();
    expect(store.verify(other.key)).toBeNull();
    expect(store.verify('sk_nope')).toBeNull();
    expect(store.verify('')).toBeNull();
  });

  it('does not load revoked keys', () => {
    const a = generateKey();
    const b = generateKey();
    writeKeysFile(path, [record(a, { revokedAt: new Date().toISOString() }), record(b)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0 });
    expect(store.verify(a.key)).toBeNull();
    expect(store.verify(b.key)).not.toBeNull();
    expect(store.size).toBe(1);
  });

  it('the file holds the digest, never the secret', () => {
    const a = generateKey();
    writeKeysFile(path, [record(a)]);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(parseKey(a.key)!.secret);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a key uses its own rate limit over the default, and keeps its bucket across a reload', () => {
    const a = generateKey();
    const b = generateKey();
    writeKeysFile(path, [record(a, { ratePerS: 1, burst: 2 }), record(b)]);
    const store = KeyStore.open(path, { ratePerS: 100, burst: 0 });
    const pa = store.verify(a.key)!;
    expect([pa.bucket.ratePerS, pa.bucket.burst]).toEqual([1, 2]);
    expect([store.verify(b.key)!.bucket.ratePerS, store.verify(b.key)!.bucket.burst]).toEqual([100, 100]);
    pa.bucket.take();
    pa.bucket.take();
    store.reload();
    expect(store.verify(a.key)!.bucket).toBe(pa.bucket); // spent tokens stay spent
    expect(store.verify(a.key)!.bucket.take()).toBeGreaterThan(0);
  });

  it('refuses to open a missing or malformed file, naming the file and never a digest', () => {
    expect(() => KeyStore.open(path, { ratePerS: 0, burst: 0 })).toThrow(KeysFileError);
    expect(() => KeyStore.open(path, { ratePerS: 0, burst: 0 })).toThrow(/does not exist/);
    const a = generateKey();
    writeFileSync(path, JSON.stringify({ version: 1, keys: [{ ...record(a), roles: ['root'] }] }));
    expect(() => KeyStore.open(path, { ratePerS: 0, burst: 0 })).toThrow(/roles must be a non-empty list of known roles/);
    writeFileSync(path, '{"version": 1, "keys": [');
    expect(() => KeyStore.open(path, { ratePerS: 0, burst: 0 })).toThrow(/is not valid JSON/);
  });

  it('a reload that fails keeps the keys loaded before', () => {
    const a = generateKey();
    writeKeysFile(path, [record(a)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0 });
    writeFileSync(path, 'not json');
    expect(() => store.reload()).toThrow(KeysFileError);
    expect(store.verify(a.key)).not.toBeNull();
  });

  it('watch picks up a revocation written by rename (as the CLI writes), and reports a bad file', async () => {
    const a = generateKey();
    const b = generateKey();
    writeKeysFile(path, [record(a), record(b)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0, pollMs: 20 });
    const reports: (Error | null)[] = [];
    store.watch((err) => reports.push(err));
    try {
      writeKeysFile(path, [record(a, { revokedAt: new Date().toISOString() }), record(b)]);
      await vi.waitFor(() => expect(store.verify(a.key)).toBeNull(), { timeout: 5000, interval: 20 });
      expect(store.verify(b.key)).not.toBeNull();
      expect(reports).toContain(null);
      writeFileSync(path, '{');
      await vi.waitFor(() => expect(reports.some((r) => r instanceof KeysFileError)).toBe(true), { timeout: 5000, interval: 20 });
      expect(store.verify(b.key)).not.toBeNull();
    } finally {
      store.close();
    }
  });

  it('watch sees a change made between loading the file and starting to watch it', async () => {
    const a = generateKey();
    writeKeysFile(path, [record(a)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0, pollMs: 20 });
    writeKeysFile(path, [record(a, { revokedAt: new Date().toISOString() })]);
    store.watch(() => {});
    try {
      await vi.waitFor(() => expect(store.verify(a.key)).toBeNull(), { timeout: 5000, interval: 20 });
    } finally {
      store.close();
    }
  });

  it('a bad file is reported once, not at every poll', async () => {
    const a = generateKey();
    writeKeysFile(path, [record(a)]);
    const store = KeyStore.open(path, { ratePerS: 0, burst: 0, pollMs: 10 });
    const reports: (Error | null)[] = [];
    store.watch((err) => reports.push(err));
    try {
      rmSync(path);
      await vi.waitFor(() => expect(reports.length).toBe(1), { timeout: 5000, interval: 10 });
      await new Promise((r) => setTimeout(r, 100)); // ten more polls
      expect(reports).toHaveLength(1);
      expect(reports[0]).toBeInstanceOf(KeysFileError);
      expect(store.verify(a.key)).not.toBeNull(); // a missing file keeps the keys loaded before
    } finally {
      store.close();
    }
  });
});
