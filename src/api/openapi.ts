/**
 * The OpenAPI 3.1 description of every HTTP route, served at GET /openapi.json. Built in code
 * from the modules that decide the answers (schemas.ts), so it ships inside the build output
 * and nothing is read from disk. Each operation lists every status it really answers; the HTTP
 * tests validate every answer they read against this document (test/support/openapi.ts), and
 * schemathesis fuzzes the live gateway with it (src/api/schemathesis.test.ts).
 */
import { ERRORS } from '../core/errors.js';
import { codesWithStatus, errorBody, nonZeroDigits, errorDetail, scoreResult, transaction, type Schema } from './schemas.js';

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): Schema => ({ 'application/json': { schema } });

const STATUS_WHY: Record<number, string> = {
  400: 'The body, a field or a header is unusable',
  401: 'No credentials, or credentials (API key, JWT, admin token, webhook signature) that do not verify',
  403: 'The credentials lack the role this call needs, or the call is disabled',
  404: 'Not found',
  405: 'The route exists with another method (`Allow` names it)',
  409: 'Conflict',
  411: 'A body of unknowable length (neither Content-Length nor chunked)',
  413: 'Too large',
  415: 'Content-Type is not application/json',
  422: 'Understood but refused',
  429: 'Too many requests: retry after Retry-After',
  500: 'A bug or a failed model step; details are logged, not answered',
  502: 'The model registry could not be reached or answered an error',
  503: 'Not ready, overloaded, or the event sink is full: retry',
};

const retryAfter = { 'Retry-After': { $ref: '#/components/headers/Retry-After' } };

/** An error answer whose code can only be one answered with that status. */
function errorResponse(status: number, only?: string[]): Schema {
  const codes = only ?? codesWithStatus(status);
  const out: Schema = {
    description: `${STATUS_WHY[status] ?? 'Error'}: ${codes.map((c) => '`' + c + '`').join(', ')}`,
    content: json({ allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: codes } } } } }] }),
  };
  if (status === 503 || status === 429) out['headers'] = retryAfter;
  if (status === 405) out['headers'] = { Allow: { description: 'The method this route takes', schema: { type: 'string' } } };
  return out;
}

function errors(...statuses: (number | [number, string[]])[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const s of statuses) {
    if (Array.isArray(s)) out[String(s[0])] = errorResponse(s[0], s[1]);
    else out[String(s)] = errorResponse(s);
  }
  return out;
}

const AUTH = [{ bearerJwt: [] }, { apiKey: [] }];
const AUTH_ERRORS: (number | [number, string[]])[] = [
  [401, ['UNAUTHENTICATED', 'UNAUTHORIZED']],
  [403, ['FORBIDDEN', 'ADMIN_DISABLED']],
  [429, ['RATE_LIMITED']],
];
/** Every route in the gateway's ROUTES table answers another method with 405. */
const E405 = [405] as const;

const budgetHeader: Schema = {
  name: 'Request-Budget-Ms',
  in: 'header',
  required: false,
  description: 'The most this request may take (ms) before the fallback rule model answers; capped at REQUEST_BUDGET_MS. Not a whole number ≥ 1: 400 INVALID_FIELD.',
  // uWS reads an empty header as an absent one: '' means the default budget. uWS also trims
  // bytes 0x80-0xFF off both ends of a header value (as if whitespace): the gateway never sees
  // them, so the pattern lets them stand there (found by schemathesis).
  schema: { type: 'string', pattern: `^[\\u0080-\\u00ff]*(${nonZeroDigits(9)})?[\\u0080-\\u00ff]*$` },
};

/** ?explain=true or Explain: true: the answer carries its top contributors (any other value: it does not). */
const explainParams: Schema[] = [
  { name: 'explain', in: 'query', required: false, description: 'true (or 1): the answer carries `explanation`, its top contributors (README, Explanations)', schema: { type: 'string' } },
  { name: 'Explain', in: 'header', required: false, description: 'true (or 1): as the explain query parameter', schema: { type: 'string' } },
];

const scoringErrors = (...extra: number[]): Record<string, Schema> =>
  errors(
    [400, [...codesWithStatus(400).filter((c) => c !== 'INVALID_JSON'), 'INVALID_JSON']],
    ...AUTH_ERRORS,
    ...extra,
    411,
    [413, ['BODY_TOO_LARGE', 'BATCH_TOO_LARGE']],
    415,
    [500, ['INTERNAL']],
    [503, ['NOT_READY', 'OVERLOADED', 'SINK_FULL']],
    ...E405,
  );

function hook(summary: string, description: string, headers: Schema[]): Schema {
  return {
    post: {
      tags: ['model lifecycle'],
      summary,
      description,
      parameters: headers,
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: {
        200: { description: 'Verified, but nothing to do: a duplicate delivery, or an event for another model or alias', content: json(ref('HookOutcome')) },
        202: { description: 'Verified and accepted: acted on in the background (outcome in GET /v1/models)', content: json(ref('HookOutcome')) },
        ...errors([400, ['INVALID_JSON', 'INVALID_BODY']], [401, ['INVALID_SIGNATURE', 'STALE_DELIVERY']], [409, ['NOT_CONFIGURED']], [413, ['BODY_TOO_LARGE']], [500, ['INTERNAL']], ...E405),
      },
    },
  };
}

const header = (name: string, description: string): Schema => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });

function getDoc(tag: string, summary: string, response: Schema, ...more: (number | [number, string[]])[]): Schema {
  return { get: { tags: [tag], summary, responses: { 200: response, ...errors(...more, ...E405) } } };
}

/** The Open Inference Protocol's own error body: `{"error": "message"}` (KServe v2). */
const OIP_ERROR: Schema = { 'application/json': { schema: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } } };

function oipParams(name: boolean, version: boolean): Schema[] {
  const out: Schema[] = [];
  if (name) out.push({ name: 'name', in: 'path', required: true, schema: { type: 'string' } });
  if (version) out.push({ name: 'version', in: 'path', required: true, schema: { type: 'string' } });
  return out;
}

function oipGet(summary: string, notFound?: number, name = false, version = false): Schema {
  const responses: Schema = { 200: { description: 'OK', content: json({ type: 'object' }) }, ...errors(...E405) };
  if (notFound !== undefined) responses[String(notFound)] = { description: notFound === 404 ? 'No such model or version' : 'Not ready', content: OIP_ERROR };
  return { get: { tags: ['open inference protocol'], summary, parameters: oipParams(name, version), responses } };
}

function oipInfer(version: boolean): Schema {
  const err = (d: string): Schema => ({ description: d, content: OIP_ERROR });
  return {
    post: {
      tags: ['open inference protocol'],
      summary: 'Open Inference Protocol: score FP32 feature rows [N, 26] with the served model (role scorer)',
      security: [{}, ...AUTH],
      parameters: oipParams(true, version),
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        200: { description: 'Scores', content: { 'application/json': { schema: { type: 'object' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        400: err('A bad tensor (the message names the field)'),
        401: err('No valid credentials'),
        403: err('The credential lacks the scorer role'),
        404: err('No such model or version'),
        411: err('No body length'),
        413: err('Body too large'),
        429: err('Rate limited'),
        500: err('The model failed'),
        503: err('No model loaded yet, or the inference queue is full'),
        ...errors(...E405),
      },
    },
  };
}

export function openApiDocument(version: string): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'scoregate',
      version,
      summary: 'Real-time fraud scoring gateway',
      description:
        'Every error is `{"error": {"code", "message", "field"?, "retryAfterMs"?}}`; the code is stable (README error table), the message is for people. ' +
        'Protected routes take `Authorization: Bearer <JWT>` or `Authorization: Bearer sk_…` (an API key); with no credentials configured (loopback only) every call is anonymous. ' +
        'The WebSocket messages and the Kafka topics are described in AsyncAPI at /asyncapi.json.',
      license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [{ name: 'scoring' }, { name: 'operations' }, { name: 'model lifecycle' }, { name: 'admin' }, { name: 'monitoring' }, { name: 'descriptions' }],
    paths: {
      '/v1/score': {
        post: {
          tags: ['scoring'],
          summary: 'Score one transaction',
          description: 'Idempotent by transactionId: a retry of the same transaction is answered the first answer again with `Idempotent-Replayed: true`. Role: scorer.',
          security: AUTH,
          parameters: [budgetHeader, ...explainParams],
          requestBody: { required: true, content: json(ref('Transaction')) },
          responses: {
            200: {
              description: 'Scored (by the model, or by the fallback rule model when `fallback` is true)',
              headers: {
                'Idempotent-Replayed': { description: 'Present (true) when this is the remembered answer to an earlier identical request', schema: { type: 'string', enum: ['true'] } },
                'Scoregate-Owner': { description: 'With CLUSTER_SHARDS: the address of the instance that owns this user and answered (a routing hint: a client or an Envoy route may send the user\'s next requests there directly)', schema: { type: 'string' } },
              },
              content: json(ref('ScoreResult')),
            },
            ...scoringErrors(409, 422),
          },
        },
      },
      '/v1/score/batch': {
        post: {
          tags: ['scoring'],
          summary: 'Score up to BATCH_MAX_ITEMS transactions: a result or an error each, in order',
          description: 'Role: scorer. Items are scored and counted one by one; an item error does not fail the batch.',
          security: AUTH,
          parameters: [budgetHeader, ...explainParams],
          requestBody: {
            required: true,
            content: json({
              description: 'Each item is checked as a Transaction on its own: an unusable item gets an error entry, the batch still answers 200.',
              oneOf: [
                { type: 'array', items: { description: 'A Transaction', examples: [{ transactionId: 'tx-1', userId: 'user-42', amount: '12.50', currency: 'EUR', timestamp: 1767225600000 }] } },
                { type: 'object', required: ['transactions'], properties: { transactions: { type: 'array', items: { description: 'A Transaction' } } } },
              ],
            }),
          },
          responses: { 200: { description: 'One entry per transaction, in order', content: json(ref('BatchResult')) }, ...scoringErrors() },
        },
      },
      '/v1/stream': {
        get: {
          tags: ['scoring'],
          summary: 'WebSocket upgrade: stream transactions, results by id',
          description:
            'Opens the WebSocket described in /asyncapi.json (channel `stream`). Role: streamer; the credential comes in `Authorization` or, from browsers, as the subprotocol `bearer.<token>` beside `scoregate.v1`. ' +
            'A browser Origin must be in WS_ALLOWED_ORIGINS (else 403). A GET without the upgrade headers is answered 426.',
          security: AUTH,
          parameters: [
            { ...header('Upgrade', 'websocket'), schema: { type: 'string', const: 'websocket' } },
            { ...header('Connection', 'Upgrade'), schema: { type: 'string', const: 'Upgrade' } },
            { ...header('Sec-WebSocket-Key', 'RFC 6455 handshake key: 16 random bytes, base64'), schema: { type: 'string', pattern: '^[A-Za-z0-9+/]{22}==$' } },
            { ...header('Sec-WebSocket-Version', '13'), schema: { type: 'string', const: '13' } },
            { name: 'Sec-WebSocket-Protocol', in: 'header', required: false, description: '`scoregate.v1`, and `bearer.<token>` for browsers', schema: { type: 'string' } },
            { name: 'Origin', in: 'header', required: false, schema: { type: 'string' } },
          ],
          responses: {
            101: { description: 'Switching Protocols: the WebSocket is open' },
            426: {
              description: 'Upgrade Required: a plain GET without the WebSocket handshake headers (`UPGRADE_REQUIRED`)',
              headers: { Upgrade: { schema: { type: 'string', const: 'websocket' } } },
              content: json({ allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: ['UPGRADE_REQUIRED'] } } } } }] }),
            },
            ...errors([401, ['UNAUTHENTICATED']], [403, ['FORBIDDEN']], [429, ['RATE_LIMITED']], ...E405),
          },
        },
      },
      '/healthz': getDoc('operations', 'The process is up', { description: 'Up', content: json(ref('Status')) }),
      '/readyz': getDoc('operations', 'Ready: the model is loaded and warmed in every worker (and Kafka caught up, when configured)', { description: 'Ready', content: json(ref('Status')) }, [503, ['NOT_READY']]),
      '/metrics': {
        get: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description: 'Open unless AUTH_METRICS=protected (then role metrics).',
          security: [{}, ...AUTH],
          responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(...AUTH_ERRORS, [500, ['INTERNAL']], ...E405) },
        },
      },
      '/v1/models': getDoc('model lifecycle', 'The model serving answers, the challenger, previous models, the last rejection and the lifecycle history', { description: 'Model status', content: json(ref('ModelStatus')) }),
      '/v1/models/reload': {
        post: {
          tags: ['model lifecycle'],
          summary: 'Follow the registry now: resolve the champion and challenger aliases again',
          description: 'Role: model-operator (or the ADMIN_TOKEN bearer). The body, if any, is ignored.',
          security: AUTH,
          responses: {
            200: { description: 'The champion is serving (changed or not)', content: json({ type: 'object', required: ['status', 'models'], properties: { status: {}, models: ref('ModelStatus') } }) },
            ...errors(...AUTH_ERRORS, [409, ['NOT_CONFIGURED']], [422, ['MODEL_REJECTED']], [500, ['INTERNAL']], 502, ...E405),
          },
        },
      },
      '/v1/models/rollback': {
        post: {
          tags: ['model lifecycle'],
          summary: 'Serve the previous model again',
          description: 'Role: model-operator (or the ADMIN_TOKEN bearer). The body, if any, is ignored. No previous model: 422 MODEL_REJECTED.',
          security: AUTH,
          responses: {
            200: { description: 'The previous model serves', content: json({ type: 'object', required: ['status', 'model'], properties: { status: { const: 'serving' }, model: { type: 'object' } } }) },
            ...errors(...AUTH_ERRORS, [422, ['MODEL_REJECTED']], [500, ['INTERNAL']], 502, ...E405),
          },
        },
      },
      '/v1/models/canary': {
        post: {
          tags: ['model lifecycle'],
          summary: "Set the canary split: the share of users the challenger answers (KServe's canaryTrafficPercent)",
          description: 'Role: model-operator (or the ADMIN_TOKEN bearer). Rollback sets it back to 0.',
          security: AUTH,
          requestBody: { required: true, content: json({ type: 'object', required: ['percent'], properties: { percent: { type: 'integer', minimum: 0, maximum: 100 } } }) },
          responses: {
            200: { description: 'The split now', content: json({ type: 'object', required: ['canary', 'challenger'], properties: { canary: ref('Canary'), challenger: { oneOf: [{ type: 'null' }, ref('ServingModel')] } } }) },
            ...errors([400, ['INVALID_JSON', 'INVALID_FIELD']], ...AUTH_ERRORS, [413, ['BODY_TOO_LARGE']], [500, ['INTERNAL']], ...E405),
          },
        },
      },
      '/v1/labels': {
        post: {
          tags: ['monitoring'],
          summary: 'Confirmed outcomes, joined to the answers given: rolling precision, recall and false-positive rate',
          description: 'Role: labeler (or the ADMIN_TOKEN bearer). One label or an array of at most BATCH_MAX_ITEMS; a request with an unreadable label joins none.',
          security: AUTH,
          requestBody: { required: true, content: json({ oneOf: [ref('Label'), { type: 'array', items: ref('Label') }] }) },
          responses: {
            200: {
              description: 'What became of the labels',
              content: json({ type: 'object', required: ['received', 'matched', 'relabelled', 'duplicate', 'unmatched'], additionalProperties: false, properties: Object.fromEntries(['received', 'matched', 'relabelled', 'duplicate', 'unmatched'].map((k) => [k, { type: 'integer', minimum: 0 }])) }),
            },
            ...errors([400, ['INVALID_JSON', 'INVALID_BODY', 'INVALID_FIELD']], ...AUTH_ERRORS, [413, ['BATCH_TOO_LARGE', 'BODY_TOO_LARGE']], [500, ['INTERNAL']], ...E405),
          },
        },
      },
      '/v1/monitoring': getDoc('monitoring', 'Drift per feature against the training baseline, outcome figures and the canary split', {
        description: 'Monitoring now',
        content: json({ type: 'object', required: ['drift', 'outcomes', 'canary'], properties: { drift: { type: 'object' }, outcomes: { type: 'object' }, canary: ref('Canary') } }),
      }),
      '/hooks/mlflow': hook('MLflow model-registry webhook', 'X-MLflow-Signature is `v1,` + base64 HMAC-SHA256 of `deliveryId.timestamp.body` with MLFLOW_WEBHOOK_SECRET, checked against the raw bytes.', [
        header('X-MLflow-Signature', 'v1,<base64 HMAC-SHA256>'),
        header('X-MLflow-Delivery-Id', 'Delivery id (a repeated delivery changes nothing)'),
        header('X-MLflow-Timestamp', 'Unix seconds; outside WEBHOOK_MAX_AGE_S: 401 STALE_DELIVERY'),
      ]),
      '/hooks/databricks': hook('Databricks workspace model-registry webhook', 'X-Databricks-Signature is the hex HMAC-SHA256 of the body with DATABRICKS_WEBHOOK_SECRET.', [header('X-Databricks-Signature', 'hex HMAC-SHA256 of the body')]),
      '/v1/users/{userId}/window': {
        get: {
          tags: ['admin'],
          summary: "The events in a user's feature window",
          description: 'Role: auditor (or the ADMIN_TOKEN bearer).',
          security: AUTH,
          parameters: [{ name: 'userId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: "The user's window, oldest first", content: json(ref('UserWindow')) },
            ...errors([400, ['INVALID_FIELD']], ...AUTH_ERRORS, [404, ['NOT_FOUND']], ...E405),
          },
        },
      },
      '/v1/audit': {
        get: {
          tags: ['admin'],
          summary: 'The audit trail, newest last',
          description: "Role: auditor (or the ADMIN_TOKEN bearer). Records in the seed's audit_log shape: model changes, refused webhooks, operator calls, window reads, keys created or revoked, bursts of failed authentication.",
          security: AUTH,
          parameters: [
            { name: 'since', in: 'query', required: false, description: 'Only records at or after this time: epoch milliseconds or an ISO-8601 date-time', schema: { type: 'string' } },
            { name: 'action', in: 'query', required: false, description: 'Only records of this action (e.g. window.read)', schema: { type: 'string' } },
            { name: 'limit', in: 'query', required: false, description: 'At most this many records (1–1000, default 100)', schema: { type: 'string', pattern: '^[0-9]{1,4}$' } },
          ],
          responses: {
            200: {
              description: 'The records',
              content: json({
                type: 'object',
                required: ['records'],
                properties: {
                  records: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['timestamp', 'user', 'action', 'resource', 'outcome'],
                      properties: {
                        timestamp: { type: 'string', format: 'date-time' },
                        user: { type: 'string' },
                        action: { type: 'string' },
                        resource: { type: 'string' },
                        outcome: { type: 'string', enum: ['success', 'failure', 'denied', 'rejected'] },
                        records_accessed: { type: 'integer' },
                        details: { type: 'object' },
                      },
                    },
                  },
                },
              }),
            },
            ...errors([400, ['INVALID_FIELD']], ...AUTH_ERRORS, ...E405),
          },
        },
      },
      '/v1/status': {
        get: {
          tags: ['operations'],
          summary: "The status page's figures (counters, histograms, model, Kafka), polled by /ui",
          description: 'Open unless AUTH_METRICS=protected (then role metrics).',
          security: [{}, ...AUTH],
          responses: { 200: { description: 'A snapshot', content: json({ type: 'object' }) }, ...errors(...AUTH_ERRORS, ...E405) },
        },
      },
      '/ui': {
        get: {
          tags: ['operations'],
          summary: 'The status page (HTML)',
          responses: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } }, 304: { description: 'Not modified (ETag)' }, ...errors(...E405) },
        },
      },
      '/v2/health/live': oipGet('Open Inference Protocol: server liveness'),
      '/v2/health/ready': oipGet('Open Inference Protocol: server readiness (400 while no model is loaded)', 400),
      '/v2': oipGet('Open Inference Protocol: server metadata'),
      '/v2/models/{name}': oipGet('Open Inference Protocol: model metadata', 404, true),
      '/v2/models/{name}/ready': oipGet('Open Inference Protocol: model readiness', 404, true),
      '/v2/models/{name}/versions/{version}': oipGet('Open Inference Protocol: model version metadata', 404, true, true),
      '/v2/models/{name}/versions/{version}/ready': oipGet('Open Inference Protocol: model version readiness', 404, true, true),
      '/v2/models/{name}/infer': oipInfer(false),
      '/v2/models/{name}/versions/{version}/infer': oipInfer(true),
      '/openapi.json': getDoc('descriptions', 'This document', { description: 'OpenAPI 3.1', content: json({ type: 'object' }) }),
      '/asyncapi.json': getDoc('descriptions', 'The WebSocket and Kafka description', { description: 'AsyncAPI 3', content: json({ type: 'object' }) }),
    },
    components: {
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT verified against AUTH_JWKS_URL / AUTH_JWKS_FILE (issuer, audience, algorithm allowlist); roles from AUTH_JWT_ROLES_CLAIM' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'sk_…', description: 'An API key made by `keys create --role ROLE`, sent as `Authorization: Bearer sk_…`' },
      },
      headers: {
        'Retry-After': { description: 'Seconds to wait before retrying: on every 503 (NOT_READY, OVERLOADED 1; SINK_FULL 5) and on RATE_LIMITED', schema: { type: 'string', pattern: '^\\d+$' } },
      },
      schemas: {
        Transaction: transaction,
        ScoreResult: scoreResult,
        Error: errorBody,
        ErrorDetail: errorDetail,
        BatchResult: {
          type: 'object',
          required: ['results', 'tookMs'],
          additionalProperties: false,
          properties: {
            results: {
              type: 'array',
              items: {
                oneOf: [
                  {
                    type: 'object',
                    required: ['result'],
                    additionalProperties: false,
                    properties: { result: ref('ScoreResult'), replayed: { const: true }, owner: { type: 'string', description: 'With CLUSTER_SHARDS: the address of the instance that owns this transaction\'s user and answered it (the `Scoregate-Owner` header of a single answer)' } },
                  },
                  { type: 'object', required: ['error'], additionalProperties: false, properties: { error: ref('ErrorDetail') } },
                ],
              },
            },
            tookMs: { type: 'number', minimum: 0 },
          },
        },
        Status: { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ['ok', 'ready'] } } },
        HookOutcome: {
          type: 'object',
          required: ['status'],
          properties: { status: { type: 'string', enum: ['accepted', 'duplicate', 'ignored'] }, event: {}, alias: { type: 'string' } },
        },
        ModelStatus: {
          type: 'object',
          required: ['active', 'challenger', 'previous', 'lastRejection', 'history'],
          properties: {
            active: { oneOf: [{ type: 'null' }, ref('ServingModel')] },
            challenger: { oneOf: [{ type: 'null' }, ref('ServingModel')] },
            previous: { type: 'array', items: { type: 'object', required: ['name', 'version', 'origin'], properties: { name: { type: ['string', 'null'] }, version: { type: ['string', 'null'] }, origin: { type: 'string' } } } },
            lastRejection: { oneOf: [{ type: 'null' }, ref('LifecycleEvent')] },
            history: { type: 'array', items: ref('LifecycleEvent') },
            canary: ref('Canary'),
          },
        },
        Canary: {
          type: 'object',
          required: ['percent', 'setBy', 'answering'],
          properties: {
            percent: { type: 'integer', minimum: 0, maximum: 100, description: 'Share of users (stable hash of userId) answered by the challenger' },
            setBy: { type: 'string', description: 'Who set it last: admin, an MLflow tag, rollback, …' },
            answering: { type: 'boolean', description: 'True when a challenger is loaded and percent > 0' },
          },
        },
        Label: {
          type: 'object',
          required: ['transactionId', 'label'],
          properties: {
            transactionId: { type: 'string', minLength: 1, maxLength: 256 },
            label: { enum: [0, 1], description: '1: fraud confirmed (chargeback, analyst); 0: legitimate' },
            source: { type: ['string', 'null'], maxLength: 64 },
            at: { oneOf: [{ type: 'integer' }, { type: 'string', format: 'date-time' }, { type: 'null' }] },
          },
        },
        ServingModel: {
          type: 'object',
          required: ['name', 'version', 'origin', 'loadedAt'],
          properties: { name: { type: 'string' }, version: { type: 'string' }, origin: { type: 'string' }, dir: { type: 'string' }, loadedAt: { type: 'string', format: 'date-time' } },
        },
        LifecycleEvent: {
          type: 'object',
          required: ['at', 'action', 'name', 'version', 'origin', 'outcome'],
          properties: {
            at: { type: 'string', format: 'date-time' },
            action: { type: 'string', enum: ['activate', 'rollback', 'challenger', 'challenger-removed', 'canary'] },
            name: { type: ['string', 'null'] },
            version: { type: ['string', 'null'] },
            origin: { type: 'string' },
            outcome: { type: 'string', enum: ['serving', 'rejected', 'removed'] },
            reason: { type: 'string' },
            tookMs: { type: 'number' },
          },
        },
        UserWindow: {
          type: 'object',
          required: ['userId', 'events'],
          additionalProperties: false,
          properties: {
            userId: { type: 'string' },
            events: {
              type: 'array',
              items: {
                type: 'object',
                required: ['timestamp', 'amount', 'merchantId'],
                additionalProperties: false,
                properties: { timestamp: { type: 'integer' }, amount: { type: 'number' }, merchantId: { type: ['string', 'null'] } },
              },
            },
          },
        },
      },
    },
  };
}

/** Statuses any error code can be answered with (a test checks every one appears in the document). */
export const ERROR_STATUSES = [...new Set(Object.values(ERRORS).map((e) => e.status))].sort();
