/** The keys commands through the built CLI (npm run build first), as an operator runs them. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '../core/config.js';
import { parseKey } from './api-key.js';
import { Auth } from './auth.js';
import { Principal } from './principal.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scoregate-keys-cli-'));
  path = join(dir, 'conf', 'keys.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = { AUTH_KEYS_FILE: path }): { status: number | null; stdout: string; stderr: string } {
  const { AUTH_KEYS_FILE: _, ...base } = process.env;
  return spawnSync(process.execPath, [CLI, 'keys', ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('keys CLI', () => {
  it('create prints the key once on stdout; the file holds only its digest; list shows no secret; revoke makes it 401', () => {
    const made = cli(['create', '--role', 'scorer', '--role', 'streamer', '--name', 'payments-eu']);
    expect(made.status, made.stderr).toBe(0);
    const key = made.stdout.trim();
    const parsed = parseKey(key);
    expect(parsed).not.toBeNull();
    expect(made.stderr).toContain(`created ${parsed!.id}`);
    expect(made.stderr).not.toContain(parsed!.secret);

    const file = readFileSync(path, 'utf8');
    expect(file).not.toContain(parsed!.secret);
    expect(file).not.toContain(key);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const records = JSON.parse(file).keys;
    expect(records).toEqual([expect.objectContaining({ id: parsed!.id, name: 'payments-eu', roles: ['scorer', 'streamer'] })]);

    const listed = cli(['list', '--json']);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: parsed!.id, name: 'payments-eu', roles: ['scorer', 'streamer'], revokedAt: null })]);
    expect(listed.stdout).not.toContain(parsed!.secret);
    expect(listed.stdout).not.toContain(records[0].sha256);
    const table = cli(['list']);
    expect(table.stdout).toMatch(new RegExp(`^${parsed!.id}\\tpayments-eu\\tscorer,streamer\\t.*\\tactive$`, 'm'));

    const auth = Auth.create(loadConfig({ AUTH_KEYS_FILE: path }));
    expect(auth.authorize(`Bearer ${key}`, 'streamer')).toBeInstanceOf(Principal);

    const revoked = cli(['revoke', parsed!.id]);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect(JSON.parse(cli(['list', '--json']).stdout)[0].revokedAt).toEqual(expect.any(String));
    expect(auth.reload()).toBeNull();
    expect(auth.authorize(`Bearer ${key}`, 'streamer')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(Auth.create(loadConfig({ AUTH_KEYS_FILE: path })).authorize(`Bearer ${key}`, 'streamer')).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('creates each key with its own id, keeping the others, and a key can carry its own rate limit', () => {
    const a = parseKey(cli(['create', '--role', 'scorer', '--name', 'a']).stdout.trim())!;
    const b = parseKey(cli(['create', '--role', 'admin', '--name', 'b', '--rate', '5', '--burst', '10', '--file', path], {}).stdout.trim())!;
    expect(a.id).not.toBe(b.id);
    const keys = JSON.parse(readFileSync(path, 'utf8')).keys;
    expect(keys.map((k: { id: string }) => k.id)).toEqual([a.id, b.id]);
    expect(keys[1]).toMatchObject({ roles: ['admin'], ratePerS: 5, burst: 10 });
  });

  it.each([
    [['create', '--name', 'x'], /--role is required/, 2],
    [['create', '--role', 'root', '--name', 'x'], /unknown role "root"/, 2],
    [['create', '--role', 'scorer'], /--name NAME is required/, 2],
    [['create', '--role', 'scorer', '--name', 'x', '--rate', 'fast'], /--rate must be a whole number ≥ 0, got "fast"/, 2],
    [['revoke', '0123456789ab'], /no key "0123456789ab"/, 1],
    [['rotate'], /use keys create/, 2],
  ])('refuses %j with a message (usage errors exit 2, failures 1)', (args, message, code) => {
    cli(['create', '--role', 'scorer', '--name', 'seed']);
    const r = cli(args);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('names AUTH_KEYS_FILE when no file is given', () => {
    const r = cli(['list'], {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/set AUTH_KEYS_FILE/);
  });
});
