/**
 * Reading a request body from uWS within a byte limit. uWS hands out chunks that are only valid
 * during the callback, so they are decoded (single chunk, the common case) or copied at once.
 */
import type { HttpResponse } from 'uWebSockets.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'bad_utf8' } | { ok: false; reason: 'too_large'; drained: boolean };

/**
 * Reads the body within `limit` bytes. Past the limit the rest is read and discarded, up to
 * `lingerBytes` more, before reporting too_large: a client still writing its body would
 * otherwise get EPIPE/ECONNRESET instead of the 413 (nginx's lingering close does the same).
 * `drained` says whether the whole body was read (keep the connection) or the linger bound hit
 * first (close it).
 */
export function readBody(res: HttpResponse, limit: number, lingerBytes: number, done: (r: BodyResult) => void): void {
  let chunks: Buffer[] | null = null;
  let size = 0;
  let finished = false;
  let over = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    size += chunk.byteLength;
    if (over || size > limit) {
      over = true;
      chunks = null;
      if (isLast || size > limit + lingerBytes) {
        finished = true;
        done({ ok: false, reason: 'too_large', drained: isLast });
      }
      return;
    }
    if (isLast && chunks === null) {
      finished = true;
      let text: string;
      try {
        text = utf8.decode(chunk); // decodes straight out of uWS's buffer: no intermediate copy
      } catch {
        done({ ok: false, reason: 'bad_utf8' });
        return;
      }
      done({ ok: true, text });
      return;
    }
    (chunks ??= []).push(Buffer.from(new Uint8Array(chunk))); // copy: the chunk dies after this call
    if (isLast) {
      finished = true;
      let text: string;
      try {
        text = utf8.decode(Buffer.concat(chunks, size));
      } catch {
        done({ ok: false, reason: 'bad_utf8' });
        return;
      }
      done({ ok: true, text });
    }
  });
}

/** The body's exact bytes (for signatures), within `limit`; null when over it. */
export function readRawBody(res: HttpResponse, limit: number, done: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    size += chunk.byteLength;
    if (size > limit) {
      finished = true;
      return done(null);
    }
    chunks.push(Buffer.from(new Uint8Array(chunk))); // copy: the chunk dies after this call
    if (isLast) {
      finished = true;
      done(Buffer.concat(chunks, size));
    }
  });
}
