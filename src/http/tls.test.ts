/**
 * HTTPS and WSS against the gateway process, with certificates made here by openssl: clients
 * that verify the certificate against the test CA score over HTTPS and stream over WSS; clients
 * that do not trust the CA, ask for another name or speak plain HTTP get nothing; half-set or
 * wrong TLS settings stop the gateway naming the setting.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../../test/support/certs.js';
import { startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { Client } from '../../test/support/ws.js';

let certs: TestCerts;
let gw: RunningGateway;

beforeAll(async () => {
  certs = makeCerts();
  gw = await startGateway({ TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.serverKey }, { tls: { ca: certs.ca } });
});

afterAll(async () => {
  await gw?.stop();
});

/** The error code at the bottom of a failed fetch or socket (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE). */
function rootCode(err: unknown): string {
  let e = err as { code?: string; cause?: unknown } | undefined;
  while (e?.cause !== undefined && e.code === undefined) e = e.cause as typeof e;
  return e?.code ?? String(err);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return rootCode(err);
  }
  throw new Error('expected the request to fail');
}

describe('HTTPS and WSS', () => {
  it('listens on https and says so', () => {
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(gw.logs.some((l) => l.includes('"msg":"listening"') && l.includes('"scheme":"https"'))).toBe(true);
  });

  it('scores over HTTPS for a client that verifies the certificate against the test CA, by IP and by name', async () => {
    const tx = validTx({ userId: 'tls-user' });
    const r = await fetch(`${gw.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx), dispatcher: gw.dispatcher });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { transactionId: string; model: { name: string }; score: number };
    expect(body.transactionId).toBe(tx['transactionId']);
    expect(body.model.name).toBe('fraud-detector');
    // The same answer through the name in the certificate's SAN.
    const byName = await fetch(`https://localhost:${gw.port}/healthz`, { dispatcher: gw.dispatcher });
    expect(byName.status).toBe(200);
  });

  it('streams over WSS with a client that verifies the certificate', async () => {
    const c = new Client(`wss://127.0.0.1:${gw.port}/v1/stream`, { ca: certs.ca });
    await c.opened();
    c.ws.send(JSON.stringify([
      { id: 1, transaction: validTx({ userId: 'wss-user' }) },
      { id: 2, transaction: validTx({ userId: 'wss-user', amount: -1 }) },
    ]));
    const replies = await c.waitFor(2);
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)?.result?.model.name).toBe('fraud-detector');
    expect(byId.get(2)?.error?.code).toBe('INVALID_AMOUNT');
    c.ws.close();
  });

  it('a client that does not trust the CA is refused with a certificate error (HTTPS and WSS)', async () => {
    expect(await failure(fetch(`${gw.url}/healthz`))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const other = makeCerts('another CA');
    const wrongCa = new Agent({ connect: { ca: other.ca } });
    expect(await failure(fetch(`${gw.url}/healthz`, { dispatcher: wrongCa }))).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await wrongCa.destroy();
    const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/v1/stream`);
    const code = await new Promise<string>((res) => {
      ws.once('error', (err) => res(rootCode(err)));
      ws.once('open', () => res('opened'));
    });
    expect(code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a name the certificate does not carry is refused', async () => {
    const err = await new Promise<string>((res) => {
      const s = connect({ host: '127.0.0.1', port: gw.port, ca: certs.ca, servername: 'scoregate.example.com' }, () => res('connected'));
      s.once('error', (e) => res(rootCode(e)));
    });
    expect(err).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('plain HTTP on the TLS port gets no answer', async () => {
    const r = await fetch(`http://127.0.0.1:${gw.port}/healthz`, { signal: AbortSignal.timeout(5000) }).then((x) => `HTTP ${x.status}`, (e: unknown) => rootCode(e));
    expect(r).not.toMatch(/^HTTP/);
  });
});

describe('TLS settings', () => {
  async function refused(env: Record<string, string>): Promise<string> {
    try {
      const g = await startGateway(env, { waitReady: false, tls: { ca: certs.ca } });
      await g.stop();
    } catch (err) {
      return String(err);
    }
    throw new Error('the gateway started');
  }

  it('one of TLS_CERT_FILE and TLS_KEY_FILE without the other stops the gateway naming the missing one', async () => {
    expect(await refused({ TLS_CERT_FILE: certs.serverCert })).toContain('invalid configuration: TLS_KEY_FILE must be set when TLS_CERT_FILE is set');
    expect(await refused({ TLS_KEY_FILE: certs.serverKey })).toContain('invalid configuration: TLS_CERT_FILE must be set when TLS_KEY_FILE is set');
  });

  it('a missing file, a file that is not PEM and a key of another certificate are refused naming the setting', async () => {
    expect(await refused({ TLS_CERT_FILE: join(certs.dir, 'nope.pem'), TLS_KEY_FILE: certs.serverKey })).toContain('TLS_CERT_FILE cannot be read');
    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'not a key');
    expect(await refused({ TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: junk })).toContain('TLS_KEY_FILE is not a PEM file');
    expect(await refused({ TLS_CERT_FILE: certs.serverCert, TLS_KEY_FILE: certs.clientKey })).toContain('invalid configuration: TLS_KEY_FILE');
  });
});
