/**
 * `keys` commands of the CLI, on the file AUTH_KEYS_FILE names (or --file):
 *   keys create --role R [--role R…] --name NAME [--rate N] [--burst N]
 *                       prints the new key once on stdout; the file keeps only its digest
 *   keys list [--json]  every key without secrets: id, name, roles, created, revoked
 *   keys revoke ID      marks the key revoked; a running gateway drops it within a second
 * Changes take a lock file beside the keys file so two commands cannot lose each other's write.
 */
import { closeSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { AuditTrail } from '../audit/trail.js';
import { loadConfig } from '../core/config.js';
import { loadKeyring, RecordCipher } from '../sink/cipher.js';
import { generateKey } from './api-key.js';
import { readKeysFile, writeKeysFile, type KeyRecord } from './keys-file.js';
import { isRole, ROLES, type Role } from './roles.js';

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

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`keys create: --${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function create(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: { role: { type: 'string', multiple: true }, name: { type: 'string' }, file: { type: 'string' }, rate: { type: 'string' }, burst: { type: 'string' } },
  });
  const roles = (values.role ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '');
  if (roles.length === 0) throw new Error(`keys create: --role is required (${ROLES.join(', ')})`);
  for (const r of roles) if (!isRole(r)) throw new Error(`keys create: unknown role ${JSON.stringify(r)} (${ROLES.join(', ')})`);
  if (values.name === undefined || values.name.trim() === '') throw new Error('keys create: --name NAME is required (who the key is for)');
  const path = keysPath(values.file);
  const ratePerS = count('rate', values.rate);
  const burst = count('burst', values.burst);
  const made = generateKey();
  withLock(path, () => {
    const keys = readKeysFile(path, true);
    const record: KeyRecord = { id: made.id, name: values.name!.trim(), roles: [...new Set(roles)] as Role[], sha256: made.digest, createdAt: new Date().toISOString() };
    if (ratePerS !== undefined) record.ratePerS = ratePerS;
    if (burst !== undefined) record.burst = burst;
    writeKeysFile(path, [...keys, record]);
  });
  auditKey('key.create', made.id, { name: values.name.trim(), roles: roles.join(' ') });
  console.error(`keys: created ${made.id} (${values.name}, ${roles.join(' ')}) in ${path}; the key below is shown once: store it now`);
  console.log(made.key);
}

function list(args: string[]): void {
  const { values } = parseArgs({ args, options: { file: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const keys = readKeysFile(keysPath(values.file), true);
  // Only what identifies a key: never its digest.
  const rows = keys.map(({ id, name, roles, createdAt, revokedAt, ratePerS, burst }) => ({ id, name, roles, createdAt, revokedAt: revokedAt ?? null, ratePerS: ratePerS ?? null, burst: burst ?? null }));
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(['id', 'name', 'roles', 'created', 'status'].join('\t'));
  for (const r of rows) console.log([r.id, r.name, r.roles.join(','), r.createdAt, r.revokedAt === null ? 'active' : `revoked ${r.revokedAt}`].join('\t'));
}

function revoke(args: string[]): void {
  const { values, positionals } = parseArgs({ args, options: { file: { type: 'string' } }, allowPositionals: true });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new Error('keys revoke: give one key ID (see keys list)');
  const path = keysPath(values.file);
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

export function keysCommand(args: string[]): void {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest);
    case 'list':
      return list(rest);
    case 'revoke':
      return revoke(rest);
    default:
      throw new Error('keys: use keys create --role R --name NAME, keys list or keys revoke ID');
  }
}
