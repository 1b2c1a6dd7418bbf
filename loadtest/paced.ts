/**
 * Open-loop, fixed-rate HTTP/1.1 load for latency: requests are issued on a schedule (every
 * millisecond tick, the ones due by then) whatever the server's speed, over a pool of keep-alive
 * connections (pipelining 1). A request issued while every connection is busy waits in a queue
 * and its latency counts from when it was issued, so a server that falls behind shows it (no
 * coordinated omission); the generator's own tick granularity (~1 ms) is not counted.
 *
 * Why not autocannon's overallRate: autocannon gives each connection a per-second quota and
 * a 1 s timer; every connection fires its quota back to back at the start of each second and
 * then idles, so "5000 req/s" is really a saturation burst at the top of every second, and its
 * latency is queueing latency. (autocannon is used for the saturation runs.)
 *
 * The response parser is minimal: status line, Content-Length body (every target answers with
 * one); anything else counts as an error and the connection is replaced.
 *
 * Each completed request's status sits beside its latency (`statuses`), so a caller can split
 * latency by answer (200 admitted vs 503 shed); a non-2xx answer's `"code"` is tallied.
 */
import net from 'node:net';

export interface PacedOptions {
  host: string;
  port: number;
  path: string;
  rate: number;
  durationMs: number;
  connections: number;
  body: () => string;
  /** Wait this long after the schedule ends for answers still in flight. */
  drainMs?: number;
  /** Hard cap on requests (the schedule's count is rate × duration anyway). */
  maxRequests?: number;
  /** Count the 2xx answers whose body contains this text (e.g. `"fallback":true`). */
  mark?: string;
}

const TOOK = '"tookMs":';

export interface PacedResult {
  scheduled: number;
  sent: number;
  completed: number;
  /** Requests due but never sent because the run ended first (the server fell behind). */
  unsent: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  errors: number;
  /** errors by kind: closed (connection lost mid-request), framing (no Content-Length), unanswered (still in flight at the end of the drain). */
  errorKinds: { closed: number; framing: number; unanswered: number };
  durationS: number;
  achievedRps: number;
  /** Latency of every completed request in ms, issued → full answer read. */
  latencies: Float64Array;
  /** When each of `latencies` was issued, ms since the run started. */
  issuedAtMs: Float64Array;
  /** The server's own `tookMs` of every 2xx answer that carries one (scoregate, the Fastify rival). */
  serverMs: Float64Array;
  /** The HTTP status of each of `latencies`. */
  statuses: Uint16Array;
  /** Non-2xx answers by the `"code"` in their JSON body (`-` when there is none). */
  errorCodes: Record<string, number>;
  /** 2xx answers whose body contained `mark` (0 without one). */
  marked: number;
  /** Requests that found every connection busy and waited in the generator's queue. */
  waited: number;
  /** When the last request was written, ms since the run started: past the duration, the generator fell behind its own schedule. */
  lastSentAtMs: number;
  /** The longest gap between two schedule ticks (ms; 1 when the generator keeps up): a busy generator ticks late and sends in bursts. */
  maxTickGapMs: number;
}

interface Conn {
  sock: net.Socket;
  busy: boolean;
  dueAt: number;
  buf: Buffer | null;
  ready: boolean;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CODE = Buffer.from('"code":"');
const QUOTE = 0x22;

export function paced(o: PacedOptions): Promise<PacedResult> {
  const maxRequests = o.maxRequests ?? Math.ceil((o.rate * o.durationMs) / 1000) + 1;
  const lat = new Float64Array(maxRequests);
  const took = new Float64Array(maxRequests);
  const issued = new Float64Array(maxRequests);
  const stat = new Uint16Array(maxRequests);
  let tookN = 0;
  const statusCodes: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const mark = o.mark === undefined || o.mark === '' ? null : Buffer.from(o.mark);
  let marked = 0;
  let waited = 0;
  let lastSent = 0;
  let lastTick = 0;
  let maxTickGap = 0;
  const queue: number[] = []; // due times of requests waiting for a free connection
  let qHead = 0;
  let scheduled = 0;
  let sent = 0;
  let completed = 0;
  let errors = 0;
  let framing = 0;
  let closedErrors = 0;
  let non2xx = 0;
  let stopped = false;
  const conns: Conn[] = [];
  const idle: Conn[] = [];
  const head = `POST ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: `;

  return new Promise((resolve) => {
    let t0 = 0;
    let ticker: NodeJS.Timeout | null = null;

    const send = (c: Conn, dueAt: number): void => {
      const body = o.body();
      c.busy = true;
      c.dueAt = dueAt;
      sent++;
      lastSent = performance.now();
      c.sock.write(head + Buffer.byteLength(body) + '\r\n\r\n' + body);
    };

    const release = (c: Conn): void => {
      c.busy = false;
      if (qHead < queue.length) {
        send(c, queue[qHead++]!);
        if (qHead > 4096 && qHead * 2 > queue.length) {
          queue.splice(0, qHead);
          qHead = 0;
        }
      } else idle.push(c);
      if (stopped && completed + errors >= sent) finish();
    };

    const onData = (c: Conn, chunk: Buffer): void => {
      c.buf = c.buf === null ? chunk : Buffer.concat([c.buf, chunk]);
      for (;;) {
        const buf: Buffer | null = c.buf;
        if (buf === null) return;
        const end: number = buf.indexOf(CRLF2);
        if (end < 0) return;
        const headText = buf.toString('latin1', 0, end);
        const status = Number(headText.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
        if (m === null) {
          // No Content-Length (chunked or close-delimited): not supported, replace the connection.
          errors++;
          framing++;
          c.busy = false;
          c.buf = null;
          retire(c);
          return;
        }
        const total: number = end + 4 + Number(m[1]);
        if (buf.length < total) return;
        c.buf = buf.length === total ? null : buf.subarray(total);
        if (!c.busy) continue; // an answer nobody asked for
        const ms = performance.now() - c.dueAt;
        if (completed < lat.length) {
          lat[completed] = ms;
          issued[completed] = c.dueAt - t0;
          stat[completed] = status;
        }
        completed++;
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (status < 200 || status >= 300) {
          // {"error":{"code":"OVERLOADED",...}}: a search in the body's bytes, no JSON parse.
          const k = buf.indexOf(CODE, end);
          const code = k < 0 || k >= total ? '-' : buf.toString('latin1', k + CODE.length, Math.max(k + CODE.length, buf.indexOf(QUOTE, k + CODE.length)));
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        } else if (mark !== null) {
          const k = buf.indexOf(mark, end);
          if (k >= 0 && k + mark.length <= total) marked++;
        }
        if (/\r\nconnection:\s*close/i.test(headText)) {
          // The server ends this connection after the answer (Fastify does after a 400 for bad
          // JSON): replace it rather than send the next request into a closing socket.
          c.busy = false;
          c.buf = null;
          retire(c);
          if (status < 200 || status >= 300) non2xx++;
          return;
        }
        if (status < 200 || status >= 300) non2xx++;
        else if (tookN < took.length) {
          const k = buf.lastIndexOf(TOOK, total);
          if (k > end) took[tookN++] = Number.parseFloat(buf.toString('latin1', k + TOOK.length, Math.min(total, k + TOOK.length + 24)));
        }
        release(c);
      }
    };

    const open = (): Conn => {
      const c: Conn = { sock: net.connect(o.port, o.host), busy: false, dueAt: 0, buf: null, ready: false };
      c.sock.setNoDelay(true);
      c.sock.on('data', (d: Buffer) => onData(c, d));
      c.sock.on('connect', () => {
        c.ready = true;
      });
      c.sock.on('error', () => undefined);
      c.sock.on('close', () => lost(c));
      conns.push(c);
      return c;
    };

    /** A connection that closed: a request on it is lost (an error); a replacement takes its place. */
    const lost = (c: Conn): void => {
      if (c.busy) {
        errors++;
        closedErrors++;
        c.busy = false;
      }
      retire(c);
    };

    /** Drops `c` from the pool and, while the run goes on, opens a replacement. */
    const retire = (c: Conn): void => {
      c.sock.removeAllListeners('close');
      c.sock.destroy();
      const k = conns.indexOf(c);
      if (k >= 0) conns.splice(k, 1);
      const j = idle.indexOf(c);
      if (j >= 0) idle.splice(j, 1);
      if (!stopped) {
        const n = open();
        n.sock.once('connect', () => release(n));
      } else if (completed + errors >= sent) finish();
    };

    let done = false;
    let drainTimer: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (ticker !== null) clearTimeout(ticker);
      if (drainTimer !== null) clearTimeout(drainTimer);
      const durationS = (performance.now() - t0) / 1000;
      for (const c of conns.slice()) {
        c.sock.removeAllListeners('close');
        c.sock.destroy();
      }
      const unsent = scheduled - sent;
      const inFlightLost = sent - completed - errors;
      resolve({
        scheduled,
        sent,
        completed,
        unsent,
        statusCodes,
        non2xx,
        errors: errors + inFlightLost,
        errorKinds: { closed: closedErrors, framing, unanswered: inFlightLost },
        durationS: o.durationMs / 1000,
        achievedRps: completed / Math.max(durationS, o.durationMs / 1000),
        latencies: lat.subarray(0, Math.min(completed, lat.length)),
        issuedAtMs: issued.subarray(0, Math.min(completed, lat.length)),
        serverMs: took.subarray(0, tookN),
        statuses: stat.subarray(0, Math.min(completed, lat.length)),
        errorCodes,
        marked,
        waited,
        lastSentAtMs: lastSent === 0 ? 0 : lastSent - t0,
        maxTickGapMs: maxTickGap,
      });
    };

    const tick = (): void => {
      const now = performance.now();
      if (now - lastTick > maxTickGap) maxTickGap = now - lastTick;
      lastTick = now;
      const elapsed = now - t0;
      const endOfSchedule = elapsed >= o.durationMs;
      const due = Math.min(maxRequests, Math.floor((Math.min(elapsed, o.durationMs) * o.rate) / 1000));
      while (scheduled < due) {
        // Latency counts from this tick (when the generator issues the request), not from the
        // exact instant in the schedule: the ticker's own ~1 ms granularity is not the server's
        // latency. A request that finds no free connection waits in the queue on the clock.
        scheduled++;
        const c = idle.pop();
        if (c !== undefined) send(c, performance.now());
        else {
          queue.push(now);
          waited++;
        }
      }
      if (endOfSchedule || scheduled >= maxRequests) {
        stopped = true;
        queue.length = 0;
        qHead = 0;
        if (completed + errors >= sent) return finish();
        drainTimer = setTimeout(finish, o.drainMs ?? 2000);
        return;
      }
      ticker = setTimeout(tick, 1);
    };

    // Connect everything first, then start the clock.
    for (let i = 0; i < o.connections; i++) open();
    let waited = 0;
    const start = (): void => {
      if (conns.every((c) => c.ready) || waited > 2000) {
        for (const c of conns) if (c.ready) idle.push(c);
        t0 = performance.now();
        lastTick = t0;
        tick();
      } else {
        waited += 5;
        setTimeout(start, 5);
      }
    };
    start();
  });
}
