/** The spool on real files: order, durability across reopen, torn tails, rotation, accounting. */
import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool } from './spool.js';

const dirOf = (): string => mkdtempSync(join(tmpdir(), 'spool-'));

async function drain(s: Spool, max = 7): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const b = await s.read(max, 4096);
    if (b.records.length === 0) return out;
    for (const r of b.records) out.push(`${r.topic}:${r.key?.toString() ?? '∅'}:${r.value.toString()}`);
    s.commit(b.end, b.bytes, b.records.length);
  }
}

describe('Spool', () => {
  it('gives records back in order, across segment rotations, and deletes acknowledged segments', async () => {
    const dir = dirOf();
    const s = Spool.open(dir, { maxBytes: 1e9, segmentBytes: 300 });
    for (let i = 0; i < 100; i++) s.append(i % 2, i % 3 === 0 ? null : `k${i}`, Buffer.from(`v${i}`));
    await s.flush();
    expect(s.pendingRecords).toBe(100);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(3);
    const got = await drain(s);
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `${i % 2}:${i % 3 === 0 ? '∅' : `k${i}`}:v${i}`));
    expect(s.pendingBytes).toBe(0);
    expect(s.pendingRecords).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeLessThanOrEqual(1);
    await s.close();
  });

  it('keeps unacknowledged records across a restart, and only those', async () => {
    const dir = dirOf();
    const s = Spool.open(dir, { maxBytes: 1e9, segmentBytes: 1000 });
    for (let i = 0; i < 50; i++) s.append(0, 'k', Buffer.from(`a${i}`));
    await s.flush();
    const b = await s.read(20, 1e6);
    s.commit(b.end, b.bytes, b.records.length);
    await s.close();
    const s2 = Spool.open(dir, { maxBytes: 1e9, segmentBytes: 1000 });
    expect(s2.pendingRecords).toBe(30);
    s2.append(0, 'k', Buffer.from('after'));
    await s2.flush();
    const got = await drain(s2);
    expect(got).toEqual([...Array.from({ length: 30 }, (_, i) => `0:k:a${i + 20}`), '0:k:after']);
    await s2.close();
  });

  it('drops a torn last record (crash mid-write) and keeps the rest', async () => {
    const dir = dirOf();
    const s = Spool.open(dir, { maxBytes: 1e9 });
    for (let i = 0; i < 5; i++) s.append(0, null, Buffer.from(`r${i}`));
    await s.close();
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    appendFileSync(join(dir, seg), Buffer.from([0, 0, 0, 50, 0, 0xff])); // header of a record never finished
    const s2 = Spool.open(dir, { maxBytes: 1e9 });
    expect(await drain(s2)).toEqual(['0:∅:r0', '0:∅:r1', '0:∅:r2', '0:∅:r3', '0:∅:r4']);
    await s2.close();
  });

  it('starts from the oldest segment when the cursor file is torn (re-sends, never loses)', async () => {
    const dir = dirOf();
    const s = Spool.open(dir, { maxBytes: 1e9 });
    for (let i = 0; i < 3; i++) s.append(0, null, Buffer.from(`c${i}`));
    await s.flush();
    const b = await s.read(2, 1e6);
    s.commit(b.end, b.bytes, b.records.length);
    await s.close();
    writeFileSync(join(dir, 'cursor.json'), '{"seg":');
    const s2 = Spool.open(dir, { maxBytes: 1e9 });
    expect(await drain(s2)).toEqual(['0:∅:c0', '0:∅:c1', '0:∅:c2']);
    await s2.close();
  });

  it('reports full at its bound instead of dropping', async () => {
    const s = Spool.open(dirOf(), { maxBytes: 1000 });
    let i = 0;
    while (!s.full) s.append(0, null, Buffer.from(`x${i++}`.padEnd(40, '.')));
    expect(s.pendingBytes).toBeGreaterThanOrEqual(1000);
    await s.flush();
    expect((await drain(s, 1000)).length).toBe(i);
    expect(s.full).toBe(false);
    await s.close();
  });
});
