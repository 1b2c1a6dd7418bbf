/**
 * The API keys file: JSON `{"version": 1, "keys": [record, …]}`, one record per key ever
 * created. A record holds the key's id, name, roles, the SHA-256 digest of its secret (never
 * the secret), when it was created and, once revoked, when. Written whole to a temporary file
 * with mode 0600 and renamed over the old one, so a reader (the gateway reloading it) sees the
 * old file or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isRole, type Role } from './roles.js';

export interface KeyRecord {
  id: string;
  name: string;
  roles: Role[];
  /** base64url SHA-256 digest (api-key.ts digestOf). */
  sha256: string;
  createdAt: string;
  revokedAt?: string;
  /** This key's own rate limit, overriding AUTH_RATE_PER_S / AUTH_RATE_BURST (ratePerS 0: none). */
  ratePerS?: number;
  burst?: number;
}

export class KeysFileError extends Error {
  constructor(path: string, message: string) {
    super(`keys file ${path}: ${message}`);
    this.name = 'KeysFileError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalCount(r: Record<string, unknown>, field: string, where: string, path: string): number | undefined {
  const v = r[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new KeysFileError(path, `${where}: ${field} must be a whole number ≥ 0`);
  return v;
}

function record(v: unknown, i: number, path: string): KeyRecord {
  const where = `keys[${i}]`;
  if (!isObject(v)) throw new KeysFileError(path, `${where} is not an object`);
  const { id, name, roles, sha256, createdAt, revokedAt } = v;
  if (typeof id !== 'string' || !/^[0-9a-f]{12}$/.test(id)) throw new KeysFileError(path, `${where}: id must be 12 hex digits`);
  if (typeof name !== 'string') throw new KeysFileError(path, `${where}: name must be a string`);
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r): r is Role => typeof r === 'string' && isRole(r))) {
    throw new KeysFileError(path, `${where}: roles must be a non-empty list of known roles`);
  }
  if (typeof sha256 !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sha256)) throw new KeysFileError(path, `${where}: sha256 must be a base64url SHA-256 digest`);
  if (typeof createdAt !== 'string') throw new KeysFileError(path, `${where}: createdAt must be a string`);
  if (revokedAt !== undefined && typeof revokedAt !== 'string') throw new KeysFileError(path, `${where}: revokedAt must be a string`);
  const out: KeyRecord = { id, name, roles, sha256, createdAt };
  if (revokedAt !== undefined) out.revokedAt = revokedAt;
  const ratePerS = optionalCount(v, 'ratePerS', where, path);
  const burst = optionalCount(v, 'burst', where, path);
  if (ratePerS !== undefined) out.ratePerS = ratePerS;
  if (burst !== undefined) out.burst = burst;
  return out;
}

/** Parses and checks the file's text; throws KeysFileError naming what is wrong (never a digest). */
export function parseKeysFile(text: string, path: string): KeyRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeysFileError(path, 'is not valid JSON');
  }
  if (!isObject(doc) || doc['version'] !== 1 || !Array.isArray(doc['keys'])) throw new KeysFileError(path, 'must be {"version": 1, "keys": [...]}');
  const keys = doc['keys'].map((k, i) => record(k, i, path));
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.id)) throw new KeysFileError(path, `key id ${k.id} appears twice`);
    seen.add(k.id);
  }
  return keys;
}

/** The records in `path`; a missing file is an empty list when `missingOk`. */
export function readKeysFile(path: string, missingOk = false): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (missingOk) return [];
      throw new KeysFileError(path, 'does not exist (create a key with `keys create`)');
    }
    throw new KeysFileError(path, `cannot be read: ${(err as Error).message}`);
  }
  return parseKeysFile(text, path);
}

/** Replaces the file atomically, readable by its owner only. */
export function writeKeysFile(path: string, keys: readonly KeyRecord[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, keys }, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
