/**
 * (a) The transport ceiling: a bare uWebSockets.js server that parses each POST body with
 * JSON.parse and answers it back (JSON.stringify of the parsed value); 400 when it is not JSON.
 * Also a WebSocket echo on /v1/stream (same parse + stringify per message), and GET /readyz.
 *
 *   PORT=... HOST=127.0.0.1 node dist/loadtest/servers/echo.js
 */
import uWS from 'uWebSockets.js';

const port = Number(process.env['PORT'] ?? 8090);
const host = process.env['HOST'] ?? '127.0.0.1';
const utf8 = new TextDecoder('utf-8');

function echo(text: string): [string, string] {
  try {
    return ['200 OK', JSON.stringify(JSON.parse(text))];
  } catch {
    return ['400 Bad Request', '{"error":{"code":"INVALID_JSON","message":"request body is not valid JSON"}}'];
  }
}

const app = uWS.App();
app.post('/*', (res) => {
  let aborted = false;
  let chunks: Buffer[] | null = null;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    let text: string;
    if (isLast && chunks === null) text = utf8.decode(chunk);
    else {
      (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      text = utf8.decode(Buffer.concat(chunks));
    }
    if (aborted) return;
    const [status, body] = echo(text);
    res.cork(() => {
      res.writeStatus(status).writeHeader('content-type', 'application/json').end(body);
    });
  });
});
app.get('/readyz', (res) => {
  res.end('{"ready":true}');
});
app.ws('/v1/stream', {
  compression: uWS.DISABLED,
  maxPayloadLength: 1 << 20,
  idleTimeout: 120,
  message: (ws, message) => {
    ws.send(echo(utf8.decode(message))[1], false);
  },
});
app.listen(host, port, (token) => {
  if (!token) {
    console.error(JSON.stringify({ level: 'error', msg: 'listen failed', port }));
    process.exit(1);
  }
  console.error(JSON.stringify({ level: 'info', msg: 'listening', host, port }));
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
