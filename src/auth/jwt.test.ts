/**
 * JWT bearer tokens through Auth.authorize, against real keys (RSA, P-256, Ed25519 made by
 * jose) and a real JWKS: served over HTTP on 127.0.0.1 for the URL case, a file for the other.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { Auth, type Authorized } from './auth.js';
import { Principal } from './principal.js';
import { claimRoles } from './jwt.js';

const ISS = 'https://id.example.test/';
const AUD = 'scoregate';

interface Signer {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signer(alg: Signer['alg'], kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const nowS = (): number => Math.floor(Date.now() / 1000);

async function token(s: Signer, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISS, aud: AUD, sub: 'svc-payments', roles: ['scorer'], iat: nowS(), exp: nowS() + 300, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: s.alg, kid: s.kid, ...header }).sign(s.privateKey);
}

const b64 = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');

/** Waits for a sync or async answer. */
async function answer(r: Authorized | Promise<Authorized>): Promise<Authorized> {
  return r;
}

async function code(auth: Auth, jwt: string, role: Parameters<Auth['authorize']>[1] = 'scorer'): Promise<string> {
  const r = await answer(auth.authorize(`Bearer ${jwt}`, role));
  return r instanceof ScoregateError ? r.code : 'OK';
}

let rsa: Signer, ec: Signer, ed: Signer, stranger: Signer;
let jwks: { keys: JWK[] };
let server: Server;
let fetches = 0;
let jwksUrl: string;
let dir: string;
let jwksFile: string;

beforeAll(async () => {
  [rsa, ec, ed, stranger] = await Promise.all([signer('RS256', 'rsa-1'), signer('ES256', 'ec-1'), signer('EdDSA', 'ed-1'), signer('RS256', 'unknown-kid')]);
  jwks = { keys: [rsa.jwk, ec.jwk, ed.jwk] };
  server = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  dir = mkdtempSync(join(tmpdir(), 'scoregate-jwks-'));
  jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function authWith(env: Record<string, string>, hooks: Parameters<typeof Auth.create>[1] = {}): Auth {
  return Auth.create(loadConfig({ AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: AUD, AUTH_JWKS_COOLDOWN_S: '0', ...env }), hooks);
}

describe.each([
  ['URL', () => ({ AUTH_JWKS_URL: jwksUrl })],
  ['file', () => ({ AUTH_JWKS_FILE: jwksFile })],
])('JWT bearer tokens, JWKS from a %s', (_, source) => {
  let auth: Auth;
  beforeAll(() => {
    auth = authWith(source());
  });

  it.each(['rsa', 'ec', 'ed'] as const)('accepts a %s-signed token with the role, as a principal named by iss and sub', async (which) => {
    const s = { rsa, ec, ed }[which];
    const r = await answer(auth.authorize(`Bearer ${await token(s, { sub: `svc-${which}` })}`, 'scorer'));
    expect(r).toBeInstanceOf(Principal);
    expect((r as Principal).id).toBe(`jwt:${ISS} svc-${which}`);
    expect((r as Principal).kind).toBe('jwt');
  });

  it('answers a token verified before synchronously, from the cache', async () => {
    const t = await token(rsa, { sub: 'svc-cache' });
    const first = auth.authorize(`Bearer ${t}`, 'scorer');
    expect(first).toBeInstanceOf(Promise);
    const p = await first;
    expect(auth.authorize(`Bearer ${t}`, 'scorer')).toBe(p);
  });

  it('403 FORBIDDEN for a valid token without the role', async () => {
    expect(await code(auth, await token(rsa, { roles: ['streamer'] }), 'scorer')).toBe('FORBIDDEN');
    expect(await code(auth, await token(rsa, { roles: ['streamer'] }), 'streamer')).toBe('OK');
    expect(await code(auth, await token(rsa, { roles: undefined }), 'scorer')).toBe('FORBIDDEN');
    expect(await code(auth, await token(rsa, { roles: ['admin'] }), 'model-operator')).toBe('OK');
  });

  it('401 for an expired token, and for one not valid yet, beyond the clock skew', async () => {
    expect(await code(auth, await token(rsa, { exp: nowS() - 31 - 5 }))).toBe('UNAUTHENTICATED');
    expect(await code(auth, await token(rsa, { nbf: nowS() + 31 + 5 }))).toBe('UNAUTHENTICATED');
  });

  it('accepts exp and nbf within the clock skew (30 s)', async () => {
    expect(await code(auth, await token(rsa, { exp: nowS() - 10 }))).toBe('OK');
    expect(await code(auth, await token(rsa, { nbf: nowS() + 10 }))).toBe('OK');
  });

  it('401 for a wrong issuer or audience, or without exp or sub', async () => {
    expect(await code(auth, await token(rsa, { iss: 'https://evil.example.test/' }))).toBe('UNAUTHENTICATED');
    expect(await code(auth, await token(rsa, { aud: 'another-service' }))).toBe('UNAUTHENTICATED');
    expect(await code(auth, await token(rsa, { exp: undefined }))).toBe('UNAUTHENTICATED');
    expect(await code(auth, await token(rsa, { sub: undefined }))).toBe('UNAUTHENTICATED');
  });

  it('401 for alg none', async () => {
    const payload = { iss: ISS, aud: AUD, sub: 'x', roles: ['admin'], exp: nowS() + 300 };
    expect(await code(auth, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`)).toBe('UNAUTHENTICATED');
    expect(await code(auth, `${b64({ alg: 'none', kid: rsa.kid })}.${b64(payload)}.`)).toBe('UNAUTHENTICATED');
  });

  it('401 for HS256 "signed" with the RSA public key as the HMAC secret (algorithm confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.jwk)]) {
      const forged = await new SignJWT({ iss: ISS, aud: AUD, sub: 'x', roles: ['admin'], exp: nowS() + 300 })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      expect(await code(auth, forged, 'model-operator')).toBe('UNAUTHENTICATED');
    }
  });

  it('401 for a key id the JWKS does not hold', async () => {
    expect(await code(auth, await token(stranger))).toBe('UNAUTHENTICATED');
  });

  it('401 for a tampered signature or payload', async () => {
    const t = await token(rsa);
    const [h, p, sig] = t.split('.') as [string, string, string];
    const mid = Math.floor(sig.length / 2);
    const flipped = sig.slice(0, mid) + (sig[mid] === 'A' ? 'B' : 'A') + sig.slice(mid + 1);
    expect(await code(auth, `${h}.${p}.${flipped}`)).toBe('UNAUTHENTICATED');
    const escalated = b64({ iss: ISS, aud: AUD, sub: 'svc-payments', roles: ['admin'], exp: nowS() + 300 });
    expect(await code(auth, `${h}.${escalated}.${sig}`, 'model-operator')).toBe('UNAUTHENTICATED');
  });

  it('401 for a token signed by one key under the key id of another', async () => {
    expect(await code(auth, await token({ ...ec, kid: rsa.kid, alg: 'ES256' }))).toBe('UNAUTHENTICATED');
  });

  it('401 for garbage, an API-key-shaped string and no credentials', async () => {
    expect(await code(auth, 'not.a.jwt')).toBe('UNAUTHENTICATED');
    expect(await code(auth, 'sk_0123456789ab_' + 'A'.repeat(43))).toBe('UNAUTHENTICATED');
    expect(await answer(auth.authorize('', 'scorer'))).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });
});

describe('JWT settings and behaviour', () => {
  it('accepts only the configured algorithms', async () => {
    const auth = authWith({ AUTH_JWKS_FILE: jwksFile, AUTH_JWT_ALGORITHMS: 'ES256' });
    expect(await code(auth, await token(ec))).toBe('OK');
    expect(await code(auth, await token(rsa))).toBe('UNAUTHENTICATED');
    expect(await code(auth, await token(ed))).toBe('UNAUTHENTICATED');
  });

  it.each(['none', 'HS256', 'RS256,HS512', ''])('refuses AUTH_JWT_ALGORITHMS=%j at start', (algs) => {
    const env = { AUTH_JWKS_FILE: jwksFile, AUTH_JWT_ALGORITHMS: algs === '' ? ' , ' : algs };
    expect(() => authWith(env)).toThrow(ConfigError);
    expect(() => authWith(env)).toThrow(/^invalid configuration: AUTH_JWT_ALGORITHMS /);
  });

  it('reads roles from a configured claim: a space-separated scope, or a dotted path', async () => {
    const scope = authWith({ AUTH_JWKS_FILE: jwksFile, AUTH_JWT_ROLES_CLAIM: 'scope' });
    const t = await token(rsa, { roles: undefined, scope: 'openid scorer metrics' });
    expect(await code(scope, t, 'scorer')).toBe('OK');
    expect(await code(scope, t, 'metrics')).toBe('OK');
    expect(await code(scope, t, 'streamer')).toBe('FORBIDDEN');
    expect(claimRoles({ realm_access: { roles: ['auditor', 'x'] } }, 'realm_access.roles')).toEqual(['auditor', 'x']);
    expect(claimRoles({ roles: 'scorer' }, 'realm_access.roles')).toEqual([]);
  });

  it('a cached token stops passing once it expires', async () => {
    let now = Date.now();
    const auth = authWith({ AUTH_JWKS_FILE: jwksFile, AUTH_CLOCK_SKEW_S: '5' }, { now: () => now });
    const t = await token(rsa, { exp: Math.floor(now / 1000) + 60 });
    expect(await code(auth, t)).toBe('OK');
    expect(auth.authorize(`Bearer ${t}`, 'scorer')).toBeInstanceOf(Principal);
    now += 66_000;
    expect(await code(auth, t)).toBe('UNAUTHENTICATED');
  });

  it('a cached long-lived token is verified again after 5 minutes, so a key dropped from the JWKS stops it', async () => {
    let now = Date.now();
    const file = join(dir, 'rotating.json');
    writeFileSync(file, JSON.stringify({ keys: [rsa.jwk] }));
    const auth = authWith({ AUTH_JWKS_FILE: file }, { now: () => now });
    const t = await token(rsa, { exp: Math.floor(now / 1000) + 86_400 });
    expect(await code(auth, t)).toBe('OK');
    writeFileSync(file, JSON.stringify({ keys: [ec.jwk] }));
    expect(auth.reload()).toBeNull(); // what SIGHUP does
    expect(await code(auth, t)).toBe('UNAUTHENTICATED'); // a reload forgets verified tokens at once
    writeFileSync(file, JSON.stringify({ keys: [rsa.jwk] }));
    expect(auth.reload()).toBeNull();
    expect(await code(auth, t)).toBe('OK');
    expect(auth.authorize(`Bearer ${t}`, 'scorer')).toBeInstanceOf(Principal);
    now += 5 * 60_000 + 1;
    expect(auth.authorize(`Bearer ${t}`, 'scorer')).toBeInstanceOf(Promise);
  });

  it('fetches the JWKS once, and again for an unknown key id, so a rotated-in key verifies', async () => {
    const auth = authWith({ AUTH_JWKS_URL: jwksUrl });
    const before = fetches;
    expect(await code(auth, await token(rsa, { sub: 'a' }))).toBe('OK');
    expect(await code(auth, await token(ec, { sub: 'b' }))).toBe('OK');
    expect(fetches - before).toBe(1);
    const rotated = await signer('ES256', 'ec-2');
    jwks.keys.push(rotated.jwk);
    try {
      expect(await code(auth, await token(rotated))).toBe('OK');
      expect(fetches - before).toBe(2);
    } finally {
      jwks.keys.pop();
    }
  });

  it('the JWKS URL must be https unless on loopback; a JWKS needs an issuer and an audience', () => {
    const base = { AUTH_JWT_ISSUER: ISS, AUTH_JWT_AUDIENCE: AUD };
    expect(() => Auth.create(loadConfig({ ...base, AUTH_JWKS_URL: 'http://idp.example.test/jwks' }))).toThrow(/^invalid configuration: AUTH_JWKS_URL must be https/);
    expect(() => Auth.create(loadConfig({ AUTH_JWKS_URL: 'https://idp.example.test/jwks', AUTH_JWT_AUDIENCE: AUD }))).toThrow(/^invalid configuration: AUTH_JWT_ISSUER /);
    expect(() => Auth.create(loadConfig({ AUTH_JWKS_URL: 'https://idp.example.test/jwks', AUTH_JWT_ISSUER: ISS }))).toThrow(/^invalid configuration: AUTH_JWT_AUDIENCE /);
    expect(() => Auth.create(loadConfig({ ...base, AUTH_JWKS_URL: jwksUrl, AUTH_JWKS_FILE: jwksFile }))).toThrow(/^invalid configuration: AUTH_JWKS_FILE /);
    expect(() => Auth.create(loadConfig({ ...base, AUTH_JWKS_FILE: join(dir, 'missing.json') }))).toThrow(/^invalid configuration: AUTH_JWKS_FILE .*does not exist/);
  });

  it('reports an unreachable JWKS to the operator and answers 401', async () => {
    const errors: Error[] = [];
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const auth = authWith({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks` }, { onError: (e) => errors.push(e) });
    expect(await code(auth, await token(rsa))).toBe('UNAUTHENTICATED');
    expect(errors.length).toBe(1);
  });
});
