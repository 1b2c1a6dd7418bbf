/** A WebSocket client of /v1/stream for tests (the `ws` package): replies collected by id. */
import WebSocket from 'ws';
import { vi } from 'vitest';

export interface Reply {
  id: string | number | null;
  result?: { transactionId: string; score: number; riskCategory: string; model: { name: string; version: string } };
  replayed?: boolean;
  error?: { code: string; field?: string; message: string; retryAfterMs?: number };
}

export class Client {
  readonly ws: WebSocket;
  readonly replies: Reply[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(url: string, opts: WebSocket.ClientOptions = {}, protocols?: string | string[]) {
    this.ws = protocols === undefined ? new WebSocket(url, opts) : new WebSocket(url, protocols, opts);
    this.ws.on('message', (d) => {
      this.replies.push(JSON.parse(d.toString()) as Reply);
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  opened(): Promise<void> {
    return new Promise((res, rej) => {
      this.ws.once('open', () => res());
      this.ws.once('error', rej);
    });
  }

  /** Waits for `n` replies; a closed connection fails at once (no more replies can come). */
  async waitFor(n: number, timeoutMs = 20_000): Promise<Reply[]> {
    const short = (): string => `got ${this.replies.length}/${n} replies; closed ${JSON.stringify(this.closed)}`;
    await vi.waitFor(
      () => {
        if (this.replies.length < n && this.closed === null) throw new Error(short());
      },
      { timeout: timeoutMs, interval: 10 },
    );
    if (this.replies.length < n) throw new Error(short());
    return this.replies;
  }

  /** The reply for each id, in the order of `ids`. */
  answersFor(ids: readonly (string | number)[]): (Reply | undefined)[] {
    const byId = new Map(this.replies.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }
}


/** Opens a client on the gateway's /v1/stream (headers and subprotocols optional). */
export async function openClient(port: number, opts: WebSocket.ClientOptions = {}, protocols?: string | string[]): Promise<Client> {
  const c = new Client(`ws://127.0.0.1:${port}/v1/stream`, opts, protocols);
  await c.opened();
  return c;
}
