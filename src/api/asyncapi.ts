/**
 * The AsyncAPI 3 description of the WebSocket (/v1/stream) and the Kafka topics, served at
 * GET /asyncapi.json. Message payloads are the JSON Schemas of schemas.ts (the same the OpenAPI
 * document uses) and, for the topics scoregate writes, the Avro schemas the Kafka sink registers
 * (kafka/avro.ts), so the description cannot say one thing while the topic carries another.
 */
import { readSchema } from '../kafka/avro.js';
import { ERROR_CODES, errorDetail, scoreResult, transaction, type Schema } from './schemas.js';

const AVRO = 'application/vnd.apache.avro+json;version=1.9.0';

const ref = (path: string): Schema => ({ $ref: path });
const msg = (channel: string, name: string): Schema => ref(`#/channels/${channel}/messages/${name}`);

const streamId: Schema = { type: ['string', 'number'], description: 'Chosen by the client; answers carry it back (strings longer than 256 are cut to 256)' };

export interface TopicNames {
  scored: string;
  dlq: string;
  transactions: string;
  userEvents: string;
}

export function asyncApiDocument(version: string, topics: TopicNames): Schema {
  const avro = (name: 'transactions.scored' | 'transactions.dlq'): Schema => ({ schemaFormat: AVRO, schema: JSON.parse(readSchema(name)) as Schema });
  const keyed = { bindings: { kafka: { key: { type: 'string', description: 'userId' }, bindingVersion: '0.5.0' } } };
  const inputMessage: Schema = {
    name: 'FinancialTransaction',
    title: 'A transaction for the feature windows',
    summary: 'Avro in the Confluent wire format (schema from the registry) or JSON, with the fields below; deduplicated by transactionId',
    contentType: 'application/json',
    payload: ref('#/components/schemas/Transaction'),
  };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'scoregate streams',
      version,
      description:
        'The WebSocket that trading apps stream transactions over, and the Kafka topics scoregate reads into its feature windows and writes scored events and dead letters to. ' +
        'The HTTP routes are described in OpenAPI at /openapi.json.',
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: 'localhost:8080',
        protocol: 'ws',
        description: 'The gateway (HOST, PORT). The upgrade takes `Authorization: Bearer <JWT or sk_… API key>` (role streamer), or from browsers the subprotocols `scoregate.v1, bearer.<token>`.',
        security: [ref('#/components/securitySchemes/bearerJwt'), ref('#/components/securitySchemes/apiKey')],
      },
      kafka: { host: 'localhost:9092', protocol: 'kafka', description: 'KAFKA_BROKERS; Avro subjects in SCHEMA_REGISTRY_URL (TopicNameStrategy, BACKWARD)' },
    },
    channels: {
      stream: {
        address: '/v1/stream',
        title: 'Scoring stream',
        description:
          'Each frame is one request or an array of up to BATCH_MAX_ITEMS; each transaction gets a result or an error as soon as it is scored, many in flight. ' +
          'A frame that is not JSON gets an error with id null and the connection stays up. Close codes: 1008 when unread results pass WS_MAX_BACKPRESSURE_BYTES, ' +
          '1009 for a frame over WS_MAX_PAYLOAD_BYTES, 1001 when the gateway shuts down (after the results in flight were sent).',
        servers: [ref('#/servers/gateway')],
        messages: {
          request: { name: 'ScoreRequest', payload: ref('#/components/schemas/StreamRequest') },
          requests: { name: 'ScoreRequests', summary: 'Several requests in one frame', payload: { type: 'array', maxItems: 100_000, items: ref('#/components/schemas/StreamRequest') } },
          result: { name: 'ScoreReply', payload: ref('#/components/schemas/StreamResult') },
          error: { name: 'ErrorReply', payload: ref('#/components/schemas/StreamError') },
        },
        bindings: { ws: { method: 'GET', bindingVersion: '0.1.0' } },
        'x-close-codes': { 1001: 'going away: the gateway is shutting down', 1008: 'policy: the client is not reading its results (backpressure)', 1009: 'message too big' },
      },
      scored: {
        address: topics.scored,
        title: 'Scored transactions',
        description: 'Every scored transaction (HTTP and WebSocket), key userId, subject `<topic>-value`; also the gateway changelog it reads back on start. At least once: deduplicate by transactionId.',
        servers: [ref('#/servers/kafka')],
        messages: { scored: { name: 'ScoredTransaction', contentType: 'application/octet-stream', payload: avro('transactions.scored'), ...keyed } },
      },
      dlq: {
        address: topics.dlq,
        title: 'Dead letters',
        description: 'Events that could not be scored (fatal input errors): code, field, message and the raw payload.',
        servers: [ref('#/servers/kafka')],
        messages: { deadLetter: { name: 'DeadLetter', contentType: 'application/octet-stream', payload: avro('transactions.dlq') } },
      },
      transactions: { address: topics.transactions, title: 'Financial transactions (input)', servers: [ref('#/servers/kafka')], messages: { transaction: inputMessage } },
      userEvents: { address: topics.userEvents, title: 'User events (input)', servers: [ref('#/servers/kafka')], messages: { event: { ...inputMessage, name: 'UserEvent' } } },
    },
    operations: {
      score: {
        action: 'receive',
        channel: ref('#/channels/stream'),
        summary: 'A client sends transactions to score',
        messages: [msg('stream', 'request'), msg('stream', 'requests')],
        reply: { channel: ref('#/channels/stream'), messages: [msg('stream', 'result'), msg('stream', 'error')] },
      },
      publishScored: { action: 'send', channel: ref('#/channels/scored'), messages: [msg('scored', 'scored')] },
      publishDeadLetter: { action: 'send', channel: ref('#/channels/dlq'), messages: [msg('dlq', 'deadLetter')] },
      readTransactions: { action: 'receive', channel: ref('#/channels/transactions'), messages: [msg('transactions', 'transaction')] },
      readUserEvents: { action: 'receive', channel: ref('#/channels/userEvents'), messages: [msg('userEvents', 'event')] },
      readScored: { action: 'receive', channel: ref('#/channels/scored'), summary: 'The changelog: rebuilds windows and remembered answers on start', messages: [msg('scored', 'scored')] },
    },
    components: {
      securitySchemes: {
        bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'sk_…', description: 'API key, `Authorization: Bearer sk_…`' },
      },
      schemas: {
        Transaction: transaction,
        ScoreResult: scoreResult,
        ErrorDetail: { ...errorDetail, properties: { ...(errorDetail['properties'] as Schema), code: { type: 'string', enum: ERROR_CODES } } },
        StreamRequest: {
          type: 'object',
          required: ['id', 'transaction'],
          properties: {
            id: streamId,
            transaction: ref('#/components/schemas/Transaction'),
            budgetMs: { type: 'integer', minimum: 1, description: 'The most this transaction may take before the fallback answers (capped at REQUEST_BUDGET_MS)' },
            explain: { type: 'boolean', description: 'true: the result carries `explanation`, its top contributors (README, Explanations)' },
          },
        },
        StreamResult: {
          type: 'object',
          required: ['id', 'result'],
          additionalProperties: false,
          properties: {
            id: streamId,
            result: ref('#/components/schemas/ScoreResult'),
            replayed: { const: true, description: 'The remembered answer to an earlier identical transaction' },
            owner: { type: 'string', description: 'With CLUSTER_SHARDS: the address of the instance that owns this transaction\'s user and answered it (the `Scoregate-Owner` header of a single answer)' },
          },
        },
        StreamError: {
          type: 'object',
          required: ['id', 'error'],
          additionalProperties: false,
          properties: { id: { type: ['string', 'number', 'null'], description: 'null when the frame had no usable id' }, error: ref('#/components/schemas/ErrorDetail') },
        },
      },
    },
  };
}
