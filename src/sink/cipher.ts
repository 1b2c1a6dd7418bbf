/**
 * Encryption at rest for the spool and the file sinks (seed §6: AES-256 at rest): AES-256-GCM
 * from node:crypto, keys from a keyring so they can be rotated, records that say which key
 * sealed them, and a framed stream a reader can recover from.
 *
 * Sealed record (all integers big-endian):
 *   "SG" | version 1 | key id length k (1–64) | key id (ASCII) | IV (12 random bytes) | ciphertext | tag (16)
 * The header (everything before the IV) is authenticated as additional data, with the
 * caller's `aad` if given, so a changed key id or version is refused, never decrypted wrongly.
 * Random 96-bit IVs: NIST SP 800-38D bounds one key to 2^32 records; rotate well before.
 *
 * Frame stream: u32 length | sealed record, repeated. `openFrames` returns every record that
 * opens, counts each that does not (tampered, unknown key) and goes on with the next, finds
 * the next frame by its header when a length itself was damaged, and tells a torn tail (a
 * crash mid-append: truncate the file there) from damage in the middle.
 *
 * Keyring, as JSON in a file (KEYRING_FILE) or an environment variable (KEYRING_ENV):
 *   {"current": "2026-11", "keys": {"2026-11": "<32 bytes, base64 or 64 hex>", "2026-05": "…"}}
 * Rotation: add a key, make it current, restart; records sealed with the old key still open
 * as long as it stays in the ring. Remove a key only after every record it sealed is gone.
 *
 * How the sinks are meant to use it (wiring is another change):
 *   const cipher = new RecordCipher(loadKeyring({ file: cfg.sinkKeyFile, env: process.env }));  // once, at start
 *   spool:      value = cipher.seal(avroBytes) when appending; cipher.open(value) in the sender.
 *   file sink:  write cipher.sealFrame(Buffer.from(JSON.stringify(ev))) instead of a JSON line;
 *               read back with openFrames(fileBytes, cipher); truncate to `tornTailAt` on start.
 * Errors are CipherError with a stable `code`; they never reach a client (an unreadable record
 * is an operator's problem: a lost key or a damaged disk), so they are not in core/errors.ts.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const CIPHER_CODES = [
  'CIPHER_TRUNCATED', // shorter than a header, IV and tag
  'CIPHER_BAD_FORMAT', // not a sealed record: wrong magic, version or key id length
  'CIPHER_UNKNOWN_KEY', // sealed with a key id the ring does not hold
  'CIPHER_TAG_MISMATCH', // authentication failed: tampered, cut short, wrong key or wrong aad
  'CIPHER_BAD_FRAME', // a frame length that cannot be right (openFrames only)
  'CIPHER_BAD_KEYRING', // the keyring file or variable is unusable (at start)
] as const;
export type CipherErrorCode = (typeof CIPHER_CODES)[number];

export class CipherError extends Error {
  readonly code: CipherErrorCode;
  constructor(code: CipherErrorCode, message: string) {
    super(message);
    this.name = 'CipherError';
    this.code = code;
  }
}

const MAGIC0 = 0x53; // S
const MAGIC1 = 0x47; // G
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_KEY_ID = 64;
const KEY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** The shortest sealed record: a one-character key id and an empty plaintext. */
export const MIN_SEALED = 4 + 1 + IV_BYTES + TAG_BYTES;
const EMPTY = Buffer.alloc(0);

export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

function badRing(why: string): never {
  throw new CipherError('CIPHER_BAD_KEYRING', `keyring: ${why}`);
}

function decodeKey(id: string, text: unknown): Buffer {
  if (typeof text !== 'string') badRing(`key ${id} must be a string (base64 or hex)`);
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) badRing(`key ${id} must be 32 bytes (AES-256), got ${key.length}`);
  return key;
}

/** A keyring from its JSON text. Throws CIPHER_BAD_KEYRING naming what is wrong (never a key). */
export function parseKeyring(text: string): Keyring {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    badRing('not JSON');
  }
  if (typeof v !== 'object' || v === null) badRing('must be an object {"current", "keys"}');
  const o = v as { current?: unknown; keys?: unknown };
  if (typeof o.keys !== 'object' || o.keys === null || Array.isArray(o.keys)) badRing('"keys" must be an object of key id → key');
  const keys = new Map<string, Buffer>();
  for (const [id, k] of Object.entries(o.keys as Record<string, unknown>)) {
    if (!KEY_ID.test(id)) badRing(`key id ${JSON.stringify(id.slice(0, 70))} must be 1–64 of A-Z a-z 0-9 . _ : -`);
    keys.set(id, decodeKey(id, k));
  }
  if (typeof o.current !== 'string' || !keys.has(o.current)) badRing('"current" must name one of the keys');
  return { current: o.current, keys };
}

export function keyringFromFile(path: string): Keyring {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    badRing(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseKeyring(text);
}

/** The keyring from a file if given, else from an environment variable; null when neither is set. */
export function loadKeyring(opts: { file?: string | null; env?: NodeJS.ProcessEnv; variable?: string }): Keyring | null {
  if (opts.file) return keyringFromFile(opts.file);
  const text = (opts.env ?? process.env)[opts.variable ?? 'SCOREGATE_SINK_KEYRING'];
  return text ? parseKeyring(text) : null;
}

export class RecordCipher {
  private readonly keys = new Map<string, KeyObject>();
  private readonly header: Buffer; // the current key's header, made once
  private readonly currentKey: KeyObject;

  constructor(ring: Keyring) {
    for (const [id, k] of ring.keys) this.keys.set(id, createSecretKey(k));
    const id = Buffer.from(ring.current, 'latin1');
    this.header = Buffer.concat([Buffer.from([MAGIC0, MAGIC1, VERSION, id.length]), id]);
    this.currentKey = this.keys.get(ring.current)!;
  }

  /** plain sealed with the current key. */
  seal(plain: Buffer, aad: Buffer = EMPTY): Buffer {
    return this.sealAt(plain, aad, 0);
  }

  /** A frame: u32 length, then plain sealed with the current key (one buffer). */
  sealFrame(plain: Buffer, aad: Buffer = EMPTY): Buffer {
    const out = this.sealAt(plain, aad, 4);
    out.writeUInt32BE(out.length - 4, 0);
    return out;
  }

  private sealAt(plain: Buffer, aad: Buffer, at: number): Buffer {
    const h = this.header.length;
    const out = Buffer.allocUnsafe(at + h + IV_BYTES + plain.length + TAG_BYTES);
    this.header.copy(out, at);
    const ivAt = at + h;
    randomFillSync(out, ivAt, IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.currentKey, out.subarray(ivAt, ivAt + IV_BYTES));
    c.setAAD(aad.length === 0 ? out.subarray(at, ivAt) : Buffer.concat([out.subarray(at, ivAt), aad]));
    let w = ivAt + IV_BYTES;
    w += c.update(plain).copy(out, w);
    w += c.final().copy(out, w); // empty for GCM
    c.getAuthTag().copy(out, w);
    return out;
  }

  /** The key id a sealed record names (to re-seal old records after a rotation). */
  keyIdOf(sealed: Buffer): string {
    return sealed.toString('latin1', 4, 4 + parseHeader(sealed));
  }

  /** The plaintext, or a CipherError: never bytes that did not authenticate. */
  open(sealed: Buffer, aad: Buffer = EMPTY): Buffer {
    const k = parseHeader(sealed);
    const h = 4 + k;
    const id = sealed.toString('latin1', 4, h);
    const key = this.keys.get(id);
    if (key === undefined) throw new CipherError('CIPHER_UNKNOWN_KEY', `sealed with key ${JSON.stringify(id)}, which the keyring does not hold`);
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(h, h + IV_BYTES));
    d.setAAD(aad.length === 0 ? sealed.subarray(0, h) : Buffer.concat([sealed.subarray(0, h), aad]));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = d.update(sealed.subarray(h + IV_BYTES, sealed.length - TAG_BYTES));
    try {
      d.final();
    } catch {
      throw new CipherError('CIPHER_TAG_MISMATCH', 'record does not authenticate: tampered, cut short, or sealed with another key or context');
    }
    return body;
  }
}

/** Checks magic, version and lengths; returns the key id length. */
function parseHeader(sealed: Buffer): number {
  if (sealed.length < 4) throw new CipherError('CIPHER_TRUNCATED', `record of ${sealed.length} bytes is shorter than a header`);
  if (sealed[0] !== MAGIC0 || sealed[1] !== MAGIC1) throw new CipherError('CIPHER_BAD_FORMAT', 'not a sealed record (bad magic)');
  if (sealed[2] !== VERSION) throw new CipherError('CIPHER_BAD_FORMAT', `unknown sealed record version ${sealed[2]}`);
  const k = sealed[3]!;
  if (k === 0 || k > MAX_KEY_ID) throw new CipherError('CIPHER_BAD_FORMAT', `bad key id length ${k}`);
  if (sealed.length < 4 + k + IV_BYTES + TAG_BYTES) {
    throw new CipherError('CIPHER_TRUNCATED', `record of ${sealed.length} bytes is shorter than its header, IV and tag`);
  }
  return k;
}

export interface BadFrame {
  /** Where the bad frame (or damaged stretch) starts, and how many bytes were skipped. */
  offset: number;
  length: number;
  code: CipherErrorCode;
}

export interface FrameScan {
  /** Every record that opened, in order. */
  records: Buffer[];
  /** Frames that did not open, and stretches skipped to find the next frame. */
  bad: BadFrame[];
  /** Where an incomplete last frame starts (a torn append): truncate here. Null: none. */
  tornTailAt: number | null;
}

export interface FrameOptions {
  aad?: Buffer;
  /** A length above this is damage, not a record (default 16 MiB). */
  maxFrameBytes?: number;
}

/** Bytes present at `at` agree with a sealed header ("SG", version); missing bytes agree. */
function headerAgrees(buf: Buffer, at: number): boolean {
  return (at >= buf.length || buf[at] === MAGIC0) && (at + 1 >= buf.length || buf[at + 1] === MAGIC1) && (at + 2 >= buf.length || buf[at + 2] === VERSION);
}

const FRAME_MAGIC = Buffer.from([MAGIC0, MAGIC1, VERSION]);

function frameStartsAt(buf: Buffer, at: number, max: number): boolean {
  if (buf.length - at < 4) return true; // a torn tail may start here
  const len = buf.readUInt32BE(at);
  return len >= MIN_SEALED && len <= max && headerAgrees(buf, at + 4);
}

/** Opens a stream of frames; see the header comment for what it recovers from. */
export function openFrames(buf: Buffer, cipher: RecordCipher, opts: FrameOptions = {}): FrameScan {
  const aad = opts.aad ?? EMPTY;
  const max = opts.maxFrameBytes ?? 16 * 1024 * 1024;
  const records: Buffer[] = [];
  const bad: BadFrame[] = [];
  let tornTailAt: number | null = null;
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) {
      tornTailAt = off;
      break;
    }
    const len = buf.readUInt32BE(off);
    const start = off + 4;
    const end = start + len;
    const plausible = len >= MIN_SEALED && len <= max && headerAgrees(buf, start);
    if (plausible && end <= buf.length) {
      let code: CipherErrorCode;
      try {
        records.push(cipher.open(buf.subarray(start, end), aad));
        off = end;
        continue;
      } catch (err) {
        code = err instanceof CipherError ? err.code : 'CIPHER_TAG_MISMATCH';
      }
      // Refused. If a frame starts right after it, only this record is bad; if not, its
      // length was damaged too, and the next good frame is searched for below.
      if (end === buf.length || frameStartsAt(buf, end, max)) {
        bad.push({ offset: off, length: end - off, code });
        off = end;
        continue;
      }
    }
    // A length that runs past the end or cannot be right: a torn tail only if no good frame follows.
    const next = resync(buf, off + 1, cipher, aad, max);
    if (next === -1) {
      if (plausible) tornTailAt = off;
      else bad.push({ offset: off, length: buf.length - off, code: 'CIPHER_BAD_FRAME' });
      break;
    }
    bad.push({ offset: off, length: next - off, code: 'CIPHER_BAD_FRAME' });
    off = next;
  }
  return { records, bad, tornTailAt };
}

/** The offset of the next frame at or after `from` that opens, or -1. */
function resync(buf: Buffer, from: number, cipher: RecordCipher, aad: Buffer, max: number): number {
  for (let q = buf.indexOf(FRAME_MAGIC, from + 4); q !== -1; q = buf.indexOf(FRAME_MAGIC, q + 1)) {
    const p = q - 4;
    const len = buf.readUInt32BE(p);
    if (len < MIN_SEALED || len > max || q + len > buf.length) continue;
    try {
      cipher.open(buf.subarray(q, q + len), aad);
      return p;
    } catch {
      // not a frame boundary after all
    }
  }
  return -1;
}
