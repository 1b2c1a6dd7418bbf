import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CipherError, keyringFromFile, loadKeyring, MIN_SEALED, openFrames, parseKeyring, RecordCipher, type CipherErrorCode, type Keyring } from './cipher.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('hex');
const ring = (current: string, keys: Record<string, string>): Keyring => parseKeyring(JSON.stringify({ current, keys }));
const plain = Buffer.from(JSON.stringify({ transactionId: 'tx-1', score: 0.12 }));

function code(fn: () => unknown): CipherErrorCode | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    expect(err).toBeInstanceOf(CipherError);
    return (err as CipherError).code;
  }
}

describe('RecordCipher', () => {
  const c = new RecordCipher(ring('k1', { k1: K1 }));

  it('round-trips, including empty and large plaintexts, with a fresh IV each time', () => {
    for (const p of [Buffer.alloc(0), plain, Buffer.alloc(1 << 20, 7)]) expect(c.open(c.seal(p)).equals(p)).toBe(true);
    const a = c.seal(plain);
    const b = c.seal(plain);
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(4 + 2 + 12 + plain.length + 16);
    expect(a.includes(plain.subarray(0, 8))).toBe(false);
  });

  it('binds the caller context (aad)', () => {
    const s = c.seal(plain, Buffer.from('seg-1'));
    expect(c.open(s, Buffer.from('seg-1')).equals(plain)).toBe(true);
    expect(code(() => c.open(s, Buffer.from('seg-2')))).toBe('CIPHER_TAG_MISMATCH');
    expect(code(() => c.open(s))).toBe('CIPHER_TAG_MISMATCH');
  });

  it('opens records of the old key after rotation, and seals with the new one', () => {
    const old = c.seal(plain);
    const rotated = new RecordCipher(ring('k2', { k1: K1, k2: K2 }));
    expect(rotated.open(old).equals(plain)).toBe(true);
    const fresh = rotated.seal(plain);
    expect(rotated.keyIdOf(fresh)).toBe('k2');
    expect(rotated.keyIdOf(old)).toBe('k1');
    expect(code(() => c.open(fresh))).toBe('CIPHER_UNKNOWN_KEY'); // the old process does not know k2
  });

  it('refuses a record sealed under the same id with another key', () => {
    const other = new RecordCipher(ring('k1', { k1: K2 }));
    expect(code(() => other.open(c.seal(plain)))).toBe('CIPHER_TAG_MISMATCH');
  });

  it('refuses every single-byte change, with the code of the region changed', () => {
    const s = c.seal(plain);
    const h = 4 + 2; // magic, version, key id length, "k1"
    const regions: [string, number, number, CipherErrorCode[]][] = [
      ['magic', 0, 2, ['CIPHER_BAD_FORMAT']],
      ['version', 2, 3, ['CIPHER_BAD_FORMAT']],
      ['key id length', 3, 4, ['CIPHER_BAD_FORMAT', 'CIPHER_UNKNOWN_KEY', 'CIPHER_TRUNCATED']],
      ['key id', 4, h, ['CIPHER_UNKNOWN_KEY']],
      ['iv', h, h + 12, ['CIPHER_TAG_MISMATCH']],
      ['ciphertext', h + 12, s.length - 16, ['CIPHER_TAG_MISMATCH']],
      ['tag', s.length - 16, s.length, ['CIPHER_TAG_MISMATCH']],
    ];
    for (const [name, from, to, codes] of regions) {
      for (let i = from; i < to; i++) {
        for (const flip of [0x01, 0x80, 0xff]) {
          const t = Buffer.from(s);
          t[i]! ^= flip;
          const got = code(() => c.open(t));
          expect(codes, `${name} byte ${i} ^ ${flip}`).toContain(got);
        }
      }
    }
  });

  it('refuses a key id changed to another key the ring holds', () => {
    const two = new RecordCipher(ring('k1', { k1: K1, k2: K2 }));
    const t = two.seal(plain);
    t[5] = '2'.charCodeAt(0); // "k1" → "k2"
    expect(code(() => two.open(t))).toBe('CIPHER_TAG_MISMATCH');
  });

  it('detects truncation at every length', () => {
    const s = c.seal(plain);
    for (let n = 0; n < s.length; n++) {
      const got = code(() => c.open(s.subarray(0, n)));
      expect(n < 4 + 2 + 12 + 16 ? ['CIPHER_TRUNCATED'] : ['CIPHER_TAG_MISMATCH'], `cut to ${n}`).toContain(got);
    }
  });
});

describe('keyring', () => {
  it('reads JSON from a file or a variable, keys as base64 or hex', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyring-'));
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ current: '2026-11', keys: { '2026-11': K1, '2026-05': K2 } }));
    const r = keyringFromFile(file);
    expect(r.current).toBe('2026-11');
    expect([...r.keys.keys()]).toEqual(['2026-11', '2026-05']);
    expect(loadKeyring({ file })?.current).toBe('2026-11');
    expect(loadKeyring({ env: { SCOREGATE_SINK_KEYRING: JSON.stringify({ current: 'a', keys: { a: K2 } }) } })?.current).toBe('a');
    expect(loadKeyring({ env: {} })).toBe(null);
  });

  it('refuses unusable keyrings with CIPHER_BAD_KEYRING, without echoing key material', () => {
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ current: 'a', keys: { a: Buffer.alloc(16).toString('base64') } }),
      JSON.stringify({ current: 'b', keys: { a: K1 } }),
      JSON.stringify({ current: 'a b', keys: { 'a b': K1 } }),
      JSON.stringify({ current: 'a', keys: { a: 42 } }),
    ];
    for (const t of bad) {
      expect(code(() => parseKeyring(t)), t).toBe('CIPHER_BAD_KEYRING');
      try {
        parseKeyring(t);
      } catch (err) {
        expect((err as Error).message).not.toContain(K1);
      }
    }
    expect(code(() => keyringFromFile('/nonexistent/keys.json'))).toBe('CIPHER_BAD_KEYRING');
  });
});

describe('openFrames', () => {
  const c = new RecordCipher(ring('k1', { k1: K1 }));
  const msgs = Array.from({ length: 10 }, (_, i) => Buffer.from(`record ${i} ${'x'.repeat(i * 7)}`));
  const frames = msgs.map((m) => c.sealFrame(m));
  const stream = Buffer.concat(frames);
  const offsets = frames.reduce<number[]>((acc, f, i) => [...acc, (acc[i] ?? 0) + f.length], [0]);
  const texts = (r: Buffer[]): string[] => r.map((b) => b.toString());

  it('reads back every record of a clean stream', () => {
    const r = openFrames(stream, c);
    expect(texts(r.records)).toEqual(texts(msgs));
    expect(r.bad).toEqual([]);
    expect(r.tornTailAt).toBe(null);
  });

  it('tells a torn tail at every cut point of the last frame', () => {
    const last = offsets[9]!;
    for (let cut = last + 1; cut < stream.length; cut++) {
      const r = openFrames(stream.subarray(0, cut), c);
      expect(r.records.length, `cut at ${cut}`).toBe(9);
      expect(r.bad).toEqual([]);
      expect(r.tornTailAt).toBe(last);
    }
  });

  it('skips and counts a tampered middle record; the rest still decodes', () => {
    for (const region of [8, 20, -3]) {
      const t = Buffer.from(stream);
      const at = region >= 0 ? offsets[4]! + region : offsets[5]! + region;
      t[at]! ^= 0x40;
      const r = openFrames(t, c);
      expect(texts(r.records)).toEqual(texts(msgs.filter((_, i) => i !== 4)));
      expect(r.bad).toEqual([{ offset: offsets[4], length: frames[4]!.length, code: region === 8 ? 'CIPHER_UNKNOWN_KEY' : 'CIPHER_TAG_MISMATCH' }]);
      expect(r.tornTailAt).toBe(null);
    }
  });

  it('finds the next frame when a length prefix was damaged, in the middle or to past the end', () => {
    for (const [byte, flip] of [
      [3, 0x05],
      [0, 0x7f],
      [2, 0x01],
    ] as const) {
      const t = Buffer.from(stream);
      t[offsets[3]! + byte]! ^= flip;
      const r = openFrames(t, c);
      expect(texts(r.records), `byte ${byte}`).toEqual(texts(msgs.filter((_, i) => i !== 3)));
      expect(r.bad).toHaveLength(1);
      expect(r.bad[0]).toMatchObject({ offset: offsets[3], code: 'CIPHER_BAD_FRAME', length: frames[3]!.length });
      expect(r.tornTailAt).toBe(null);
    }
  });

  it('reports garbage at the end as bad, not as a torn tail', () => {
    const r = openFrames(Buffer.concat([stream, Buffer.alloc(40, 0xab)]), c);
    expect(r.records).toHaveLength(10);
    expect(r.bad).toEqual([{ offset: stream.length, length: 40, code: 'CIPHER_BAD_FRAME' }]);
    expect(r.tornTailAt).toBe(null);
  });

  it('keeps the frame minimum in step with the format', () => {
    expect(new RecordCipher(ring('k', { k: K1 })).seal(Buffer.alloc(0)).length).toBe(MIN_SEALED);
  });
});
