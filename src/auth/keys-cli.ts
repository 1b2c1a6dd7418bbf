/**
 * What the CLI's `keys` commands do (arguments are parsed in src/cli/keys.ts), on the file
 * AUTH_KEYS_FILE names (or --file):
 *   keys create --role R [--role R…] --name NAME [--rate N] [--burst N]
 *                       prints the new key once on stdout; the file keeps only its digest
 *   keys list [--json]  every key without secrets: id, name, roles, created, revoked
 *   keys revoke ID      marks the key revoked; a running gateway drops it within a second
 * Changes take a lock file beside the keys file so two commands cannot lose each other's write.
 */
import { closeSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { AuditTrail } from '../audit/trail.js';
import { loadConfig } from '../core/config.js';
import { loadKeyring, RecordCipher } from '../sink/cipher.js';
import { generateKey } from './api-key.js';
import { readKeysFile, writeKeysFile, type KeyRecord } from './keys-file.js';
import type { Role } from './roles.js';

function keysPath(file: string | undefined): string {
  const path = file ?? process.env['AUTH_KEYS_FILE'] ?? '';
  if (path === '') throw new Error('keys: set AUTH_KEYS_FILE (or pass --file FILE) to name the keys file');
  return resolve(path);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `f` holding `<path>.lock` (created exclusively), waiting up to 5 s for another holder. */
function withLock<T>(path: string, f: () => T): T {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let waited = 0; ; waited += 50) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (waited >= 5000) throw new Error(`keys: ${lock} is held by another keys command (remove it if none is running)`);
      sleepMs(50);
    }
  }
  try {
    return f();
  } finally {
    unlinkSync(lock);
  }
}

export interface NewKey {
  /** The keys file; AUTH_KEYS_FILE when undefined. */
  file: string | undefined;
  name: string;
  roles: Role[];
  ratePerS?: number;
  burst?: number;
}

/** Adds a key to the file and prints it once on stdout; the file keeps only its digest. */
export function createKey(k: NewKey): void {
  const path = keysPath(k.file);
  const made = generateKey();
  withLock(path, () => {
    const keys = readKeysFile(path, true);
    const record: KeyRecord = { id: made.id, name: k.name, roles: [...new Set(k.roles)], sha256: made.digest, createdAt: new Date().toISOString() };
    if (k.ratePerS !== undefined) record.ratePerS = k.ratePerS;
    if (k.burst !== undefined) record.burst = k.burst;
    writeKeysFile(path, [...keys, record]);
  });
  auditKey('key.create', made.id, { name: k.name, roles: k.roles.join(' ') });
  console.error(`keys: created ${made.id} (${k.name}, ${k.roles.join(' ')}) in ${path}; the key below is shown once: store it now`);
  console.log(made.key);
}

/** Prints every key without secrets: a table, or JSON. */
export function listKeys(file: string | undefined, json: boolean): void {
  const keys = readKeysFile(keysPath(file), true);
  // Only what identifies a key: never its digest.
  const rows = keys.map(({ id, name, roles, createdAt, revokedAt, ratePerS, burst }) => ({ id, name, roles, createdAt, revokedAt: revokedAt ?? null, ratePerS: ratePerS ?? null, burst: burst ?? null }));
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(['id', 'name', 'roles', 'created', 'status'].join('\t'));
  for (const r of rows) console.log([r.id, r.name, r.roles.join(','), r.createdAt, r.revokedAt === null ? 'active' : `revoked ${r.revokedAt}`].join('\t'));
}

/** Marks key `id` revoked; a running gateway drops it within a second. */
export function revokeKey(file: string | undefined, id: string): void {
  const path = keysPath(file);
  const outcome = withLock(path, () => {
    const keys = readKeysFile(path);
    const key = keys.find((k) => k.id === id);
    if (key === undefined) throw new Error(`keys revoke: no key ${JSON.stringify(id)} in ${path}`);
    if (key.revokedAt !== undefined) return `already revoked ${key.revokedAt}`;
    key.revokedAt = new Date().toISOString();
    writeKeysFile(path, keys);
    return 'revoked';
  });
  if (outcome === 'revoked') auditKey('key.revoke', id, {});
  console.error(`keys: ${id} ${outcome}`);
}

/** Keys created and revoked go to the gateway's audit trail (AUDIT_FILE), as the OS user who ran the command. */
function auditKey(action: string, id: string, details: Record<string, string>): void {
  const config = loadConfig();
  const ring = loadKeyring({ file: config.sinkKeyringFile === '' ? null : config.sinkKeyringFile });
  new AuditTrail(config.auditFile, ring === null ? null : new RecordCipher(ring)).record({ user: `cli:${userInfo().username}`, action, resource: `key:${id}`, outcome: 'success', details });
}
