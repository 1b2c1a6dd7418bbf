/**
 * Error paths provoked for real against the gateway process: a body of unknowable length (411),
 * an over-limit body past the linger bound (413, then the connection is closed), a WebSocket
 * frame over the limit (1009 with a reason, not a dropped TCP connection), too many messages in
 * flight on one connection, a model registry that cannot be reached (502), and a disk that is
 * full (/dev/full behind the scored-events file: 503 SINK_FULL with Retry-After over HTTP and
 * retryAfterMs over the WebSocket, readiness fails).
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startGateway, validTx, type RunningGateway } from '../../test/support/gateway.js';
import { rawExchange, statuses } from '../../test/support/raw.js';
import { openClient } from '../../test/support/ws.js';

interface ErrorAnswer {
  error: { code: string; message: string; field?: string; retryAfterMs?: number };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('protocol edges', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      MAX_BODY_BYTES: '4096',
      BODY_LINGER_BYTES: '65536',
      WS_MAX_PAYLOAD_BYTES: '4096',
      WS_MAX_IN_FLIGHT: '1',
      ADMIN_TOKEN: 'edges-token',
      MLFLOW_TRACKING_URI: `http://127.0.0.1:${await closedPort()}`,
    });
  });
  afterAll(async () => {
    expect(await gw.stop()).toBe(0);
  });

  it('a POST with neither Content-Length nor chunked encoding gets 411 LENGTH_REQUIRED and a close', async () => {
    const body = JSON.stringify(validTx());
    const ex = await rawExchange(gw.port, (send) => send(`POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n${body}`));
    expect(statuses(ex.text)).toEqual([411]);
    expect(ex.text).toContain('"code":"LENGTH_REQUIRED"');
    expect(ex.closedByServer).toBe(true);
  });

  it('an over-limit body is drained up to BODY_LINGER_BYTES; past it the 413 comes and the connection closes', async () => {
    const chunk = 'x'.repeat(8192);
    const ex = await rawExchange(gw.port, (send) => {
      send('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      // 72 KiB > 4 KiB + 64 KiB, and no more: the client stops writing as one that waits for its
      // answer would, so the server's close leaves nothing unread (no RST eating the answer).
      for (let i = 0; i < 9; i++) send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(statuses(ex.text)).toEqual([413]);
    expect(ex.text).toContain('"code":"BODY_TOO_LARGE"');
    expect(ex.closedByServer).toBe(true);
    // Declared far over the bound: answered at once, without reading, and closed.
    const declared = await rawExchange(gw.port, (send) => send(`POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{`));
    expect(statuses(declared.text)).toEqual([413]);
    expect(declared.closedByServer).toBe(true);
  });

  it('a WebSocket frame over WS_MAX_PAYLOAD_BYTES is closed with 1009 and a reason', async () => {
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify({ id: 1, transaction: validTx({ metadata: { pad: 'x'.repeat(10_000) } }) }));
    await c.waitFor(1).catch(() => undefined); // no reply comes: the connection closes
    expect(c.closed?.code).toBe(1009);
    expect(c.closed?.reason).toMatch(/WS_MAX_PAYLOAD_BYTES/);
  });

  it('messages past WS_MAX_IN_FLIGHT on one connection get TOO_MANY_IN_FLIGHT, the first is scored', async () => {
    const c = await openClient(gw.port);
    c.ws.send(JSON.stringify([1, 2, 3].map((id) => ({ id, transaction: validTx() }))));
    const replies = await c.waitFor(3);
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)?.result).toBeDefined();
    expect(byId.get(2)?.error?.code).toBe('TOO_MANY_IN_FLIGHT');
    expect(byId.get(3)?.error?.code).toBe('TOO_MANY_IN_FLIGHT');
    expect(c.closed).toBeNull();
    c.ws.close();
  });

  it('a plain GET of the WebSocket route is 426 UPGRADE_REQUIRED naming the upgrade', async () => {
    const r = await fetch(`${gw.url}/v1/stream`);
    expect(r.status).toBe(426);
    expect(r.headers.get('upgrade')).toBe('websocket');
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('UPGRADE_REQUIRED');
  });

  it('an operator call with a bearer that is not ADMIN_TOKEN (no keys configured) is 401 UNAUTHORIZED', async () => {
    const r = await fetch(`${gw.url}/v1/users/anyone/window`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('UNAUTHORIZED');
  });

  it('a reload while MLflow cannot be reached is 502 REGISTRY_UNAVAILABLE, and MODEL_DIR keeps serving', async () => {
    const r = await fetch(`${gw.url}/v1/models/reload`, { method: 'POST', headers: { authorization: 'Bearer edges-token' } });
    expect(r.status).toBe(502);
    expect(((await r.json()) as ErrorAnswer).error.code).toBe('REGISTRY_UNAVAILABLE');
    expect((await postJson(`${gw.url}/v1/score`, validTx())).status).toBe(200);
  });
});

describe('a full disk', () => {
  it('scored events that cannot be written are not answered 200: 503 SINK_FULL, and readiness fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregate-full-'));
    symlinkSync('/dev/full', join(dir, 'scored.jsonl')); // every write fails with ENOSPC
    const gw = await startGateway({ DATA_DIR: dir });
    try {
      const tx = validTx();
      const r = await postJson(`${gw.url}/v1/score`, tx);
      expect(r.status).toBe(503);
      expect((r.json as ErrorAnswer).error.code).toBe('SINK_FULL');
      // Every 503 says when to retry: the error map's 5 s, as the header and in the body.
      expect(r.headers.get('retry-after')).toBe('5');
      expect((r.json as ErrorAnswer).error.retryAfterMs).toBe(5000);
      const again = await postJson(`${gw.url}/v1/score`, tx); // not remembered: refused again, not replayed
      expect(again.status).toBe(503);
      expect((again.json as ErrorAnswer).error.code).toBe('SINK_FULL');
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as ErrorAnswer).error.message).toMatch(/sink refuses writes/);
      expect(ready.headers.get('retry-after')).toBe('1'); // NOT_READY
      // The WebSocket's per-message error carries the same delay.
      const ws = await openClient(gw.port);
      try {
        ws.ws.send(JSON.stringify({ id: 'full', transaction: validTx() }));
        const [reply] = await ws.waitFor(1);
        expect(reply?.error).toMatchObject({ code: 'SINK_FULL', retryAfterMs: 5000 });
      } finally {
        ws.ws.close();
      }
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });
});
