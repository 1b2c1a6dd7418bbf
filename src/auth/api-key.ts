/**
 * API keys: `sk_<keyId>_<secret>`. The key id (12 hex digits) is in clear so a lookup is one
 * Map get; the secret is 32 random bytes in base64url, and only its SHA-256 digest is stored.
 *
 * Why SHA-256 and not scrypt: scrypt and its kind slow down guessing low-entropy passwords. A
 * 256-bit random secret cannot be guessed whatever the hash costs, so a slow hash would buy no
 * security and cost ~36 ms of CPU per request (scryptSync N=16384 on this machine) — or need a
 * cache of verified keys under a fast hash, which is then what really protects them. SHA-256
 * of the presented secret costs ~2 µs (measured: 100k digests of a key-sized string), so the
 * in-memory map of expected digests by key id is the cache: nothing slower sits behind it.
 * Digests are compared with timingSafeEqual, and an unknown key id is compared against a
 * dummy digest, so timing tells neither which ids exist nor how much of a secret matched.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'sk_';
const ID_RE = /^[0-9a-f]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedKey {
  id: string;
  secret: string;
}

/** A new key: its id, the full key to hand out once, and the digest to store. */
export function generateKey(): { id: string; key: string; digest: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `${KEY_PREFIX}${id}_${secret}`, digest: digestOf(id, secret).toString('base64url') };
}

/** `sk_<id>_<secret>` split, or null when the string is not shaped like a key. */
export function parseKey(token: string): ParsedKey | null {
  if (!token.startsWith(KEY_PREFIX)) return null;
  const sep = token.indexOf('_', KEY_PREFIX.length);
  if (sep < 0) return null;
  const id = token.slice(KEY_PREFIX.length, sep);
  const secret = token.slice(sep + 1);
  if (!ID_RE.test(id) || !SECRET_RE.test(secret)) return null;
  return { id, secret };
}

/** The stored digest: SHA-256 over the id and the secret (the id binds a digest to its record). */
export function digestOf(id: string, secret: string): Buffer {
  return createHash('sha256').update(`scoregate-api-key:${id}:${secret}`).digest();
}

const DUMMY = Buffer.alloc(32);

/** Constant-time check of a secret against the stored digest; `expected` null (unknown id) costs the same and fails. */
export function secretMatches(id: string, secret: string, expected: Buffer | null): boolean {
  const actual = digestOf(id, secret);
  const same = timingSafeEqual(actual, expected ?? DUMMY);
  return same && expected !== null;
}
