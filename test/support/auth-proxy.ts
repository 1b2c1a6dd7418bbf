/**
 * An HTTPS reverse proxy with basic auth in front of a plain-HTTP service (Apicurio here): what
 * a managed schema registry (Confluent Cloud) looks like to a client. Requests without the
 * right credentials get 401 and never reach the service; counts tell what was forwarded.
 */
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface AuthProxy {
  /** https://127.0.0.1:port + the target's path prefix. */
  url: string;
  forwarded: number;
  refused: number;
  close(): Promise<void>;
}

export async function startAuthProxy(target: string, tls: { cert: string; key: string }, user: string, password: string): Promise<AuthProxy> {
  const t = new URL(target);
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const state = { forwarded: 0, refused: 0 };
  const server: Server = createServer(tls, (req, res) => {
    if (req.headers.authorization !== expected) {
      state.refused++;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"', 'content-type': 'application/json' }).end('{"error_code":401,"message":"Unauthorized"}');
      return;
    }
    state.forwarded++;
    const headers = { ...req.headers, host: t.host };
    delete headers.authorization;
    const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}${t.pathname.replace(/\/$/, '')}`,
    get forwarded() {
      return state.forwarded;
    },
    get refused() {
      return state.refused;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
