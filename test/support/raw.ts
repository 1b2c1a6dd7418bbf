/**
 * Raw HTTP over a TCP socket, for what real clients never send but a server must survive:
 * HTTP/1.0 without Content-Length, pipelined requests, chunked bodies that stop, bad framing.
 * Resolves with everything the server wrote before it closed (or `idleMs` of silence).
 */
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything received. */
  text: string;
  /** True when the server closed the connection (false: we gave up after idleMs of silence). */
  closedByServer: boolean;
}

export function rawExchange(port: number, write: (send: (data: string) => void) => void, opts: { idleMs?: number; until?: (text: string) => boolean } = {}): Promise<RawExchange> {
  const idleMs = opts.idleMs ?? 2000;
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimeout(timer);
      s.destroy();
      resolve({ text, closedByServer });
    };
    const arm = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => finish(false), idleMs);
    };
    const s = connect(port, '127.0.0.1', () => {
      arm();
      write((data) => {
        if (!s.destroyed) s.write(data);
      });
    });
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text) === true) return finish(false);
      arm();
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
  });
}

/** Status codes of the HTTP answers in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}
