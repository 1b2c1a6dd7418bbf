/**
 * What `scoregate score` sends transactions to: a running gateway over HTTP (score-http.ts) or
 * the scoring pipeline in this process (score-local.ts). Both answer each item with the
 * gateway's answer text, or its coded error.
 */

/** One input line that parsed as JSON. */
export interface Item {
  /** 1-based line number in the input. */
  line: number;
  value: unknown;
  /** The line as read (what the gateway would receive as the body). */
  text: string;
}

/** An error as the gateway codes it, or one of the command's own (see LOCAL_CODES). */
export interface LineError {
  code: string;
  message: string;
  field?: string;
  /** Worth retrying with the same transactionId after this many ms. */
  retryAfterMs?: number;
}

export type Reply = { ok: true; body: string; replayed: boolean } | { ok: false; error: LineError };

export interface Target {
  /** Scores the items (one request, or one batch request); one reply per item, in order. */
  send(items: Item[]): Promise<Reply[]>;
  close(): Promise<void>;
}

/**
 * Errors the command itself gives a line: not JSON, the gateway unreachable or silent past
 * --timeout-ms, an answer that is not the gateway's JSON.
 */
export const LOCAL_CODES = ['INVALID_JSON', 'UNREACHABLE', 'TIMEOUT', 'BAD_RESPONSE'] as const;

/**
 * Codes a retry with the same transactionId may cure: transactionId is the idempotency key, so
 * a retry of something already scored replays its answer instead of counting it twice.
 */
const RETRYABLE = new Set(['OVERLOADED', 'NOT_READY', 'SINK_FULL', 'RATE_LIMITED', 'TOO_MANY_IN_FLIGHT', 'UNREACHABLE', 'TIMEOUT']);

export function retryable(e: LineError): boolean {
  return RETRYABLE.has(e.code);
}
