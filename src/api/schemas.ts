/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 and AsyncAPI 3 take them) of what the gateway reads and
 * answers, built from the modules that decide it: the error codes from core/errors.ts, the
 * currencies and length limits from quality/, the flags, risk categories and fallback reasons
 * from where they are defined. A limit changed there changes here.
 */
import { ERRORS, type ErrorCode } from '../core/errors.js';
import { QUALITY_FLAGS } from '../quality/checks.js';
import { CURRENCIES } from '../quality/currencies.js';
import { MAX_ID_LENGTH, MAX_METADATA_KEYS, MAX_METADATA_VALUE_LENGTH } from '../quality/parse.js';

export type Schema = Record<string, unknown>;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** The codes answered with `status`, in the order of core/errors.ts. */
export function codesWithStatus(status: number): ErrorCode[] {
  return ERROR_CODES.filter((c) => ERRORS[c].status === status);
}

const FALLBACK_REASONS = ['deadline', 'inference_failed', 'queue_full', 'model_unavailable'];

/** 9999-12-31T23:59:59.999Z: the latest epoch-ms timestamp parse.ts accepts. */
const MAX_EPOCH_MS = 253_402_300_799_999;

/**
 * The date-times parse.ts accepts, as a pattern: its ISO_DATE_TIME shape narrowed to what then
 * passes its calendar check and Date.parse (a real month and day, 1970 on, hours to 24, offsets
 * within ±23:59). February 29 is left out: a pattern cannot tell leap years (it is accepted in them).
 * 1970 is left out too: with a positive offset its first hours fall before the epoch, which
 * parse.ts refuses (a pattern cannot do the offset arithmetic).
 */
const DATE = '(197[1-9]|19[89]\\d|[2-9]\\d{3})-((0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)';
const ISO_DATE_TIME = `^${DATE}T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?(Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d)$`;

/** Up to `digits` digits with at least one that is not 0, as a pattern without lookaround (fuzzers generate from it). */
export function nonZeroDigits(digits: number): string {
  const alts: string[] = [];
  for (let z = 0; z < digits; z++) alts.push(`${z === 0 ? '' : `0{${z}}`}[1-9]\\d{0,${digits - 1 - z}}`);
  return `(${alts.join('|')})`;
}

/** parse.ts's DECIMAL (precision 18, scale 2) narrowed to amounts > 0. */
const AMOUNT_TEXT = `^(${nonZeroDigits(16)}(\\.\\d{1,2})?|\\d{1,16}\\.(0[1-9]|[1-9]\\d?))$`;

const id = (what: string): Schema => ({ type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH, description: `${what} (at most ${MAX_ID_LENGTH} UTF-16 code units)` });
const optionalId = (what: string): Schema => ({ type: ['string', 'null'], maxLength: MAX_ID_LENGTH, description: `${what}; null or "" is the same as absent` });

export const transaction: Schema = {
  type: 'object',
  description:
    'One transaction (the seed FinancialTransaction plus optional merchantId and channel), checked inline for completeness and validity (src/quality/parse.ts). ' +
    'A missing, null or empty required field is 400 MISSING_FIELD; a wrong JSON type 400 INVALID_TYPE. Unknown fields are ignored.',
  required: ['transactionId', 'userId', 'amount', 'currency', 'timestamp'],
  properties: {
    transactionId: { ...id('Unique transaction identifier; also the idempotency key: a retry with the same transaction replays the first answer') },
    userId: id('User identifier; selects the feature windows'),
    amount: {
      description: 'Positive amount, precision 18 and scale 2: a decimal string (no sign, no exponent) or a JSON number whose shortest form is such a decimal. Otherwise 400 INVALID_AMOUNT.',
      oneOf: [
        { type: 'string', pattern: AMOUNT_TEXT, examples: ['129.90'] },
        { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1e16, multipleOf: 0.01, examples: [129.9] },
      ],
    },
    currency: { type: 'string', enum: [...CURRENCIES].sort(), description: 'Active ISO 4217 code, upper case (XXX and XTS refused). Otherwise 400 INVALID_CURRENCY.' },
    timestamp: {
      description: 'Event time: whole epoch milliseconds, or an ISO-8601 date-time with a zone (Z or ±hh:mm / ±hhmm; seconds and fraction optional) on a real calendar date. Otherwise 400 INVALID_TIMESTAMP. Older than 24 h or more than 5 min ahead is scored but flagged.',
      oneOf: [
        { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS },
        { type: 'string', pattern: ISO_DATE_TIME, examples: ['2026-01-31T12:00:00Z'] },
      ],
    },
    metadata: {
      type: ['object', 'null'],
      description: 'Additional metadata: a map of strings',
      maxProperties: MAX_METADATA_KEYS,
      additionalProperties: { type: 'string', maxLength: MAX_METADATA_VALUE_LENGTH },
    },
    merchantId: optionalId('Merchant identifier'),
    channel: optionalId('Channel, e.g. web, app, pos'),
  },
};

export const errorDetail: Schema = {
  type: 'object',
  required: ['code', 'message'],
  additionalProperties: false,
  properties: {
    code: { type: 'string', enum: ERROR_CODES, description: 'Stable error code (README error table); decisions read this, never the message' },
    message: { type: 'string', description: 'For people; may change' },
    field: { type: 'string', description: 'The field or header at fault' },
    retryAfterMs: { type: 'integer', minimum: 0, description: 'Every 503 (NOT_READY, OVERLOADED: 1000; SINK_FULL: 5000) and RATE_LIMITED: when to try again (the Retry-After header over HTTP)' },
    index: { type: 'integer', minimum: 0, description: 'In a batch result: the position of the transaction this error is for' },
  },
};

export const errorBody: Schema = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: { error: { $ref: '#/components/schemas/ErrorDetail' } },
};

export const scoreResult: Schema = {
  type: 'object',
  required: ['transactionId', 'score', 'riskCategory', 'model', 'quality', 'tookMs'],
  additionalProperties: false,
  properties: {
    transactionId: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 1, description: 'Fraud probability' },
    riskCategory: { type: 'string', enum: ['HIGH', 'MEDIUM', 'LOW'], description: 'HIGH above 0.8, MEDIUM above 0.5, else LOW' },
    model: {
      type: 'object',
      required: ['name', 'version'],
      additionalProperties: false,
      properties: { name: { type: 'string' }, version: { type: 'string' } },
      description: 'The model that scored this transaction (the fallback rule model when fallback is true)',
    },
    quality: {
      type: 'object',
      required: ['score', 'flags'],
      additionalProperties: false,
      properties: {
        score: { type: 'number', minimum: 0, maximum: 1, description: 'Mean of completeness, validity, consistency and uniqueness: 1, 0.75 or 0.5' },
        flags: { type: 'array', items: { type: 'string', enum: [...QUALITY_FLAGS] } },
      },
    },
    fallback: { const: true, description: 'Present when the fallback rule model answered instead of the model' },
    fallbackReason: { type: 'string', enum: FALLBACK_REASONS },
    explanation: {
      description: 'Present when asked (explain=true): the top contributors to the score\'s log-odds, exact TreeSHAP (README, Explanations); null when the fallback answered or the model cannot be explained',
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['bias', 'margin', 'top'],
          additionalProperties: false,
          properties: {
            bias: { type: 'number', description: 'log-odds with no feature known' },
            margin: { type: 'number', description: 'bias + every contribution: the score\'s log-odds' },
            top: {
              type: 'array',
              maxItems: 5,
              items: {
                type: 'object',
                required: ['feature', 'code', 'value', 'contribution'],
                additionalProperties: false,
                properties: {
                  feature: { type: 'string' },
                  code: { type: 'string', description: 'reason code, e.g. VELOCITY_1M, AMOUNT_SPIKE, NEW_MERCHANT, ODD_HOUR' },
                  value: { type: 'number' },
                  contribution: { type: 'number', description: 'contribution to the log-odds; positive raises the score' },
                },
              },
            },
          },
        },
      ],
    },
    tookMs: { type: 'number', minimum: 0, description: 'Server time from admission to the score' },
  },
};
