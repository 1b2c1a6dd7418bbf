/**
 * The spool encrypted at rest (AES-256-GCM, src/sink/cipher.ts) on real files: nothing in
 * clear on disk, records back in order across a reopen and a key rotation, a spool holding
 * plain records from before encryption still drains, and a tampered record is refused,
 * counted and reported while every other record still drains.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKeyring, RecordCipher } from './cipher.js';
import { Spool } from './spool.js';

const dirOf = (): string => mkdtempSync(join(tmpdir(), 'spool-sealed-'));
const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const ring1 = new RecordCipher(parseKeyring(JSON.stringify({ current: 'k1', keys: { k1 } })));
const ring2 = new RecordCipher(parseKeyring(JSON.stringify({ current: 'k2', keys: { k1, k2 } })));

async function drain(s: Spool): Promise<{ got: string[]; skipped: number }> {
  const got: string[] = [];
  let skipped = 0;
  for (;;) {
    const b = await s.read(7, 4096);
    if (b.records.length === 0 && b.skipped === 0) return { got, skipped };
    for (const r of b.records) got.push(r.value.toString());
    skipped += b.skipped;
    s.commit(b.end, b.bytes, b.records.length + b.skipped);
  }
}

const segBytes = (dir: string): Buffer => Buffer.concat(readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().map((f) => readFileSync(join(dir, f))));

describe('Spool, sealed', () => {
  it('writes nothing in clear, and reads back in order across a reopen and a key rotation', async () => {
    const dir = dirOf();
    const a = Spool.open(dir, { maxBytes: 1e9, cipher: ring1 });
    for (let i = 0; i < 20; i++) a.append(0, `user-${i}`, Buffer.from(`secret-value-${i}`));
    await a.close();
    const disk = segBytes(dir);
    expect(disk.includes('secret-value')).toBe(false);
    expect(disk.includes('user-')).toBe(false);
    const b = Spool.open(dir, { maxBytes: 1e9, cipher: ring2 }); // rotated: k2 current, k1 still opens
    for (let i = 20; i < 30; i++) b.append(0, 'u', Buffer.from(`secret-value-${i}`));
    await b.flush();
    const { got, skipped } = await drain(b);
    expect(skipped).toBe(0);
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => `secret-value-${i}`));
    expect(b.pendingRecords).toBe(0);
    await b.close();
  });

  it('drains plain records written before encryption was turned on', async () => {
    const dir = dirOf();
    const plain = Spool.open(dir, { maxBytes: 1e9 });
    plain.append(1, null, Buffer.from('old-plain'));
    await plain.close();
    const sealed = Spool.open(dir, { maxBytes: 1e9, cipher: ring1 });
    sealed.append(0, 'k', Buffer.from('new-sealed'));
    await sealed.flush();
    expect((await drain(sealed)).got).toEqual(['old-plain', 'new-sealed']);
    await sealed.close();
  });

  it('a tampered record is refused by its tag, counted and reported; the records after it still drain', async () => {
    const dir = dirOf();
    const a = Spool.open(dir, { maxBytes: 1e9, cipher: ring1 });
    for (let i = 0; i < 5; i++) a.append(0, 'k', Buffer.from(`value-${i}`));
    await a.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    const bytes = readFileSync(join(dir, seg));
    // Flip one byte inside the third record's ciphertext.
    let off = 0;
    for (let r = 0; r < 2; r++) off += 4 + bytes.readUInt32BE(off);
    bytes[off + 4 + 24] = bytes[off + 4 + 24]! ^ 0x01;
    writeFileSync(join(dir, seg), bytes);
    const reports: string[] = [];
    const b = Spool.open(dir, { maxBytes: 1e9, cipher: ring1, onCorrupt: (code) => reports.push(code) });
    const { got, skipped } = await drain(b);
    expect(got).toEqual(['value-0', 'value-1', 'value-3', 'value-4']);
    expect(skipped).toBe(1);
    expect(reports).toEqual(['CIPHER_TAG_MISMATCH']);
    expect(b.corrupt).toBe(1);
    expect(b.pendingRecords).toBe(0);
    await b.close();
  });

  it('a sealed spool opened without its keyring reports every record as unopenable instead of decoding garbage', async () => {
    const dir = dirOf();
    const a = Spool.open(dir, { maxBytes: 1e9, cipher: ring1 });
    a.append(0, 'k', Buffer.from('v'));
    await a.close();
    const reports: string[] = [];
    const b = Spool.open(dir, { maxBytes: 1e9, onCorrupt: (code) => reports.push(code) });
    const { got, skipped } = await drain(b);
    expect(got).toEqual([]);
    expect(skipped).toBe(1);
    expect(reports).toEqual(['CIPHER_UNKNOWN_KEY']);
    await b.close();
  });
});
