/**
 * What authentication costs per request, with tinybench: an API key (Map get + SHA-256 +
 * constant-time compare + role + token bucket), a JWT already verified (cache hit), a JWT's
 * first verification per algorithm, the token bucket alone, and scrypt for comparison (why
 * keys are stored as SHA-256: src/auth/api-key.ts). `--quick` runs each task briefly (CI smoke).
 *
 *   npm run build && node dist/bench/auth.js [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Bench } from 'tinybench';
import { generateKey } from '../src/auth/api-key.js';
import { Auth } from '../src/auth/auth.js';
import { JwtVerifier } from '../src/auth/jwt.js';
import { writeKeysFile } from '../src/auth/keys-file.js';
import { TokenBucket } from '../src/auth/rate-limit.js';
import { loadConfig } from '../src/core/config.js';

const quick = process.argv.includes('--quick');
const dir = mkdtempSync(join(tmpdir(), 'scoregate-bench-auth-'));
const made = generateKey();
writeKeysFile(join(dir, 'keys.json'), [{ id: made.id, name: 'bench', roles: ['scorer'], sha256: made.digest, createdAt: new Date().toISOString() }]);

const algs = ['RS256', 'ES256', 'EdDSA'] as const;
const signers = await Promise.all(algs.map(async (alg) => ({ alg, ...(await generateKeyPair(alg, { extractable: true })) })));
writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: await Promise.all(signers.map(async (s) => ({ ...(await exportJWK(s.publicKey)), kid: s.alg, alg: s.alg }))) }));
const sign = (alg: string, sub: string): Promise<string> => {
  const s = signers.find((x) => x.alg === alg)!;
  return new SignJWT({ roles: ['scorer'] }).setProtectedHeader({ alg, kid: alg }).setIssuer('https://id.bench').setAudience('scoregate').setSubject(sub).setExpirationTime('1h').sign(s.privateKey);
};

const auth = Auth.create(
  loadConfig({ AUTH_KEYS_FILE: join(dir, 'keys.json'), AUTH_JWKS_FILE: join(dir, 'jwks.json'), AUTH_JWT_ISSUER: 'https://id.bench', AUTH_JWT_AUDIENCE: 'scoregate', AUTH_RATE_PER_S: '10000000', AUTH_RATE_BURST: '10000000' }),
);
const keyHeader = `Bearer ${made.key}`;
const cachedJwt = `Bearer ${await sign('ES256', 'cached')}`;
await auth.authorize(cachedJwt, 'scorer');
// First verifications: a verifier remembering one token, fed 2000 in turn, never hits its cache.
const uncached = new JwtVerifier({
  jwksUrl: '',
  jwksFile: join(dir, 'jwks.json'),
  issuer: ['https://id.bench'],
  audience: ['scoregate'],
  algorithms: [...algs],
  rolesClaim: 'roles',
  clockSkewS: 30,
  cooldownS: 30,
  ratePerS: 0,
  burst: 0,
  cacheMax: 1,
});
const fresh = Object.fromEntries(await Promise.all(algs.map(async (a) => [a, await Promise.all(Array.from({ length: 2000 }, (_, i) => sign(a, `s${i}`)))] as const)));
const cursor: Record<string, number> = { RS256: 0, ES256: 0, EdDSA: 0 };
const bucket = new TokenBucket(1e9, 1e9);

const bench = new Bench({ time: quick ? 100 : 1000, warmupTime: quick ? 20 : 200 });
bench
  .add('API key: authorize (sync)', () => {
    auth.authorize(keyHeader, 'scorer');
  })
  .add('JWT: authorize, verified before (sync, cache hit)', () => {
    auth.authorize(cachedJwt, 'scorer');
  })
  .add('token bucket: take', () => {
    bucket.take();
  });
for (const a of algs) {
  bench.add(`JWT: first verification, ${a}`, async () => {
    const list = fresh[a]!;
    if ((await uncached.verify(list[cursor[a]!++ % list.length]!)) === null) throw new Error('bench token did not verify');
  });
}
bench.add('for comparison: scrypt (N=16384) of one secret', () => {
  scryptSync(made.key, 'salt', 32);
});

await bench.run();
rmSync(dir, { recursive: true, force: true });

const table = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p99: number } } | undefined;
  const mean = r?.latency?.mean ?? NaN;
  const p99 = r?.latency?.p99 ?? NaN;
  return `| ${t.name} | ${(mean * 1000).toFixed(2)} | ${(p99 * 1000).toFixed(2)} | ${Math.round(1000 / mean).toLocaleString('en-US')} |`;
});
console.log(['| task | mean µs | p99 µs | ops/s |', '|---|---:|---:|---:|', ...table].join('\n'));
