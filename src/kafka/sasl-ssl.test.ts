/**
 * Kafka over SASL_SSL, as on Confluent Cloud: the local broker gets a second listener, SASL_SSL
 * with a certificate made here by openssl (PKCS12 keystore), SCRAM credentials written at
 * format and PLAIN users; the schema registry sits behind an HTTPS proxy with basic auth. The
 * gateway is given only the SASL_SSL address: it registers its schemas through the proxy,
 * writes scored events and reads its feed over SASL_SSL (SCRAM-SHA-512, then PLAIN), and a
 * reader that authenticates the same way finds every scored transaction. A wrong password
 * keeps the gateway not ready, with the broker's refusal in its log.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServices, type Services } from '../../scripts/services/services.js';
import { startAuthProxy, type AuthProxy } from '../../test/support/auth-proxy.js';
import { makeCerts, serverKeystore, type TestCerts } from '../../test/support/certs.js';
import { startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';

const USERS = { 'gw-scram': 'scram-Secret-1', 'gw-plain': 'plain-Secret-2', reader: 'reader-Secret-3' };
const run = randomUUID().slice(0, 8);
const topics = {
  TOPIC_TRANSACTIONS: `financial-transactions-${run}`,
  TOPIC_USER_EVENTS: `user-events-${run}`,
  TOPIC_SCORED: `transactions.scored-${run}`,
  TOPIC_DLQ: `transactions.dlq-${run}`,
  TOPIC_AUDIT: `audit-logs-${run}`,
};

let certs: TestCerts;
let svc: Services;
let proxy: AuthProxy;
let brokers: string;
let reader: Kafka;
let registry: SchemaRegistry;
let gw: RunningGateway | null = null;

beforeAll(async () => {
  certs = makeCerts();
  svc = await startServices({
    saslSsl: { keystore: serverKeystore(certs, 'keystore-pass'), keystorePassword: 'keystore-pass', users: USERS },
    log: process.env['SERVICES_LOG'] ? (t) => process.stderr.write(t) : undefined,
  });
  brokers = svc.kafkaSaslSslBrokers!;
  proxy = await startAuthProxy(svc.registryUrl, { cert: readFileSync(certs.serverCert, 'utf8'), key: readFileSync(certs.serverKey, 'utf8') }, 'sr-key', 'sr-secret');
  reader = new Kafka({ clientId: 'sasl-ssl-reader', brokers: [brokers], ssl: { ca: [certs.ca] }, sasl: { mechanism: 'scram-sha-512', username: 'reader', password: USERS.reader }, logLevel: logLevel.NOTHING });
  registry = new SchemaRegistry({ host: svc.registryUrl });
}, 300_000);

afterAll(async () => {
  await gw?.stop();
  await proxy?.close();
  await svc?.stop();
}, 120_000);

function gatewayEnv(mechanism: SASLOptions['mechanism'], username: string, password: { value: string } | { file: string }): Record<string, string> {
  return {
    ...topics,
    KAFKA_BROKERS: brokers,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: certs.caCert,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    ...('value' in password ? { KAFKA_SASL_PASSWORD: password.value } : { KAFKA_SASL_PASSWORD_FILE: password.file }),
    SCHEMA_REGISTRY_URL: proxy.url,
    SCHEMA_REGISTRY_USERNAME: 'sr-key',
    SCHEMA_REGISTRY_PASSWORD: 'sr-secret',
    SCHEMA_REGISTRY_CA_FILE: certs.caCert,
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
    KAFKA_GROUP_ID: `gw-${mechanism}-${run}`,
    ADMIN_TOKEN: 'sasl-admin',
  };
}

async function score(n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const tx = validTx({ userId: `${prefix}-user-${i % 3}`, transactionId: `${prefix}-${run}-${i}` });
    const r = await fetch(`${gw!.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(tx) });
    expect(r.status).toBe(200);
    ids.push(String(tx['transactionId']));
  }
  return ids;
}

/** transactionIds on the scored topic, read from the beginning over SASL_SSL, once `want` are all there. */
async function readScored(want: string[]): Promise<Set<string>> {
  const consumer = reader.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: topics.TOPIC_SCORED, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(((await registry.decode(message.value!)) as { transactionId: string }).transactionId)) });
    await vi.waitFor(() => expect(want.filter((id) => !seen.has(id))).toEqual([]), { timeout: 60_000, interval: 200 });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function windowEvents(userId: string): Promise<number> {
  const r = await fetch(`${gw!.url}/v1/users/${encodeURIComponent(userId)}/window`, { headers: { authorization: 'Bearer sasl-admin' } });
  return r.status === 200 ? ((await r.json()) as { events: unknown[] }).events.length : 0;
}

describe('Kafka over SASL_SSL, registry over HTTPS with basic auth', () => {
  it('SCRAM-SHA-512: scored events reach transactions.scored and the feed reads the input topic, all through SASL_SSL', async () => {
    gw = await startGateway(gatewayEnv('scram-sha-512', 'gw-scram', { value: USERS['gw-scram'] }));
    // The schemas went through the proxy, with the credentials.
    expect(proxy.forwarded).toBeGreaterThan(0);
    expect(proxy.refused).toBe(0);
    const ids = await score(20, 'scram');
    const seen = await readScored(ids);
    expect(ids.every((id) => seen.has(id))).toBe(true);
    // An event produced to the input topic over SASL_SSL shows in the user's window.
    const user = `sasl-feed-${run}`;
    const producer = reader.producer();
    await producer.connect();
    await producer.send({ topic: topics.TOPIC_TRANSACTIONS, messages: [{ key: user, value: JSON.stringify(validTx({ userId: user, transactionId: `feed-${run}`, timestamp: Date.now() - 10_000 })) }] });
    await producer.disconnect();
    await vi.waitFor(async () => expect(await windowEvents(user)).toBe(1), { timeout: 30_000, interval: 200 });
    expect(await gw.stop()).toBe(0);
    gw = null;
  }, 180_000);

  it('PLAIN with the password in a file: scored events reach transactions.scored', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sasl-')), 'password');
    writeFileSync(file, `${USERS['gw-plain']}\n`, { mode: 0o600 });
    gw = await startGateway(gatewayEnv('plain', 'gw-plain', { file }));
    const ids = await score(10, 'plain');
    const seen = await readScored(ids);
    expect(ids.every((id) => seen.has(id))).toBe(true);
    expect(await gw.stop()).toBe(0);
    gw = null;
  }, 180_000);

  it('a wrong SASL password: not ready, the broker\'s authentication refusal in the log', async () => {
    gw = await startGateway(gatewayEnv('scram-sha-512', 'gw-scram', { value: 'wrong-password' }), { waitReady: false });
    await vi.waitFor(() => expect(gw!.logs.some((l) => l.includes('kafka not reachable yet') && /SASL SCRAM SHA512 authentication failed|Authentication failed/i.test(l))).toBe(true), { timeout: 60_000, interval: 200 });
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
    await gw.stop();
    gw = null;
  }, 120_000);

  it('a registry client without the credentials is refused by the proxy (the proxy is not a pass-through)', async () => {
    const trusting = new Agent({ connect: { ca: certs.ca } });
    const r = await fetch(`${proxy.url}/subjects`, { dispatcher: trusting });
    expect(r.status).toBe(401);
    await trusting.destroy();
  });
});
