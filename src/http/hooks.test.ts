/** Hook edge cases against the real gateway process, without a registry configured. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startGateway, type RunningGateway } from '../../test/support/gateway.js';
import { databricksSignature, mlflowSignature } from './signatures.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ MLFLOW_WEBHOOK_SECRET: 's', DATABRICKS_WEBHOOK_SECRET: 'd' });
});
afterAll(async () => {
  expect(await gw.stop()).toBe(0);
});

function mlflowHeaders(body: string, id: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'x-mlflow-delivery-id': id, 'x-mlflow-timestamp': ts, 'x-mlflow-signature': mlflowSignature('s', id, ts, Buffer.from(body)) };
}

describe('webhook edge cases', () => {
  it.each(['null', '[]', '42', '"x"'])('a signed body %s that is not an object gets 400 INVALID_BODY and the gateway stays up', async (body) => {
    const m = await postJson(`${gw.url}/hooks/mlflow`, body, mlflowHeaders(body, `id-${body}`));
    expect(m.status).toBe(400);
    expect((m.json as { error: { code: string } }).error.code).toBe('INVALID_BODY');
    const d = await postJson(`${gw.url}/hooks/databricks`, body, { 'x-databricks-signature': databricksSignature('d', Buffer.from(body)) });
    expect(d.status).toBe(400);
    expect(gw.exited()).toBe(false);
  });

  it('a delivery that could not be acted on is not remembered: its retry is acted on, not called a duplicate', async () => {
    const body = JSON.stringify({ entity: 'model_version_alias', action: 'created', data: { name: 'fraud-detector', alias: 'champion', version: '7' } });
    const headers = mlflowHeaders(body, 'retry-me');
    const first = await postJson(`${gw.url}/hooks/mlflow`, body, headers);
    expect((first.json as { error: { code: string } }).error.code).toBe('NOT_CONFIGURED');
    const retry = await postJson(`${gw.url}/hooks/mlflow`, body, headers);
    expect((retry.json as { error: { code: string } }).error.code).toBe('NOT_CONFIGURED');
  });

  it('an unsigned delivery gets 401', async () => {
    const r = await postJson(`${gw.url}/hooks/mlflow`, '{}', {});
    expect(r.status).toBe(401);
  });
});
