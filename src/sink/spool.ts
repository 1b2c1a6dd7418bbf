/**
 * A durable, bounded, append-only spool: every event bound for Kafka is appended here first
 * and sent from here, in order, so nothing is lost while the broker is down or across a
 * restart. Segment files `<n>.seg` hold length-prefixed records; `cursor.json` says how far
 * the broker has acknowledged. Appends are buffered and written once per event-loop turn
 * (never on the request path), and synced to disk every SYNC_MS.
 *
 * Record: u32 length | u8 topic | u16 key length (0xffff: null key) | key | value.
 * Encrypted (SpoolOptions.cipher, SINK_KEYRING_FILE): u32 length | sealed(topic | key length |
 * key | value) — AES-256-GCM, the key id inside (src/sink/cipher.ts). A sealed record starts
 * with "SG", a plain one with a topic byte (0–2), so a spool holding both still reads. A record
 * whose tag does not verify (tampered, unknown key) is refused, counted and reported through
 * `onCorrupt` — never decoded into garbage — and the records after it still drain.
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open as openAsync, type FileHandle } from 'node:fs/promises';
import { fdatasync, write } from 'node:fs';
import { join } from 'node:path';
import { CipherError, type RecordCipher } from './cipher.js';

export interface SpoolRecord {
  topic: number;
  key: Buffer | null;
  value: Buffer;
}

/** What one read returns: records to send, where they end, and how many could not be opened (skipped). */
export interface SpoolBatch {
  records: SpoolRecord[];
  end: Position;
  bytes: number;
  skipped: number;
}

export interface Position {
  seg: number;
  off: number;
}

export interface SpoolOptions {
  maxBytes: number;
  segmentBytes?: number;
  /**
   * 'interval' (default): an append is durable once written to the segment file (it survives a
   * process kill; the page cache reaches the disk at the next 100 ms fdatasync). 'always': once
   * fdatasync'd too (it survives power loss); one fdatasync covers every append of the turn.
   */
  fsync?: 'interval' | 'always';
  /** Seals every record appended (encryption at rest); null or absent: plain records. */
  cipher?: RecordCipher | null;
  /** A record that cannot be opened (tampered, truncated inside, unknown key): skipped, reported here. */
  onCorrupt?: (code: string, seg: number, off: number) => void;
}

const SEALED0 = 0x53; // 'S'
const SEALED1 = 0x47; // 'G'

const HEADER = 7;
const NULL_KEY = 0xffff;
const SYNC_MS = 100;

function segName(n: number): string {
  return `${String(n).padStart(12, '0')}.seg`;
}

interface Pending {
  seg: number;
  buf: Buffer;
  /** Sequence number of the last append in buf. */
  seq: number;
}

export class Spool {
  private readonly dir: string;
  private readonly segmentBytes: number;
  readonly maxBytes: number;
  private cursor: Position;
  /** Bytes written to disk per segment (readable); `appended` also counts those still buffered. */
  private readonly durable = new Map<number, number>();
  private readonly appended = new Map<number, number>();
  private writeSeg: number;
  private fd: number | null = null;
  private fdSeg = -1;
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private dirty = false;
  private backlogBytes = 0;
  private backlogRecords = 0;
  private readonly syncTimer: NodeJS.Timeout;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly fsyncAlways: boolean;
  private appendSeq = 0;
  private durableSeq = 0;
  /** Appends waiting to be durable, in sequence order. */
  private durableWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly cipher: RecordCipher | null;
  private readonly onCorrupt: (code: string, seg: number, off: number) => void;
  /** Records skipped because they could not be opened. */
  corrupt = 0;

  private constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.maxBytes = opts.maxBytes;
    this.fsyncAlways = opts.fsync === 'always';
    this.cipher = opts.cipher ?? null;
    this.onCorrupt = opts.onCorrupt ?? (() => undefined);
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    mkdirSync(dir, { recursive: true });
    const segs = readdirSync(dir)
      .filter((f) => /^\d{12}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 12)))
      .sort((a, b) => a - b);
    const cursorFile = join(dir, 'cursor.json');
    this.cursor = { seg: segs[0] ?? 1, off: 0 };
    if (existsSync(cursorFile)) {
      try {
        const c = JSON.parse(readFileSync(cursorFile, 'utf8')) as Position;
        if (Number.isInteger(c.seg) && Number.isInteger(c.off)) this.cursor = c;
      } catch {
        // A torn cursor (power loss): start from the oldest segment. Events are re-sent, never lost.
      }
    }
    for (const s of segs) {
      if (s < this.cursor.seg) {
        unlinkSync(join(dir, segName(s))); // fully acknowledged before a crash
        continue;
      }
      const size = this.recover(s);
      this.durable.set(s, size);
      this.appended.set(s, size);
      const from = s === this.cursor.seg ? this.cursor.off : 0;
      this.backlogBytes += size - from;
      this.backlogRecords += this.countRecords(s, from, size);
    }
    // New appends go to a fresh segment: recovered ones are only read.
    this.writeSeg = Math.max(this.cursor.seg, (segs[segs.length - 1] ?? 0) + 1);
    this.durable.set(this.writeSeg, this.durable.get(this.writeSeg) ?? 0);
    this.appended.set(this.writeSeg, this.appended.get(this.writeSeg) ?? 0);
    this.syncTimer = setInterval(() => this.sync(), SYNC_MS);
    this.syncTimer.unref();
  }

  static open(dir: string, opts: SpoolOptions): Spool {
    return new Spool(dir, opts);
  }

  /** Truncates a torn last record (a crash mid-write) and returns the segment's good length. */
  private recover(seg: number): number {
    const path = join(this.dir, segName(seg));
    const buf = readFileSync(path);
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt32BE(off);
      if (off + 4 + len > buf.length) break;
      off += 4 + len;
    }
    if (off !== buf.length) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, off);
      closeSync(fd);
    }
    return off;
  }

  private countRecords(seg: number, from: number, to: number): number {
    if (to <= from) return 0;
    const buf = readFileSync(join(this.dir, segName(seg)));
    let n = 0;
    for (let off = from; off + 4 <= to; n++) off += 4 + buf.readUInt32BE(off);
    return n;
  }

  /** Bytes appended but not yet acknowledged by the broker. */
  get pendingBytes(): number {
    return this.backlogBytes;
  }

  get pendingRecords(): number {
    return this.backlogRecords;
  }

  /** A write error (disk full, I/O error): the spool refuses more, rather than lose them. */
  failure: Error | null = null;

  get full(): boolean {
    return this.failure !== null || this.backlogBytes >= this.maxBytes;
  }

  /** Appends a record (buffered; written at the end of this turn). Never drops: the bound is checked by `full` before scoring. */
  append(topic: number, key: string | null, value: Buffer): void {
    if (this.closed) throw new Error('spool is closed');
    const keyBuf = key === null ? null : Buffer.from(key);
    const keyLen = keyBuf === null ? 0 : keyBuf.length;
    const len = HEADER - 4 + keyLen + value.length;
    let rec: Buffer = Buffer.allocUnsafe(4 + len);
    rec.writeUInt32BE(len, 0);
    rec.writeUInt8(topic, 4);
    rec.writeUInt16BE(keyBuf === null ? NULL_KEY : keyLen, 5);
    if (keyBuf !== null) keyBuf.copy(rec, HEADER);
    value.copy(rec, HEADER + keyLen);
    if (this.cipher !== null) rec = this.cipher.sealFrame(rec.subarray(4)); // u32 length | sealed
    let seg = this.writeSeg;
    if (this.appended.get(seg)! > 0 && this.appended.get(seg)! + rec.length > this.segmentBytes) {
      seg = ++this.writeSeg;
      this.durable.set(seg, 0);
      this.appended.set(seg, 0);
    }
    this.appended.set(seg, this.appended.get(seg)! + rec.length);
    this.queue.push({ seg, buf: rec, seq: ++this.appendSeq });
    this.backlogBytes += rec.length;
    this.backlogRecords++;
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => this.drainQueue());
    }
  }

  /**
   * Appends a record and resolves once it is durable (SpoolOptions.fsync says what that means).
   * Appends of one turn share one write (and one fdatasync), so waiting costs one write's time,
   * not one per event. While the disk fails, the promise waits for the retry to succeed.
   */
  appendDurable(topic: number, key: string | null, value: Buffer): Promise<void> {
    this.append(topic, key, value);
    const seq = this.appendSeq;
    return new Promise<void>((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  private markDurable(seq: number): void {
    this.durableSeq = seq;
    const ws = this.durableWaiters;
    let i = 0;
    while (i < ws.length && ws[i]!.seq <= seq) ws[i++]!.resolve();
    if (i > 0) this.durableWaiters = i === ws.length ? [] : ws.slice(i);
  }

  /** Writes everything appended so far; resolves when it is on disk (page cache). */
  async flush(deadlineMs = Infinity): Promise<void> {
    const until = Date.now() + deadlineMs;
    while ((this.queue.length > 0 || this.writing) && Date.now() < until) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        if (deadlineMs !== Infinity) setTimeout(r, 100).unref();
      });
    }
  }

  private drainQueue(): void {
    this.scheduled = false;
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    // One write per segment run: the turn's appends go down in one syscall.
    const seg = this.queue[0]!.seg;
    let i = 0;
    while (i < this.queue.length && this.queue[i]!.seg === seg) i++;
    const bufs = this.queue.slice(0, i).map((p) => p.buf);
    const lastSeq = this.queue[i - 1]!.seq;
    this.queue = this.queue.slice(i);
    const data = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
    const done = (err: NodeJS.ErrnoException | null): void => {
      if (err !== null) {
        // A full disk must not pass silently, nor crash the answers: the spool reports full, so
        // scoring is refused with SINK_FULL and /readyz fails; these bytes stay queued for a retry.
        this.failure = err;
        try {
          if (this.fd !== null && this.fdSeg === seg) ftruncateSync(this.fd, this.durable.get(seg)!); // drop a partial write: whole records only
        } catch {
          // the retry's recover-on-open handles a torn tail too
        }
        this.queue.unshift({ seg, buf: data, seq: lastSeq });
        this.writing = false;
        setTimeout(() => {
          this.failure = null;
          this.drainQueue();
        }, 1000).unref();
        return;
      }
      this.durable.set(seg, this.durable.get(seg)! + data.length);
      const finish = (): void => {
        this.markDurable(lastSeq);
        this.writing = false;
        if (this.queue.length > 0) this.drainQueue();
        else {
          const ws = this.waiters;
          this.waiters = [];
          ws.forEach((w) => w());
        }
      };
      if (!this.fsyncAlways) {
        this.dirty = true;
        return finish();
      }
      // Group commit: every append of this write waits for the one fdatasync.
      fdatasync(this.fd!, (syncErr) => {
        if (syncErr !== null) this.dirty = true; // the interval sync retries; the data was written
        finish();
      });
    };
    try {
      if (this.fdSeg !== seg) {
        if (this.fd !== null) {
          fdatasyncSync(this.fd);
          closeSync(this.fd);
          this.fd = null;
        }
        this.fd = openSync(join(this.dir, segName(seg)), 'a');
        this.fdSeg = seg;
      }
    } catch (err) {
      this.fdSeg = -1;
      return done(err as NodeJS.ErrnoException);
    }
    writeAll(this.fd!, data, 0, done);
  }

  private sync(): void {
    if (this.dirty && this.fd !== null) {
      this.dirty = false;
      try {
        fdatasyncSync(this.fd);
      } catch {
        this.dirty = true;
      }
    }
  }

  /**
   * Reads up to `maxRecords` / `maxBytes` written records from the cursor on. Returns them and
   * the position after the last; commit(position) once the broker acknowledged them.
   */
  async read(maxRecords: number, maxBytes: number): Promise<SpoolBatch> {
    let { seg, off } = this.cursor;
    // Step over segments that are complete and fully read.
    while (seg < this.writeSeg && off >= (this.durable.get(seg) ?? 0) && this.appended.get(seg) === this.durable.get(seg)) {
      seg = this.nextSeg(seg);
      off = 0;
    }
    const avail = (this.durable.get(seg) ?? 0) - off;
    if (avail <= 0) return { records: [], end: { seg, off }, bytes: 0, skipped: 0 };
    const want = Math.min(avail, maxBytes);
    let fh: FileHandle | null = null;
    let buf: Buffer;
    try {
      fh = await openAsync(join(this.dir, segName(seg)), 'r');
      buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, off);
      buf = buf.subarray(0, bytesRead);
    } finally {
      await fh?.close();
    }
    const records: SpoolRecord[] = [];
    let p = 0;
    let skipped = 0;
    while (records.length + skipped < maxRecords && p + 4 <= buf.length) {
      const len = buf.readUInt32BE(p);
      if (p + 4 + len > buf.length) {
        if (p === 0) {
          // A record bigger than maxBytes: read exactly it.
          return this.readOne(seg, off, len);
        }
        break;
      }
      const r = this.decode(buf.subarray(p + 4, p + 4 + len), seg, off + p);
      if (r !== null) records.push(r);
      else skipped++;
      p += 4 + len;
    }
    return { records, end: { seg, off: off + p }, bytes: p, skipped };
  }

  private async readOne(seg: number, off: number, len: number): Promise<SpoolBatch> {
    const fh = await openAsync(join(this.dir, segName(seg)), 'r');
    try {
      const buf = Buffer.allocUnsafe(4 + len);
      await fh.read(buf, 0, 4 + len, off);
      const r = this.decode(buf.subarray(4), seg, off);
      return { records: r === null ? [] : [r], end: { seg, off: off + 4 + len }, bytes: 4 + len, skipped: r === null ? 1 : 0 };
    } finally {
      await fh.close();
    }
  }

  /**
   * One record's body (after its length) as a SpoolRecord, opening it first when sealed; null
   * (counted, reported) when it cannot be opened. Copies: the read buffer is not kept.
   */
  private decode(body: Buffer, seg: number, off: number): SpoolRecord | null {
    let inner = body;
    if (body.length >= 2 && body[0] === SEALED0 && body[1] === SEALED1) {
      try {
        if (this.cipher === null) throw new CipherError('CIPHER_UNKNOWN_KEY', 'a sealed record, but no SINK_KEYRING is configured');
        inner = this.cipher.open(body);
      } catch (err) {
        this.corrupt++;
        this.onCorrupt(err instanceof CipherError ? err.code : 'CIPHER_BAD_FORMAT', seg, off);
        return null;
      }
    }
    if (inner.length < HEADER - 4) {
      this.corrupt++;
      this.onCorrupt('SPOOL_BAD_RECORD', seg, off);
      return null;
    }
    const keyLen = inner.readUInt16BE(1);
    const k0 = HEADER - 4;
    const key = keyLen === NULL_KEY ? null : Buffer.from(inner.subarray(k0, k0 + keyLen));
    const v0 = keyLen === NULL_KEY ? k0 : k0 + keyLen;
    return { topic: inner.readUInt8(0), key, value: Buffer.from(inner.subarray(v0)) };
  }

  private nextSeg(seg: number): number {
    let n = seg + 1;
    while (n < this.writeSeg && !this.durable.has(n)) n++;
    return n;
  }

  /** Records up to `end` were acknowledged: move the cursor there durably, drop finished segments. */
  commit(end: Position, bytes: number, records: number): void {
    const from = this.cursor.seg;
    this.cursor = { seg: end.seg, off: end.off };
    this.backlogBytes -= bytes;
    this.backlogRecords -= records;
    const tmp = join(this.dir, 'cursor.json.tmp');
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, JSON.stringify(this.cursor));
      fdatasyncSync(fd); // the rename must not expose an empty file after a power loss
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, 'cursor.json'));
    for (let s = from; s < end.seg; s++) {
      if (!this.durable.has(s)) continue;
      this.durable.delete(s);
      this.appended.delete(s);
      try {
        unlinkSync(join(this.dir, segName(s)));
      } catch {
        // already gone
      }
    }
  }

  /** Total size of segment files on disk (for tests and metrics). */
  diskBytes(): number {
    let n = 0;
    for (const s of this.durable.keys()) {
      try {
        n += statSync(join(this.dir, segName(s))).size;
      } catch {
        // not created yet
      }
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush(10_000); // a disk that keeps failing must not hang shutdown
    clearInterval(this.syncTimer);
    if (this.fd !== null) {
      fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

function writeAll(fd: number, data: Buffer, off: number, done: (err: NodeJS.ErrnoException | null) => void): void {
  write(fd, data, off, data.length - off, null, (err, n) => {
    if (err !== null) return done(err);
    if (off + n < data.length) return writeAll(fd, data, off + n, done);
    done(null);
  });
}
