/**
 * Authentication and roles against the real gateway process, with keys made by the real CLI
 * and JWTs signed by jose against a JWKS file: 401 without or with bad credentials (nothing of
 * the key echoed), 403 with the wrong role, 429 with Retry-After past a key's rate, the
 * WebSocket refused at the upgrade (header, browser subprotocol, Origin), operator and auditor
 * routes by role, /metrics protected on request, health always open, and secure by default.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/config.js';
import { MAIN, postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'scoregate-auth-'));
const keysFile = join(dir, 'keys.json');
const jwksFile = join(dir, 'jwks.json');
const ISS = 'https://idp.example.test/';
const AUD = 'scoregate';

function createKey(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, 'keys', 'create', ...args], { env: { ...process.env, AUTH_KEYS_FILE: keysFile }, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

let gw: RunningGateway;
let scorer: string;
let streamer: string;
let auditor: string;
let operator: string;
let limited: string;
let signJwt: (roles: string[]) => Promise<string>;

beforeAll(async () => {
  scorer = createKey(['--role', 'scorer', '--name', 'payments']);
  streamer = createKey(['--role', 'streamer', '--name', 'trading']);
  auditor = createKey(['--role', 'auditor', '--name', 'audit']);
  operator = createKey(['--role', 'model-operator', '--role', 'metrics', '--name', 'ml']);
  limited = createKey(['--role', 'scorer', '--name', 'slow-client', '--rate', '1', '--burst', '2']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  signJwt = (roles) => new SignJWT({ roles }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISS).setAudience(AUD).setSubject('svc-checkout').setIssuedAt().setExpirationTime('5m').sign(privateKey);
  gw = await startGateway({
    AUTH_KEYS_FILE: keysFile,
    AUTH_JWKS_FILE: jwksFile,
    AUTH_JWT_ISSUER: ISS,
    AUTH_JWT_AUDIENCE: AUD,
    AUTH_METRICS: 'protected',
    WS_ALLOWED_ORIGINS: 'https://app.example.test',
  });
});
afterAll(async () => {
  expect(await gw.stop()).toBe(0);
});

const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });
type Err = { error: { code: string; message: string } };

describe('HTTP', () => {
  it('scores only with a credential holding the scorer role; 401/403 answers leak nothing of the key', async () => {
    expect((await postJson(`${gw.url}/v1/score`, validTx())).status).toBe(401);
    const wrong = scorer.slice(0, -4) + 'AAAA';
    for (const [headers, status, code] of [
      [{}, 401, 'UNAUTHENTICATED'],
      [bearer(wrong), 401, 'UNAUTHENTICATED'],
      [bearer('sk_000000000000_' + 'x'.repeat(43)), 401, 'UNAUTHENTICATED'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 401, 'UNAUTHENTICATED'],
      [bearer(streamer), 403, 'FORBIDDEN'],
      [bearer(auditor), 403, 'FORBIDDEN'],
    ] as const) {
      const r = await postJson(`${gw.url}/v1/score`, validTx(), headers);
      expect(r.status, JSON.stringify(headers)).toBe(status);
      expect((r.json as Err).error.code).toBe(code);
      expect(r.text).not.toContain(wrong.slice(3, 15));
      expect(r.text).not.toContain(streamer.slice(16));
    }
    const ok = await postJson(`${gw.url}/v1/score`, validTx(), bearer(scorer));
    expect(ok.status).toBe(200);
    const batch = await postJson(`${gw.url}/v1/score/batch`, [validTx()], bearer(scorer));
    expect(batch.status).toBe(200);
  });

  it('a JWT from the JWKS with the role scores; one without it is 403; a tampered one is 401', async () => {
    const good = await signJwt(['scorer']);
    expect((await postJson(`${gw.url}/v1/score`, validTx(), bearer(good))).status).toBe(200);
    expect((await postJson(`${gw.url}/v1/score`, validTx(), bearer(await signJwt(['streamer'])))).status).toBe(403);
    const [h, p, sig] = good.split('.');
    const tampered = `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('A') ? 'B' : 'A'}A`;
    expect((await postJson(`${gw.url}/v1/score`, validTx(), bearer(tampered))).status).toBe(401);
  });

  it("past a key's rate: 429 RATE_LIMITED with Retry-After; other keys are not affected", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r = await postJson(`${gw.url}/v1/score`, validTx(), bearer(limited));
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect((r.json as Err).error.code).toBe('RATE_LIMITED');
      }
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await postJson(`${gw.url}/v1/score`, validTx(), bearer(scorer))).status).toBe(200);
  });

  it('operator and auditor routes by role; health always open; metrics protected; no file-system paths answered', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: bearer(scorer) })).status).toBe(403);
    expect((await fetch(`${gw.url}/metrics`, { headers: bearer(operator) })).status).toBe(200);
    const w = await fetch(`${gw.url}/v1/users/user-1/window`, { headers: bearer(scorer) });
    expect(w.status).toBe(403);
    expect([200, 404]).toContain((await fetch(`${gw.url}/v1/users/user-1/window`, { headers: bearer(auditor) })).status);
    const rb = await fetch(`${gw.url}/v1/models/rollback`, { method: 'POST', headers: bearer(auditor) });
    expect(rb.status).toBe(403);
    const rb2 = await fetch(`${gw.url}/v1/models/rollback`, { method: 'POST', headers: bearer(operator) });
    expect(rb2.status).toBe(422); // allowed, but there is nothing to roll back to
    const models = await (await fetch(`${gw.url}/v1/models`)).text();
    expect(models).not.toContain(REPO_ROOT);
    expect(models).not.toMatch(/"\/[a-z]+\//);
    expect(await rb2.text()).not.toContain(REPO_ROOT);
  });
});

describe('WebSocket', () => {
  const url = (): string => `ws://127.0.0.1:${gw.port}/v1/stream`;
  /** Resolves with the HTTP status of a refused upgrade, or 101 when it opened. */
  const upgrade = (opts: WebSocket.ClientOptions, protocols?: string[]): Promise<{ status: number; protocol?: string; ws?: WebSocket }> =>
    new Promise((resolve) => {
      const ws = protocols === undefined ? new WebSocket(url(), opts) : new WebSocket(url(), protocols, opts);
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        ws.terminate();
      });
      ws.on('open', () => resolve({ status: 101, protocol: ws.protocol, ws }));
      ws.on('error', () => undefined);
    });

  it('refuses the upgrade before any frame without a streamer credential, or from an Origin not allowed', async () => {
    expect((await upgrade({})).status).toBe(401);
    expect((await upgrade({ headers: bearer(scorer) })).status).toBe(403);
    expect((await upgrade({ headers: { ...bearer(streamer), origin: 'https://evil.example.test' } })).status).toBe(403);
    const ok = await upgrade({ headers: { ...bearer(streamer), origin: 'https://app.example.test' } });
    expect(ok.status).toBe(101);
    ok.ws!.close();
  });

  it('a browser authenticates with a subprotocol token and gets scoregate.v1 back; messages score', async () => {
    const jwt = await signJwt(['streamer']);
    const r = await upgrade({ headers: { origin: 'https://app.example.test' } }, ['scoregate.v1', `bearer.${jwt}`]);
    expect(r.status).toBe(101);
    expect(r.protocol).toBe('scoregate.v1');
    const reply = await new Promise<{ id: number; result?: unknown }>((resolve) => {
      r.ws!.once('message', (d) => resolve(JSON.parse(d.toString()) as { id: number; result?: unknown }));
      r.ws!.send(JSON.stringify({ id: 7, transaction: validTx() }));
    });
    expect(reply.id).toBe(7);
    expect(reply.result).toBeDefined();
    r.ws!.close();
  });
});

describe('secure by default', () => {
  it('listening on a non-loopback address with no credentials refuses to start, naming the setting', () => {
    const r = spawnSync(process.execPath, [MAIN], { env: { ...process.env, HOST: '0.0.0.0', PORT: '0', AUTH_KEYS_FILE: '', AUTH_JWKS_URL: '', AUTH_JWKS_FILE: '' }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/HOST/);
    expect(r.stderr).toMatch(/AUTH_KEYS_FILE|AUTH_JWKS/);
  });
});
