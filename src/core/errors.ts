/**
 * Every error scoregate can answer with. One map: code → HTTP status, default message and, for
 * the codes a client should retry after a delay, `retryAfterMs` (sent as `Retry-After` over
 * HTTP and as `retryAfterMs` in the error over the WebSocket and in batch items). Every 503
 * carries one. Decisions read `code`, never the message text. README's error table mirrors this
 * map and errors.test.ts checks that it does.
 */
import { maskText } from '../privacy/text.js';
import { redactPaths } from './redact.js';

export const ERRORS = {
  INVALID_JSON: { status: 400, message: 'request body is not valid JSON' },
  INVALID_BODY: { status: 400, message: 'request body has the wrong shape' },
  MISSING_FIELD: { status: 400, message: 'a required field is missing or empty' },
  INVALID_TYPE: { status: 400, message: 'a field has the wrong type' },
  INVALID_FIELD: { status: 400, message: 'a field has an unusable value' },
  INVALID_AMOUNT: { status: 400, message: 'amount must be a positive decimal with at most 2 decimals and 16 integer digits' },
  INVALID_CURRENCY: { status: 400, message: 'currency must be an active ISO 4217 code' },
  INVALID_TIMESTAMP: { status: 400, message: 'timestamp must be epoch milliseconds or an ISO-8601 date-time' },
  DUPLICATE_TRANSACTION: { status: 409, message: 'this transactionId was already counted, and its answer is no longer remembered' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'this transactionId was already used for a different transaction' },
  BATCH_TOO_LARGE: { status: 413, message: 'too many transactions in one batch' },
  BODY_TOO_LARGE: { status: 413, message: 'request body exceeds the size limit' },
  LENGTH_REQUIRED: { status: 411, message: 'a request body needs Content-Length or chunked Transfer-Encoding' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'content-type must be application/json' },
  NOT_FOUND: { status: 404, message: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this route' },
  UPGRADE_REQUIRED: { status: 426, message: 'this route is a WebSocket: send the upgrade handshake (Upgrade: websocket)' },
  // Retry-After 1 s: warming, shutting down or an owner moving all settle within seconds.
  NOT_READY: { status: 503, message: 'the gateway is not ready: model not loaded and warmed yet', retryAfterMs: 1000 },
  OVERLOADED: { status: 503, message: 'the gateway is at its admission limit: retry after the Retry-After delay', retryAfterMs: 1000 },
  // 5 s: a full spool drains only once Kafka is back, and a failing disk does not heal in 1 s;
  // a longer hint keeps retries of a whole fleet of clients from adding to the load meanwhile.
  SINK_FULL: { status: 503, message: 'the event spool is full (Kafka unreachable for too long): scoring is refused rather than losing events', retryAfterMs: 5000 },
  INFERENCE_FAILED: { status: 500, message: 'the model failed to score this transaction' },
  INTERNAL: { status: 500, message: 'internal error' },
  UNAUTHORIZED: { status: 401, message: 'this call needs the admin bearer token' },
  ADMIN_DISABLED: { status: 403, message: 'admin calls are disabled: set ADMIN_TOKEN' },
  INVALID_SIGNATURE: { status: 401, message: 'the webhook signature does not verify' },
  STALE_DELIVERY: { status: 401, message: 'the webhook delivery is too old or too far ahead' },
  NOT_CONFIGURED: { status: 409, message: 'no model registry is configured (MLFLOW_TRACKING_URI)' },
  MODEL_REJECTED: { status: 422, message: 'the model failed validation; the previous model keeps serving' },
  REGISTRY_UNAVAILABLE: { status: 502, message: 'the model registry could not be reached or answered an error' },
  TOO_MANY_IN_FLIGHT: { status: 429, message: 'too many messages in flight on this connection' },
  // src/auth/: one message whatever was wrong with the credentials (unknown key id, wrong
  // secret, revoked, bad signature, expired…), so an answer tells a caller nothing to probe with.
  UNAUTHENTICATED: { status: 401, message: 'missing or invalid credentials' },
  FORBIDDEN: { status: 403, message: 'these credentials do not allow this call' },
  RATE_LIMITED: { status: 429, message: 'rate limit of these credentials exceeded: retry after Retry-After seconds' },
} as const satisfies Record<string, ErrorSpec>;

export interface ErrorSpec {
  status: number;
  message: string;
  /** Set on the codes a client should retry after this delay (all 503s). */
  retryAfterMs?: number;
}

export type ErrorCode = keyof typeof ERRORS;

/** The map seen through its common shape (`retryAfterMs` is on some codes only). */
const SPECS: Readonly<Record<ErrorCode, ErrorSpec>> = ERRORS;

/** The JSON body of every error answer: `{"error": {code, message, field?}}`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
  /** When to try again (also the Retry-After header over HTTP): every 503, and RATE_LIMITED. */
  retryAfterMs?: number;
}

export class ScoregateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  /**
   * Set on errors a client should retry after a delay: the map's default for the code (every
   * 503), or a delay known only at the throw (RATE_LIMITED's missing tokens).
   */
  retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message?: string, field?: string) {
    const spec = SPECS[code];
    super(message ?? spec.message);
    this.name = 'ScoregateError';
    this.code = code;
    this.status = spec.status;
    this.field = field;
    this.retryAfterMs = spec.retryAfterMs;
  }

  toBody(): ErrorBody {
    // An answer echoes nothing it should not: no server paths, no card data or PII (a message or
    // field name may quote the client's input, e.g. a metadata key that held a card number).
    const body: ErrorBody = { code: this.code, message: maskText(redactPaths(this.message)) };
    if (this.field !== undefined) body.field = maskText(this.field);
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    return body;
  }
}

/** Any thrown value as a ScoregateError; unknown failures become INTERNAL without leaking details. */
export function asScoregateError(err: unknown): ScoregateError {
  return err instanceof ScoregateError ? err : new ScoregateError('INTERNAL');
}

/** `{"error": …}` serialised once, for answers built outside the hot path. */
export function errorJson(code: ErrorCode, message?: string, field?: string): string {
  return JSON.stringify({ error: new ScoregateError(code, message, field).toBody() });
}
