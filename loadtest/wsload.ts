/**
 * WebSocket load: one connection to /v1/stream, a window of `window` messages in flight (one
 * `{"id", "transaction"}` per frame); each answer frees a slot that is refilled at once.
 * Per-message round trip (send → answer with that id) and messages/s, bounded by time and count.
 */
import WebSocket from 'ws';

export interface WsOptions {
  url: string;
  window: number;
  durationMs: number;
  maxMessages: number;
  /** The transaction JSON for the next message. */
  transaction: () => string;
  drainMs?: number;
}

export interface WsResult {
  sent: number;
  completed: number;
  /** Answers that were `{"id", "error"}` (the bad ~2%, or anything else refused). */
  errorAnswers: number;
  errorCodes: Record<string, number>;
  /** Sent but never answered by the end of the drain. */
  lost: number;
  closed: string | null;
  durationS: number;
  /** Answers per second, results and errors alike. */
  msgPerS: number;
  /** `{"id", "result"}` answers per second (scored, the fallback included): an OVERLOADED error is an answer, not a score. */
  resultsPerS: number;
  latencies: Float64Array;
  /** The server's own `tookMs` of each result that carries one (scoregate). */
  serverMs: Float64Array;
}

const TOOK = '"tookMs":';

export function wsLoad(o: WsOptions): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url, { perMessageDeflate: false });
    const sentAt = new Map<number, number>();
    const lat = new Float64Array(o.maxMessages);
    const took = new Float64Array(o.maxMessages);
    let tookN = 0;
    const errorCodes: Record<string, number> = {};
    let nextId = 0;
    let completed = 0;
    let completedAtStop = 0;
    let errorAnswers = 0;
    let results = 0;
    let resultsAtStop = 0;
    let stopping = false;
    let closed: string | null = null;
    let t0 = 0;
    let tEnd = 0;
    let done = false;
    let stopTimer: NodeJS.Timeout | null = null;
    let drainTimer: NodeJS.Timeout | null = null;

    const finish = (): void => {
      if (done) return;
      done = true;
      if (stopTimer !== null) clearTimeout(stopTimer);
      if (drainTimer !== null) clearTimeout(drainTimer);
      const end = tEnd || performance.now();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      const durationS = (end - t0) / 1000;
      resolve({
        sent: nextId,
        completed,
        errorAnswers,
        errorCodes,
        lost: sentAt.size,
        closed,
        durationS,
        msgPerS: (stopping ? completedAtStop : completed) / durationS,
        resultsPerS: (stopping ? resultsAtStop : results) / durationS,
        latencies: lat.subarray(0, Math.min(completed, lat.length)),
        serverMs: took.subarray(0, tookN),
      });
    };

    const sendOne = (): void => {
      const id = nextId++;
      sentAt.set(id, performance.now());
      ws.send(`{"id":${id},"transaction":${o.transaction()}}`);
    };

    const fill = (): void => {
      while (!stopping && sentAt.size < o.window && nextId < o.maxMessages) sendOne();
      if (!stopping && nextId >= o.maxMessages) stop();
    };

    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      tEnd = performance.now();
      completedAtStop = completed;
      resultsAtStop = results;
      if (sentAt.size === 0) return finish();
      drainTimer = setTimeout(finish, o.drainMs ?? 2000);
    };

    ws.on('open', () => {
      t0 = performance.now();
      stopTimer = setTimeout(stop, o.durationMs);
      fill();
    });
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const text = data.toString();
      // The id is the first member of every answer: {"id":123,...
      const comma = text.indexOf(',');
      const id = Number(text.slice(6, comma));
      const t = sentAt.get(id);
      if (t === undefined) {
        errorAnswers++;
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'UNMATCHED';
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        return;
      }
      sentAt.delete(id);
      if (completed < lat.length) lat[completed] = now - t;
      completed++;
      if (text.charCodeAt(comma + 2) === 101 /* "error" */) {
        errorAnswers++;
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'UNKNOWN';
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      } else {
        results++;
        if (tookN < took.length) {
          const k = text.lastIndexOf(TOOK);
          if (k > 0) took[tookN++] = Number.parseFloat(text.slice(k + TOOK.length));
        }
      }
      if (stopping) {
        if (sentAt.size === 0) finish();
      } else fill();
    });
    ws.on('close', (code, reason) => {
      closed = `${code} ${reason.toString()}`;
      if (t0 === 0) reject(new Error(`websocket closed before open: ${closed}`));
      else {
        if (!stopping) tEnd = performance.now();
        finish();
      }
    });
    ws.on('error', (err) => {
      if (t0 === 0) reject(err);
      else {
        closed = `error ${err.message}`;
        finish();
      }
    });
  });
}
