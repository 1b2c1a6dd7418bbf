/**
 * The MLflow client's credentials and CA from the settings, against an HTTPS server on loopback
 * (certificate made by openssl) that answers the alias call only with the expected
 * Authorization header; and the settings that only go together.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../core/config.js';
import { makeCerts, type TestCerts } from '../../test/support/certs.js';
import { MlflowClient } from './mlflow-client.js';
import { mlflowClientOptions } from './mlflow-credentials.js';

let certs: TestCerts;
let server: Server;
let uri: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  certs = makeCerts();
  server = createServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, (req, res) => {
    seen.push(req.headers.authorization);
    const ok = req.headers.authorization === 'Bearer dapi-test-token' || req.headers.authorization === `Basic ${Buffer.from('ml-user:ml-pass').toString('base64')}`;
    if (!ok || !req.url?.startsWith('/api/2.0/mlflow/registered-models/alias?')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":"UNAUTHENTICATED","message":"Credential was not sent or was invalid"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ model_version: { name: 'fraud-detector', version: '7', source: 'models:/m-1', status: 'READY' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  uri = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = (env: Record<string, string>): MlflowClient => {
  const config = loadConfig({ MLFLOW_TRACKING_URI: uri, ...env });
  return new MlflowClient(config.mlflowTrackingUri, { ...mlflowClientOptions(config), timeoutMs: 5000 });
};

describe('MLflow credentials', () => {
  it('MLFLOW_TRACKING_TOKEN is sent as a bearer token, over https verified against MLFLOW_TRACKING_SERVER_CERT_PATH', async () => {
    const v = await client({ MLFLOW_TRACKING_TOKEN: 'dapi-test-token', MLFLOW_TRACKING_SERVER_CERT_PATH: certs.caCert }).getVersionByAlias('fraud-detector', 'champion');
    expect(v.version).toBe('7');
    expect(seen.at(-1)).toBe('Bearer dapi-test-token');
  });

  it('MLFLOW_TRACKING_USERNAME/PASSWORD are sent as basic auth', async () => {
    const v = await client({ MLFLOW_TRACKING_USERNAME: 'ml-user', MLFLOW_TRACKING_PASSWORD: 'ml-pass', MLFLOW_TRACKING_SERVER_CERT_PATH: certs.caCert }).getVersionByAlias('fraud-detector', 'champion');
    expect(v.version).toBe('7');
  });

  it('without credentials the server\'s 401 comes back as an MlflowError with its code; without the CA the certificate is refused', async () => {
    await expect(client({ MLFLOW_TRACKING_SERVER_CERT_PATH: certs.caCert }).getVersionByAlias('fraud-detector', 'champion')).rejects.toMatchObject({ status: 401, errorCode: 'UNAUTHENTICATED' });
    await expect(client({ MLFLOW_TRACKING_TOKEN: 'dapi-test-token' }).getVersionByAlias('fraud-detector', 'champion')).rejects.toThrow(/unreachable.*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify)/);
  });
});

describe('credential settings that go together', () => {
  const refusal = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.setting;
      throw err;
    }
    return 'accepted';
  };

  it('names the setting that is missing or in the way', () => {
    expect(refusal({ MLFLOW_TRACKING_USERNAME: 'u' })).toBe('MLFLOW_TRACKING_PASSWORD');
    expect(refusal({ MLFLOW_TRACKING_PASSWORD: 'p' })).toBe('MLFLOW_TRACKING_USERNAME');
    expect(refusal({ MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'u', MLFLOW_TRACKING_PASSWORD: 'p' })).toBe('MLFLOW_TRACKING_TOKEN');
    expect(refusal({ SCHEMA_REGISTRY_USERNAME: 'k' })).toBe('SCHEMA_REGISTRY_PASSWORD');
    expect(refusal({ KAFKA_SSL: 'yes' })).toBe('KAFKA_SSL');
    expect(refusal({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toBe('KAFKA_SSL_CA_FILE');
    expect(refusal({ KAFKA_SASL_MECHANISM: 'gssapi' })).toBe('KAFKA_SASL_MECHANISM');
    expect(refusal({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'p' })).toBe('KAFKA_SASL_USERNAME');
    expect(refusal({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' })).toBe('KAFKA_SASL_PASSWORD');
    expect(refusal({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_PASSWORD_FILE: '/p' })).toBe('KAFKA_SASL_PASSWORD');
    expect(refusal({ KAFKA_SASL_USERNAME: 'u' })).toBe('KAFKA_SASL_USERNAME');
    expect(refusal({ TLS_KEY_PASSPHRASE: 'x' })).toBe('TLS_KEY_PASSPHRASE');
    expect(refusal({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toBe('accepted');
  });
});
