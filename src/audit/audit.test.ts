/**
 * The audit trail and encryption at rest, against the real gateway process: keys created with
 * the CLI, the model activated at start, an operator's rollback, a refused webhook, a user's
 * window read, a burst of failed authentication — each an audit record in the seed's shape,
 * readable by the auditor role only through GET /v1/audit. With a keyring, the audit file and
 * the local sink files are AES-256-GCM sealed frames: nothing in clear on disk, and they open
 * with the keyring.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { openFrames, parseKeyring, RecordCipher } from '../sink/cipher.js';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'scoregate-audit-'));
const keysFile = join(dir, 'keys.json');
const auditFile = join(dir, 'audit.jsonl');
const keyringFile = join(dir, 'keyring.json');
const dataDir = join(dir, 'data');
const ring = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } });
writeFileSync(keyringFile, ring);
const cipher = new RecordCipher(parseKeyring(ring));
const env = { AUTH_KEYS_FILE: keysFile, AUDIT_FILE: auditFile, SINK_KEYRING_FILE: keyringFile };

function createKey(role: string): { key: string; id: string } {
  const r = spawnSync(process.execPath, [CLI, 'keys', 'create', '--role', role, '--name', `${role}-test`], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  const key = r.stdout.trim();
  return { key, id: key.split('_')[1]! };
}

interface Rec {
  timestamp: string;
  user: string;
  action: string;
  resource: string;
  outcome: string;
  records_accessed?: number;
  details?: Record<string, unknown>;
}

let gw: RunningGateway;
let auditor: { key: string; id: string };
let operator: { key: string; id: string };
let scorer: { key: string; id: string };

beforeAll(async () => {
  auditor = createKey('auditor');
  operator = createKey('model-operator');
  scorer = createKey('scorer');
  gw = await startGateway({ ...env, DATA_DIR: dataDir, MLFLOW_WEBHOOK_SECRET: 'hook-secret', AUDIT_AUTH_FAILURES_PER_MIN: '5' });
});
afterAll(async () => {
  await gw.stop();
});

const auth = (k: { key: string }): Record<string, string> => ({ authorization: `Bearer ${k.key}` });
async function records(query = ''): Promise<Rec[]> {
  const r = await fetch(`${gw.url}/v1/audit${query}`, { headers: auth(auditor) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { records: Rec[] }).records;
}

describe('audit trail', () => {
  it('records keys created, the model activated, a rollback, a refused webhook, a window read and a burst of failed logins', async () => {
    const tx = validTx({ userId: 'audited-user' });
    expect((await postJson(`${gw.url}/v1/score`, tx, auth(scorer))).status).toBe(200);
    expect((await fetch(`${gw.url}/v1/users/audited-user/window`, { headers: auth(auditor) })).status).toBe(200);
    expect((await fetch(`${gw.url}/v1/models/rollback`, { method: 'POST', headers: auth(operator) })).status).toBe(422);
    const hook = await fetch(`${gw.url}/hooks/mlflow`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mlflow-signature': 'v1,AAAA', 'x-mlflow-delivery-id': 'd1', 'x-mlflow-timestamp': String(Math.floor(Date.now() / 1000)) }, body: '{}' });
    expect(hook.status).toBe(401);
    for (let i = 0; i < 6; i++) expect((await postJson(`${gw.url}/v1/score`, validTx(), { authorization: `Bearer sk_${'0'.repeat(12)}_${'x'.repeat(43)}` })).status).toBe(401);

    const all = await records('?limit=1000');
    const find = (action: string): Rec | undefined => all.find((r) => r.action === action);
    expect(find('key.create')).toMatchObject({ resource: `key:${auditor.id}`, outcome: 'success' });
    expect(find('model.activate')).toMatchObject({ user: 'system:model-lifecycle', outcome: 'success', resource: expect.stringMatching(/^model:fraud-detector@/) });
    expect(find('model.rollback')).toMatchObject({ user: `key:${operator.id}`, outcome: 'rejected' });
    expect(find('webhook.refused')).toMatchObject({ resource: '/hooks/mlflow', outcome: 'denied', details: { code: 'INVALID_SIGNATURE' } });
    expect(find('window.read')).toMatchObject({ user: `key:${auditor.id}`, resource: 'user:audited-user/window', outcome: 'success', records_accessed: 1 });
    expect(all.filter((r) => r.action === 'auth.failures')).toHaveLength(1); // one per minute at most
    for (const r of all) expect(Number.isFinite(Date.parse(r.timestamp))).toBe(true);
  });

  it('GET /v1/audit is for the auditor role, with since/action/limit checked', async () => {
    expect((await fetch(`${gw.url}/v1/audit`)).status).toBe(401);
    expect((await fetch(`${gw.url}/v1/audit`, { headers: auth(scorer) })).status).toBe(403);
    expect((await records('?action=window.read')).every((r) => r.action === 'window.read')).toBe(true);
    expect(await records(`?since=${Date.now() + 60_000}`)).toEqual([]);
    expect(await records('?limit=1')).toHaveLength(1);
    for (const q of ['?limit=0', '?limit=abc', '?since=yesterday']) {
      const r = await fetch(`${gw.url}/v1/audit${q}`, { headers: auth(auditor) });
      expect(r.status, q).toBe(400);
    }
  });
});

describe('encryption at rest', () => {
  it('the audit file and the sink files are sealed frames that open with the keyring, nothing in clear', async () => {
    const tx = validTx({ userId: 'sealed-user', transactionId: `sealed-${Date.now()}` });
    expect((await postJson(`${gw.url}/v1/score`, tx, auth(scorer))).status).toBe(200);
    await postJson(`${gw.url}/v1/score`, { ...validTx(), transactionId: 'sealed-bad', amount: '-3' }, auth(scorer));
    expect(existsSync(join(dataDir, 'scored.jsonl'))).toBe(false);
    await vi.waitFor(() => expect(existsSync(join(dataDir, 'dlq.sealed'))).toBe(true));
    const scoredBytes = readFileSync(join(dataDir, 'scored.sealed'));
    const auditBytes = readFileSync(auditFile);
    for (const b of [scoredBytes, auditBytes]) {
      expect(b.includes('transactionId')).toBe(false);
      expect(b.includes('audit_log')).toBe(false);
      expect(b.includes(tx['transactionId'] as string)).toBe(false);
    }
    const opened = openFrames(scoredBytes, cipher);
    expect(opened.bad).toEqual([]);
    const events = opened.records.map((r) => JSON.parse(r.toString()) as { transaction: { transactionId: string } });
    expect(events.some((e) => e.transaction.transactionId === tx['transactionId'])).toBe(true);
    expect(openFrames(auditBytes, cipher).records.length).toBeGreaterThan(3);
    // A tampered frame is refused by its tag; the others still open.
    const tampered = Buffer.from(scoredBytes);
    tampered[40] = tampered[40]! ^ 0xff;
    const t = openFrames(tampered, cipher);
    expect(t.bad.length).toBe(1);
    expect(t.records.length).toBe(opened.records.length - 1);
  });
});
