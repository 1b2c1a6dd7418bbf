/**
 * Configuration from environment variables. Every setting is in SETTINGS (README's table is
 * generated from the same list by `node dist/src/cli/main.js config-table`); a bad value fails at start
 * with a message naming the setting.
 */
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

// The package's folder, from where this module sits in it: src/core/config.ts under vitest,
// dist/src/core/config.js built (the repository with `npm start`, /app in the image). Path
// defaults resolve against it, so they do not depend on the working directory.
const repoRoot = resolve(fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../..' : '../../..', import.meta.url)));

/**
 * On two cores a worker thread costs more than it saves: at 5000 req/s inline inference used
 * 58% CPU against 70% with one worker, server p99 1.94 ms against 2.50 ms, and saturation was
 * 17.0k req/s against 13.5k (loadtest/, INFERENCE_WORKERS=0 vs 1, same quiet machine). With more
 * cores a pool of workers runs batches in parallel with the event loop.
 */
export function defaultWorkers(cores: number): number {
  return cores <= 2 ? 0 : cores - 1;
}

export interface Config {
  port: number;
  host: string;
  modelDir: string;
  inferenceWorkers: number;
  inferenceBatchMax: number;
  inferenceQueueMax: number;
  maxBodyBytes: number;
  batchMaxItems: number;
  windowMaxUsers: number;
  windowMaxBytes: number;
  windowMaxEventsPerUser: number;
  allowedLatenessMs: number;
  seenIdsMax: number;
  dataDir: string;
  sinkFileMaxBytes: number;
  wsIdleTimeoutS: number;
  wsMaxPayloadBytes: number;
  wsMaxBackpressureBytes: number;
  wsMaxInFlight: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  kafkaClientId: string;
  kafkaGroupId: string;
  topicTransactions: string;
  topicUserEvents: string;
  topicScored: string;
  topicDlq: string;
  spoolDir: string;
  spoolMaxBytes: number;
  kafkaBatchMax: number;
  kafkaLingerMs: number;
  mlflowTrackingUri: string;
  mlflowModelName: string;
  mlflowChampionAlias: string;
  mlflowChallengerAlias: string;
  mlflowWebhookSecret: string;
  databricksWebhookSecret: string;
  mlflowPollMs: number;
  webhookMaxAgeS: number;
  adminToken: string;
  modelCacheDir: string;
  windowPreloadUsers: number;
  requestBudgetMs: number;
  admissionTargetMs: number;
  admissionMinLimit: number;
  admissionMaxLimit: number;
  idempotencyMaxAnswers: number;
  idempotencyTtlS: number;
  spoolFsync: 'interval' | 'always';
  explainEvents: 'risky' | 'all' | 'asked';
  sinkWaitMs: number;
  bodyLingerBytes: number;
  sinkKeyringFile: string;
  privacyTokenKeyFile: string;
  auditFile: string;
  auditAuthFailuresPerMin: number;
  topicAudit: string;
  authKeysFile: string;
  authJwksUrl: string;
  authJwksFile: string;
  authJwtIssuer: string;
  authJwtAudience: string;
  authJwtAlgorithms: string;
  authJwtRolesClaim: string;
  authClockSkewS: number;
  authJwksCooldownS: number;
  authRatePerS: number;
  authRateBurst: number;
  authMetrics: 'open' | 'protected';
  wsAllowedOrigins: string;
  // TLS and credentials (issue 9): HTTPS/WSS, Kafka SASL_SSL, registry and MLflow credentials.
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsKeyPassphrase: string;
  kafkaSsl: boolean;
  kafkaSslCaFile: string;
  kafkaSaslMechanism: '' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  kafkaSaslUsername: string;
  kafkaSaslPassword: string;
  kafkaSaslPasswordFile: string;
  schemaRegistryUsername: string;
  schemaRegistryPassword: string;
  schemaRegistryCaFile: string;
  mlflowTrackingToken: string;
  mlflowTrackingUsername: string;
  mlflowTrackingPassword: string;
  mlflowTrackingServerCertPath: string;
  driftWindowRows: number;
  driftMinRows: number;
  driftPsiThreshold: number;
  topicLabels: string;
  labelJoinTtlS: number;
  labelJoinMaxEntries: number;
  outcomeWindow: number;
  challengerModelDir: string;
  // Scale-out (issue 12; src/cluster/): the seed's topic layout, scoring the Kafka stream, shards.
  topicsCreate: boolean;
  kafkaReplicationFactor: number;
  kafkaMinInsyncReplicas: number;
  topicTransactionsPartitions: number;
  topicUserEventsPartitions: number;
  topicAuditPartitions: number;
  kafkaScoreInput: boolean;
  clusterShards: boolean;
  clusterAdvertisedUrl: string;
  clusterSessionTimeoutMs: number;
  clusterRebuildTimeoutMs: number;
  clusterSecret: string;
}

type Kind = 'int' | 'number' | 'string' | 'path' | 'enum' | 'bool';
interface Setting<K extends keyof Config> {
  env: string;
  key: K;
  kind: Kind;
  def: Config[K] | (() => Config[K]);
  min?: number;
  max?: number;
  values?: readonly string[];
  /** How README shows a computed default. */
  shown?: string;
  /** A string setting that may be empty (meaning: feature off). */
  allowEmpty?: boolean;
  doc: string;
}

function s<K extends keyof Config>(x: Setting<K>): Setting<K> {
  return x;
}

export const SETTINGS = [
  s({ env: 'PORT', key: 'port', kind: 'int', def: 8080, min: 0, max: 65535, doc: 'HTTP and WebSocket port (0 picks a free port)' }),
  s({ env: 'HOST', key: 'host', kind: 'string', def: '127.0.0.1', doc: 'address to listen on; loopback by default, any other address needs credentials (AUTH_KEYS_FILE, AUTH_JWKS_URL or AUTH_JWKS_FILE)' }),
  s({ env: 'MODEL_DIR', key: 'modelDir', kind: 'path', def: () => resolve(repoRoot, 'models/fraud-detector'), shown: 'models/fraud-detector', doc: 'MLflow model directory to serve (default: the shipped model)' }),
  s({ env: 'INFERENCE_WORKERS', key: 'inferenceWorkers', kind: 'int', def: () => defaultWorkers(availableParallelism()), shown: '0 on ≤ 2 cores, else cores − 1', min: 0, max: 64, doc: 'inference worker threads, one ONNX session each; 0 runs inference on the event loop (measured faster on 2 cores: README, Performance)' }),
  s({ env: 'INFERENCE_BATCH_MAX', key: 'inferenceBatchMax', kind: 'int', def: 64, min: 1, max: 4096, doc: 'most rows one inference run takes (micro-batch cap)' }),
  s({ env: 'INFERENCE_QUEUE_MAX', key: 'inferenceQueueMax', kind: 'int', def: 10000, min: 1, max: 1_000_000, doc: 'rows waiting for a worker before requests get OVERLOADED' }),
  s({ env: 'MAX_BODY_BYTES', key: 'maxBodyBytes', kind: 'int', def: 1_048_576, min: 256, max: 64 * 1_048_576, doc: 'largest HTTP request body (413 above)' }),
  s({ env: 'BATCH_MAX_ITEMS', key: 'batchMaxItems', kind: 'int', def: 500, min: 1, max: 100_000, doc: 'most transactions in one /v1/score/batch request or WebSocket frame' }),
  s({ env: 'WINDOW_MAX_USERS', key: 'windowMaxUsers', kind: 'int', def: 1_000_000, min: 1, max: 100_000_000, doc: 'users whose windows are kept (least recently seen are evicted)' }),
  s({ env: 'WINDOW_MAX_BYTES', key: 'windowMaxBytes', kind: 'int', def: 1_073_741_824, min: 1_048_576, max: 2 ** 40, doc: 'memory budget for all windows, in bytes, counted as measured (≈ 500 B a user with one event and 36-character ids, + 24 B a slot and each merchant id\'s length; bench/results-memory.md); least recently seen users are evicted. Sets the heap limit (README: Memory bound)' }),
  s({ env: 'WINDOW_MAX_EVENTS_PER_USER', key: 'windowMaxEventsPerUser', kind: 'int', def: 4096, min: 8, max: 1_000_000, doc: 'events kept per user; past it the oldest are dropped (features stay exact below it)' }),
  s({ env: 'ALLOWED_LATENESS_MS', key: 'allowedLatenessMs', kind: 'int', def: 300_000, min: 0, max: 86_400_000, doc: 'how far behind a user\'s newest event an event may arrive and still join the windows' }),
  s({ env: 'SEEN_IDS_MAX', key: 'seenIdsMax', kind: 'int', def: 2_000_000, min: 1, max: 100_000_000, doc: 'transactionIds remembered for the uniqueness check (88 B each for a 36-character id; at most SEEN_IDS_MAX × 88 bytes, so longer ids mean fewer remembered)' }),
  s({ env: 'DATA_DIR', key: 'dataDir', kind: 'path', def: () => resolve(repoRoot, 'var'), shown: 'var/', doc: 'where the embedded sinks write scored.jsonl and dlq.jsonl' }),
  s({ env: 'SINK_FILE_MAX_BYTES', key: 'sinkFileMaxBytes', kind: 'int', def: 67_108_864, min: 4096, max: 2 ** 40, doc: 'size at which a local sink file rotates (one previous file kept)' }),
  s({ env: 'WS_IDLE_TIMEOUT_S', key: 'wsIdleTimeoutS', kind: 'int', def: 120, min: 8, max: 960, doc: 'WebSocket idle timeout; pings are sent automatically before it' }),
  s({ env: 'WS_MAX_PAYLOAD_BYTES', key: 'wsMaxPayloadBytes', kind: 'int', def: 1_048_576, min: 256, max: 64 * 1_048_576, doc: 'largest WebSocket message (connection closed with 1009 above)' }),
  s({ env: 'WS_MAX_BACKPRESSURE_BYTES', key: 'wsMaxBackpressureBytes', kind: 'int', def: 4_194_304, min: 1024, max: 1 << 30, doc: 'unread output a WebSocket client may build up before it is closed (1008)' }),
  s({ env: 'WS_MAX_IN_FLIGHT', key: 'wsMaxInFlight', kind: 'int', def: 4096, min: 1, max: 1_000_000, doc: 'transactions one WebSocket may have waiting for results' }),
  s({ env: 'REQUEST_BUDGET_MS', key: 'requestBudgetMs', kind: 'int', def: 20, min: 1, max: 60_000, doc: 'time budget of one transaction from admission to its score; past it the fallback rule model answers (a client may lower it with the Request-Budget-Ms header or the WebSocket budgetMs field)' }),
  s({ env: 'ADMISSION_TARGET_MS', key: 'admissionTargetMs', kind: 'int', def: 5, min: 1, max: 60_000, doc: 'server-side latency the adaptive admission limit keeps admitted requests under (AIMD on the measured p99 of each 100 ms window)' }),
  s({ env: 'ADMISSION_MIN_LIMIT', key: 'admissionMinLimit', kind: 'int', def: 32, min: 1, max: 1_000_000, doc: 'the admission limit (concurrent transactions) never falls below this' }),
  s({ env: 'ADMISSION_MAX_LIMIT', key: 'admissionMaxLimit', kind: 'int', def: 4096, min: 1, max: 1_000_000, doc: 'the admission limit never rises above this; excess requests get 503 OVERLOADED with Retry-After before their body is read' }),
  s({ env: 'IDEMPOTENCY_MAX_ANSWERS', key: 'idempotencyMaxAnswers', kind: 'int', def: 500_000, min: 1, max: 100_000_000, doc: 'answers remembered for idempotent replay (≈ 430 B each, measured, plus 52 B a slot allocated at start; at most IDEMPOTENCY_MAX_ANSWERS × 432 bytes, so longer answers mean fewer remembered; least recently used evicted first)' }),
  s({ env: 'IDEMPOTENCY_TTL_S', key: 'idempotencyTtlS', kind: 'int', def: 86_400, min: 1, max: 30 * 86_400, doc: 'how long an answer is replayed for a retry with the same transactionId' }),
  s({ env: 'EXPLAIN_EVENTS', key: 'explainEvents', kind: 'enum', def: 'asked', values: ['risky', 'all', 'asked'], doc: 'which scored events carry the top contributors (exact TreeSHAP, ~1.5 ms of CPU each, on the answer\'s path since the event is durable before the answer: README, Explanations): asked: those whose answer asked (explain=true); risky: those and every MEDIUM or HIGH score (measured: server p99 at 5000 req/s 24 ms against 7.4 ms with asked); all: every event' }),
  s({ env: 'SPOOL_FSYNC', key: 'spoolFsync', kind: 'enum', def: 'interval', values: ['interval', 'always'], doc: 'interval: an answer waits for its event to be written to the spool file (survives a process kill) and the file is fdatasync\'d every 100 ms; always: an answer also waits for the fdatasync (survives power loss; group commit)' }),
  s({ env: 'SINK_WAIT_MS', key: 'sinkWaitMs', kind: 'int', def: 2000, min: 1, max: 60_000, doc: 'longest an answer waits for its scored event to be durable before it fails with 503 SINK_FULL' }),
  s({ env: 'BODY_LINGER_BYTES', key: 'bodyLingerBytes', kind: 'int', def: 16_777_216, min: 0, max: 1 << 30, doc: 'an over-limit request body is read and discarded up to this many bytes, so the client reads its 413 (lingering close); past it the connection is closed' }),
  s({ env: 'SINK_KEYRING_FILE', key: 'sinkKeyringFile', kind: 'string', def: '', allowEmpty: true, doc: 'keyring (JSON: {"current": id, "keys": {id: 32-byte key, base64}}) that encrypts the spool, the local sink files, the audit file and the model cache with AES-256-GCM; also read from the SCOREGATE_SINK_KEYRING variable; empty: files in clear (card data is masked either way)' }),
  s({ env: 'PRIVACY_TOKEN_KEY_FILE', key: 'privacyTokenKeyFile', kind: 'string', def: '', allowEmpty: true, doc: 'file holding a secret (≥ 32 bytes) for keyed HMAC join tokens of masked values (tok_…); empty: no tokens, a card number is kept as BIN + last four' }),
  s({ env: 'AUDIT_FILE', key: 'auditFile', kind: 'path', def: () => resolve(repoRoot, 'var/audit.jsonl'), shown: 'var/audit.jsonl', doc: 'append-only audit trail (model changes, refused webhooks, window reads, keys created or revoked, bursts of failed authentication); sealed frames when SINK_KEYRING_FILE is set' }),
  s({ env: 'AUDIT_AUTH_FAILURES_PER_MIN', key: 'auditAuthFailuresPerMin', kind: 'int', def: 20, min: 1, max: 1_000_000, doc: 'failed authentications in one minute that make an auth.failures audit record (one per minute at most)' }),
  s({ env: 'TOPIC_AUDIT', key: 'topicAudit', kind: 'string', def: 'audit-logs', doc: 'audit records out (JSON, the seed\'s audit_log shape), with Kafka' }),
  s({ env: 'KAFKA_BROKERS', key: 'kafkaBrokers', kind: 'string', def: '', allowEmpty: true, doc: 'comma-separated Kafka bootstrap brokers; empty: embedded defaults (local files, windows fed by requests only)' }),
  s({ env: 'SCHEMA_REGISTRY_URL', key: 'schemaRegistryUrl', kind: 'string', def: '', allowEmpty: true, doc: 'Confluent-compatible schema registry URL (required with KAFKA_BROKERS), e.g. Apicurio\'s /apis/ccompat/v7' }),
  s({ env: 'KAFKA_CLIENT_ID', key: 'kafkaClientId', kind: 'string', def: 'scoregate', doc: 'Kafka client id' }),
  s({ env: 'KAFKA_GROUP_ID', key: 'kafkaGroupId', kind: 'string', def: () => `scoregate-${hostname()}`, shown: 'scoregate-<hostname>', doc: 'consumer group: without shards, each instance\'s own (it reads every partition into its windows); with CLUSTER_SHARDS or KAFKA_SCORE_INPUT, the one group every instance shares' }),
  s({ env: 'TOPIC_TRANSACTIONS', key: 'topicTransactions', kind: 'string', def: 'financial-transactions', doc: 'transactions topic read into the windows (keyed by userId; Avro or JSON)' }),
  s({ env: 'TOPIC_USER_EVENTS', key: 'topicUserEvents', kind: 'string', def: 'user-events', doc: 'user-events topic read into the windows' }),
  s({ env: 'TOPIC_SCORED', key: 'topicScored', kind: 'string', def: 'transactions.scored', doc: 'scored events out (Avro, subject <topic>-value); also replayed into the windows on start' }),
  s({ env: 'TOPIC_DLQ', key: 'topicDlq', kind: 'string', def: 'transactions.dlq', doc: 'dead letters out (Avro, subject <topic>-value)' }),
  s({ env: 'SPOOL_DIR', key: 'spoolDir', kind: 'path', def: () => resolve(repoRoot, 'var/spool'), shown: 'var/spool', doc: 'durable append-only spool of events on their way to Kafka' }),
  s({ env: 'SPOOL_MAX_BYTES', key: 'spoolMaxBytes', kind: 'int', def: 1_073_741_824, min: 1_048_576, max: 2 ** 42, doc: 'spool size at which scoring stops with 503 SINK_FULL (and /readyz fails) rather than lose events' }),
  s({ env: 'KAFKA_BATCH_MAX', key: 'kafkaBatchMax', kind: 'int', def: 1000, min: 1, max: 100_000, doc: 'most events in one produce request' }),
  s({ env: 'KAFKA_LINGER_MS', key: 'kafkaLingerMs', kind: 'int', def: 5, min: 0, max: 10_000, doc: 'how long events wait to share a produce request (with CLUSTER_SHARDS answers wait for the broker, and events do not linger: those of one event-loop turn share a request)' }),
  s({ env: 'MLFLOW_TRACKING_URI', key: 'mlflowTrackingUri', kind: 'string', def: '', allowEmpty: true, doc: 'MLflow tracking server; set, the gateway serves the model the champion alias points at and follows promotions' }),
  s({ env: 'MLFLOW_MODEL_NAME', key: 'mlflowModelName', kind: 'string', def: 'fraud-detector', doc: 'registered model to follow' }),
  s({ env: 'MLFLOW_CHAMPION_ALIAS', key: 'mlflowChampionAlias', kind: 'string', def: 'champion', doc: 'alias whose version serves the answers' }),
  s({ env: 'MLFLOW_CHALLENGER_ALIAS', key: 'mlflowChallengerAlias', kind: 'string', def: 'challenger', allowEmpty: true, doc: 'alias scored on the same traffic off the response path (empty: none)' }),
  s({ env: 'MLFLOW_WEBHOOK_SECRET', key: 'mlflowWebhookSecret', kind: 'string', def: '', allowEmpty: true, doc: 'HMAC secret of the MLflow webhook; empty: POST /hooks/mlflow refuses every delivery' }),
  s({ env: 'DATABRICKS_WEBHOOK_SECRET', key: 'databricksWebhookSecret', kind: 'string', def: '', allowEmpty: true, doc: 'HMAC secret of the Databricks registry webhook; empty: POST /hooks/databricks refuses every delivery' }),
  s({ env: 'MLFLOW_POLL_MS', key: 'mlflowPollMs', kind: 'int', def: 0, min: 0, max: 86_400_000, doc: 'follow the aliases by polling MLflow every this many ms, where webhooks cannot reach the gateway (0: off)' }),
  s({ env: 'WEBHOOK_MAX_AGE_S', key: 'webhookMaxAgeS', kind: 'int', def: 300, min: 1, max: 86_400, doc: 'deliveries with a timestamp older (or further ahead) than this are refused as stale' }),
  s({ env: 'ADMIN_TOKEN', key: 'adminToken', kind: 'string', def: '', allowEmpty: true, doc: 'bearer token for admin calls (model reload, rollback, user windows); empty: admin calls are refused' }),
  s({ env: 'MODEL_CACHE_DIR', key: 'modelCacheDir', kind: 'path', def: () => resolve(repoRoot, 'var/models'), shown: 'var/models', doc: 'where model versions downloaded from MLflow are kept' }),
  s({ env: 'WINDOW_PRELOAD_USERS', key: 'windowPreloadUsers', kind: 'int', def: 0, min: 0, max: 100_000_000, doc: 'benchmarking only: fill the windows with this many synthetic users (3 events each) before ready, to measure memory and tail latency with them loaded' }),
  s({ env: 'LOG_LEVEL', key: 'logLevel', kind: 'enum', def: 'info', values: ['debug', 'info', 'warn', 'error'], doc: 'least severe log level written (JSON lines on stderr)' }),
  // Authentication and roles (src/auth/); cross-setting checks are in src/auth/settings.ts.
  s({ env: 'AUTH_KEYS_FILE', key: 'authKeysFile', kind: 'string', def: '', allowEmpty: true, doc: 'API keys file (JSON, hashes only) written by `keys create`; reloaded when it changes and on SIGHUP; empty: no API keys' }),
  s({ env: 'AUTH_JWKS_URL', key: 'authJwksUrl', kind: 'string', def: '', allowEmpty: true, doc: 'JWKS URL whose keys verify JWT bearer tokens (https, or http on loopback); empty: no JWTs unless AUTH_JWKS_FILE' }),
  s({ env: 'AUTH_JWKS_FILE', key: 'authJwksFile', kind: 'string', def: '', allowEmpty: true, doc: 'JWKS file instead of AUTH_JWKS_URL (read again on SIGHUP)' }),
  s({ env: 'AUTH_JWT_ISSUER', key: 'authJwtIssuer', kind: 'string', def: '', allowEmpty: true, doc: 'required `iss` of JWTs, comma-separated if several (required with a JWKS)' }),
  s({ env: 'AUTH_JWT_AUDIENCE', key: 'authJwtAudience', kind: 'string', def: '', allowEmpty: true, doc: 'required `aud` of JWTs, comma-separated if several (required with a JWKS)' }),
  s({ env: 'AUTH_JWT_ALGORITHMS', key: 'authJwtAlgorithms', kind: 'string', def: 'RS256,ES256,EdDSA', doc: 'JWT signature algorithms accepted (asymmetric only: RS*, PS*, ES*, EdDSA; never none or HS*)' }),
  s({ env: 'AUTH_JWT_ROLES_CLAIM', key: 'authJwtRolesClaim', kind: 'string', def: 'roles', doc: 'JWT claim holding the roles: an array or a space-separated string (e.g. scope); a dotted path reaches into objects' }),
  s({ env: 'AUTH_CLOCK_SKEW_S', key: 'authClockSkewS', kind: 'int', def: 30, min: 0, max: 300, doc: 'clock skew tolerated on JWT exp and nbf' }),
  s({ env: 'AUTH_JWKS_COOLDOWN_S', key: 'authJwksCooldownS', kind: 'int', def: 30, min: 0, max: 3600, doc: 'least time between two JWKS fetches triggered by an unknown key id' }),
  s({ env: 'AUTH_RATE_PER_S', key: 'authRatePerS', kind: 'int', def: 0, min: 0, max: 10_000_000, doc: 'requests per second per credential (token bucket; a key may set its own); 0: no limit' }),
  s({ env: 'AUTH_RATE_BURST', key: 'authRateBurst', kind: 'int', def: 0, min: 0, max: 10_000_000, doc: 'token bucket size per credential; 0: equal to AUTH_RATE_PER_S' }),
  s({ env: 'AUTH_METRICS', key: 'authMetrics', kind: 'enum', def: 'open', values: ['open', 'protected'], doc: 'GET /metrics and GET /v1/status open to all, or protected: the metrics role (when credentials are configured)' }),
  s({ env: 'WS_ALLOWED_ORIGINS', key: 'wsAllowedOrigins', kind: 'string', def: '', allowEmpty: true, doc: 'comma-separated Origins allowed to open the WebSocket (e.g. https://app.example.com), * for any; empty: none (clients that send no Origin are not browsers and pass)' }),
  // TLS and credentials (issue 9; src/http/tls.ts, src/kafka/security.ts). Names follow what
  // Confluent Cloud and Databricks users already have (MLFLOW_TRACKING_* are MLflow's own
  // variables); cross-setting checks are at the end of loadConfig.
  s({ env: 'TLS_CERT_FILE', key: 'tlsCertFile', kind: 'string', def: '', allowEmpty: true, doc: 'PEM certificate (chain) of the HTTPS/WSS listener; with TLS_KEY_FILE the gateway serves only HTTPS and WSS; empty: plain HTTP' }),
  s({ env: 'TLS_KEY_FILE', key: 'tlsKeyFile', kind: 'string', def: '', allowEmpty: true, doc: 'PEM private key of TLS_CERT_FILE (both or neither)' }),
  s({ env: 'TLS_KEY_PASSPHRASE', key: 'tlsKeyPassphrase', kind: 'string', def: '', allowEmpty: true, doc: 'passphrase of an encrypted TLS_KEY_FILE' }),
  s({ env: 'KAFKA_SSL', key: 'kafkaSsl', kind: 'bool', def: false, doc: 'connect to the brokers over TLS (true for Confluent Cloud, SASL_SSL)' }),
  s({ env: 'KAFKA_SSL_CA_FILE', key: 'kafkaSslCaFile', kind: 'string', def: '', allowEmpty: true, doc: 'PEM CA bundle the brokers\' certificates must chain to (needs KAFKA_SSL=true); empty: the system\'s CAs' }),
  s({ env: 'KAFKA_SASL_MECHANISM', key: 'kafkaSaslMechanism', kind: 'enum', def: '', values: ['', 'plain', 'scram-sha-256', 'scram-sha-512'], doc: 'SASL mechanism: plain (Confluent Cloud API keys), scram-sha-256 or scram-sha-512; empty: no SASL' }),
  s({ env: 'KAFKA_SASL_USERNAME', key: 'kafkaSaslUsername', kind: 'string', def: '', allowEmpty: true, doc: 'SASL user name (Confluent Cloud: the API key); required with KAFKA_SASL_MECHANISM' }),
  s({ env: 'KAFKA_SASL_PASSWORD', key: 'kafkaSaslPassword', kind: 'string', def: '', allowEmpty: true, doc: 'SASL password (Confluent Cloud: the API secret); or KAFKA_SASL_PASSWORD_FILE' }),
  s({ env: 'KAFKA_SASL_PASSWORD_FILE', key: 'kafkaSaslPasswordFile', kind: 'string', def: '', allowEmpty: true, doc: 'file holding the SASL password (one trailing newline ignored), instead of KAFKA_SASL_PASSWORD' }),
  s({ env: 'SCHEMA_REGISTRY_USERNAME', key: 'schemaRegistryUsername', kind: 'string', def: '', allowEmpty: true, doc: 'basic-auth user of the schema registry (Confluent Cloud: the Schema Registry API key); empty: no credentials' }),
  s({ env: 'SCHEMA_REGISTRY_PASSWORD', key: 'schemaRegistryPassword', kind: 'string', def: '', allowEmpty: true, doc: 'basic-auth password of the schema registry (the API secret); required with SCHEMA_REGISTRY_USERNAME' }),
  s({ env: 'SCHEMA_REGISTRY_CA_FILE', key: 'schemaRegistryCaFile', kind: 'string', def: '', allowEmpty: true, doc: 'PEM CA bundle the https schema registry\'s certificate must chain to; empty: the system\'s CAs' }),
  s({ env: 'MLFLOW_TRACKING_TOKEN', key: 'mlflowTrackingToken', kind: 'string', def: '', allowEmpty: true, doc: 'bearer token for the MLflow tracking server (Databricks: a personal access or service principal token)' }),
  s({ env: 'MLFLOW_TRACKING_USERNAME', key: 'mlflowTrackingUsername', kind: 'string', def: '', allowEmpty: true, doc: 'basic-auth user for the MLflow tracking server (mlflow server --app-name basic-auth); not with MLFLOW_TRACKING_TOKEN' }),
  s({ env: 'MLFLOW_TRACKING_PASSWORD', key: 'mlflowTrackingPassword', kind: 'string', def: '', allowEmpty: true, doc: 'basic-auth password for MLFLOW_TRACKING_USERNAME' }),
  s({ env: 'MLFLOW_TRACKING_SERVER_CERT_PATH', key: 'mlflowTrackingServerCertPath', kind: 'string', def: '', allowEmpty: true, doc: 'PEM CA bundle the https MLflow server\'s certificate must chain to; empty: the system\'s CAs' }),
  // Monitoring (src/monitoring/, src/models/canary.ts): drift against the model's training
  // baseline, outcomes joined to answers, and a challenger loaded from a directory for canaries.
  s({ env: 'DRIFT_WINDOW_ROWS', key: 'driftWindowRows', kind: 'int', def: 10_000, min: 100, max: 10_000_000, doc: 'scored rows in the sliding window the drift PSI is computed over (27 bytes each)' }),
  s({ env: 'DRIFT_MIN_ROWS', key: 'driftMinRows', kind: 'int', def: 500, min: 1, max: 10_000_000, doc: 'rows the drift window needs before a feature can be flagged (fewer rows: PSI is noise)' }),
  s({ env: 'DRIFT_PSI_THRESHOLD', key: 'driftPsiThreshold', kind: 'number', def: 0.2, min: 0, max: 100, doc: 'population stability index past which a feature (or the score) is flagged as drifted (scoregate_drift_flag)' }),
  s({ env: 'TOPIC_LABELS', key: 'topicLabels', kind: 'string', def: 'fraud-labels', doc: 'confirmed outcomes in (JSON {"transactionId", "label": 0|1, "source"?, "at"?}), with Kafka; read from the end at start' }),
  s({ env: 'LABEL_JOIN_TTL_S', key: 'labelJoinTtlS', kind: 'int', def: 604_800, min: 1, max: 400 * 86_400, doc: 'how long an answer can still be joined to its label' }),
  s({ env: 'LABEL_JOIN_MAX_ENTRIES', key: 'labelJoinMaxEntries', kind: 'int', def: 500_000, min: 1, max: 100_000_000, doc: 'answers remembered for joining labels (about 130 bytes each; oldest out first)' }),
  s({ env: 'OUTCOME_WINDOW', key: 'outcomeWindow', kind: 'int', def: 10_000, min: 1, max: 10_000_000, doc: 'labelled answers the rolling precision, recall and false-positive rate are computed over' }),
  s({ env: 'CHALLENGER_MODEL_DIR', key: 'challengerModelDir', kind: 'string', def: '', allowEmpty: true, doc: 'MLflow model directory loaded as the challenger at start when MLflow is not used (shadow scores, canary split); empty: none' }),
  // Scale-out (issue 12; src/cluster/): the seed's topic layout (checked at start, created with
  // TOPICS_CREATE), scoring what producers write to the transactions topic, and user-affine
  // shards over one shared consumer group. Cross-setting checks are at the end of loadConfig.
  s({ env: 'TOPICS_CREATE', key: 'topicsCreate', kind: 'bool', def: false, doc: 'create missing topics at start with the seed\'s partitions, retention, replication factor and min.insync.replicas; false: a missing topic refuses to start (exit 2)' }),
  s({ env: 'KAFKA_REPLICATION_FACTOR', key: 'kafkaReplicationFactor', kind: 'int', def: 3, min: 1, max: 32, doc: 'replicas of each topic (the seed: 3); a topic with fewer refuses to start, naming it' }),
  s({ env: 'KAFKA_MIN_INSYNC_REPLICAS', key: 'kafkaMinInsyncReplicas', kind: 'int', def: 2, min: 1, max: 32, doc: 'min.insync.replicas of each topic (the seed: 2); a topic set lower refuses to start, naming it' }),
  s({ env: 'TOPIC_TRANSACTIONS_PARTITIONS', key: 'topicTransactionsPartitions', kind: 'int', def: 24, min: 1, max: 10_000, doc: 'partitions of the transactions topic when created (the seed: 24); the scored and dead-letter topics get the same count (co-partitioned)' }),
  s({ env: 'TOPIC_USER_EVENTS_PARTITIONS', key: 'topicUserEventsPartitions', kind: 'int', def: 12, min: 1, max: 10_000, doc: 'partitions of the user-events topic when created (the seed: 12); must divide the transactions topic\'s count' }),
  s({ env: 'TOPIC_AUDIT_PARTITIONS', key: 'topicAuditPartitions', kind: 'int', def: 12, min: 1, max: 10_000, doc: 'partitions of the audit topic when created (the seed\'s cluster default, 12)' }),
  s({ env: 'KAFKA_SCORE_INPUT', key: 'kafkaScoreInput', kind: 'bool', def: false, doc: 'score the transactions producers write to the transactions topic (at-least-once, deduped by transactionId; offsets committed after the scored event is acknowledged)' }),
  s({ env: 'CLUSTER_SHARDS', key: 'clusterShards', kind: 'bool', def: false, doc: 'user-affine shards: join the one consumer group KAFKA_GROUP_ID shared by every instance; the transactions partitions assigned are the users this instance owns (their windows only); requests for other users are forwarded to their owner (README: Scale-out)' }),
  s({ env: 'CLUSTER_SESSION_TIMEOUT_MS', key: 'clusterSessionTimeoutMs', kind: 'int', def: 10_000, min: 6000, max: 300_000, doc: 'with CLUSTER_SHARDS: how long the group waits for a silent instance (crashed, partitioned) before its partitions move to the others; its users get 503 NOT_READY meanwhile' }),
  s({ env: 'CLUSTER_REBUILD_TIMEOUT_MS', key: 'clusterRebuildTimeoutMs', kind: 'int', def: 120_000, min: 1000, max: 3_600_000, doc: 'with CLUSTER_SHARDS: how long the rebuild of a gained partition\'s windows may take before it counts as failed; a failed rebuild is tried again (1 s, doubling up to 30 s) while the partition is still owned, its users getting 503 NOT_READY meanwhile' }),
  s({ env: 'CLUSTER_SECRET', key: 'clusterSecret', kind: 'string', def: '', allowEmpty: true, doc: 'with CLUSTER_SHARDS and credentials configured (AUTH_*): the bearer token instances present to each other on the forward route (POST /v1/cluster/score), the same on every instance; required then' }),
  s({ env: 'CLUSTER_ADVERTISED_URL', key: 'clusterAdvertisedUrl', kind: 'string', def: '', allowEmpty: true, doc: 'this instance\'s HTTP address as other instances reach it (advertised through the consumer group); empty: http://HOST:PORT as listening' }),
] as const;

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`invalid configuration: ${setting} ${message}`);
    this.name = 'ConfigError';
  }
}

function parseOne(setting: Setting<keyof Config>, raw: string): Config[keyof Config] {
  switch (setting.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(setting.env, `must be an integer, got ${JSON.stringify(raw)}`);
      const n = Number(raw.trim());
      if (setting.min !== undefined && n < setting.min) throw new ConfigError(setting.env, `must be ≥ ${setting.min}, got ${n}`);
      if (setting.max !== undefined && n > setting.max) throw new ConfigError(setting.env, `must be ≤ ${setting.max}, got ${n}`);
      return n;
    }
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(setting.env, `must be a number, got ${JSON.stringify(raw)}`);
      if (setting.min !== undefined && n < setting.min) throw new ConfigError(setting.env, `must be ≥ ${setting.min}, got ${n}`);
      if (setting.max !== undefined && n > setting.max) throw new ConfigError(setting.env, `must be ≤ ${setting.max}, got ${n}`);
      return n;
    }
    case 'enum':
      if (!setting.values?.includes(raw)) throw new ConfigError(setting.env, `must be one of ${setting.values?.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw as Config['logLevel'] | Config['spoolFsync'] | Config['authMetrics'] | Config['kafkaSaslMechanism'] | Config['explainEvents'];
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(setting.env, `must be true or false, got ${JSON.stringify(raw)}`);
      return raw === 'true';
    case 'path':
      if (raw.trim() === '') throw new ConfigError(setting.env, 'must not be empty');
      return resolve(raw);
    case 'string':
      if (raw.trim() === '' && setting.allowEmpty !== true) throw new ConfigError(setting.env, 'must not be empty');
      return raw;
  }
}

/** Reads every setting from `env`; unset or empty values take their default. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Partial<Record<keyof Config, unknown>> = {};
  for (const setting of SETTINGS as readonly Setting<keyof Config>[]) {
    const raw = env[setting.env];
    out[setting.key] = raw === undefined || raw === '' ? (typeof setting.def === 'function' ? setting.def() : setting.def) : parseOne(setting, raw);
  }
  const config = out as Config;
  if (config.kafkaBrokers !== '' && config.schemaRegistryUrl === '') {
    throw new ConfigError('SCHEMA_REGISTRY_URL', 'must be set when KAFKA_BROKERS is set (scored events are Avro registered in it)');
  }
  if (config.schemaRegistryUrl !== '' && !/^https?:\/\/[^\s]+$/.test(config.schemaRegistryUrl)) {
    throw new ConfigError('SCHEMA_REGISTRY_URL', `must be an http(s) URL, got ${JSON.stringify(config.schemaRegistryUrl)}`);
  }
  if (config.mlflowTrackingUri !== '' && !/^https?:\/\/[^\s]+$/.test(config.mlflowTrackingUri)) {
    throw new ConfigError('MLFLOW_TRACKING_URI', `must be an http(s) URL, got ${JSON.stringify(config.mlflowTrackingUri)}`);
  }
  if (config.mlflowPollMs > 0 && config.mlflowTrackingUri === '') {
    throw new ConfigError('MLFLOW_POLL_MS', 'needs MLFLOW_TRACKING_URI');
  }
  if (config.kafkaBrokers !== '' && !config.kafkaBrokers.split(',').every((b) => /^[^\s:,]+:\d{1,5}$/.test(b.trim()))) {
    throw new ConfigError('KAFKA_BROKERS', `must be host:port[,host:port…], got ${JSON.stringify(config.kafkaBrokers)}`);
  }
  // TLS and credentials: settings that only make sense together.
  if ((config.tlsCertFile === '') !== (config.tlsKeyFile === '')) {
    throw config.tlsCertFile === '' ? new ConfigError('TLS_CERT_FILE', 'must be set when TLS_KEY_FILE is set') : new ConfigError('TLS_KEY_FILE', 'must be set when TLS_CERT_FILE is set');
  }
  if (config.tlsCertFile === '' && config.tlsKeyPassphrase !== '') throw new ConfigError('TLS_KEY_PASSPHRASE', 'needs TLS_KEY_FILE');
  if (config.kafkaSslCaFile !== '' && !config.kafkaSsl) throw new ConfigError('KAFKA_SSL_CA_FILE', 'needs KAFKA_SSL=true');
  if (config.kafkaSaslMechanism === '') {
    const stray = config.kafkaSaslUsername !== '' ? 'KAFKA_SASL_USERNAME' : config.kafkaSaslPassword !== '' ? 'KAFKA_SASL_PASSWORD' : config.kafkaSaslPasswordFile !== '' ? 'KAFKA_SASL_PASSWORD_FILE' : null;
    if (stray !== null) throw new ConfigError(stray, 'needs KAFKA_SASL_MECHANISM (plain, scram-sha-256 or scram-sha-512)');
  } else {
    if (config.kafkaSaslUsername === '') throw new ConfigError('KAFKA_SASL_USERNAME', `must be set when KAFKA_SASL_MECHANISM is ${config.kafkaSaslMechanism}`);
    if ((config.kafkaSaslPassword === '') === (config.kafkaSaslPasswordFile === '')) {
      throw new ConfigError('KAFKA_SASL_PASSWORD', `(or KAFKA_SASL_PASSWORD_FILE, one of them) must be set when KAFKA_SASL_MECHANISM is ${config.kafkaSaslMechanism}`);
    }
  }
  if ((config.schemaRegistryUsername === '') !== (config.schemaRegistryPassword === '')) {
    throw new ConfigError(config.schemaRegistryUsername === '' ? 'SCHEMA_REGISTRY_USERNAME' : 'SCHEMA_REGISTRY_PASSWORD', 'and its pair must be set together');
  }
  if ((config.mlflowTrackingUsername === '') !== (config.mlflowTrackingPassword === '')) {
    throw new ConfigError(config.mlflowTrackingUsername === '' ? 'MLFLOW_TRACKING_USERNAME' : 'MLFLOW_TRACKING_PASSWORD', 'and its pair must be set together');
  }
  if (config.mlflowTrackingToken !== '' && config.mlflowTrackingUsername !== '') {
    throw new ConfigError('MLFLOW_TRACKING_TOKEN', 'and MLFLOW_TRACKING_USERNAME are exclusive (bearer or basic authentication, not both)');
  }
  if (config.kafkaMinInsyncReplicas > config.kafkaReplicationFactor) {
    throw new ConfigError('KAFKA_MIN_INSYNC_REPLICAS', `(${config.kafkaMinInsyncReplicas}) must not exceed KAFKA_REPLICATION_FACTOR (${config.kafkaReplicationFactor}): no write could ever be acknowledged`);
  }
  if ((config.kafkaScoreInput || config.clusterShards) && config.kafkaBrokers === '') {
    throw new ConfigError(config.kafkaScoreInput ? 'KAFKA_SCORE_INPUT' : 'CLUSTER_SHARDS', 'needs KAFKA_BROKERS');
  }
  // The forward route scores for any caller the first instance let in: with credentials on, it
  // takes only the instances' shared secret (never an open door beside /v1/score).
  const credentials = config.authKeysFile !== '' || config.authJwksUrl !== '' || config.authJwksFile !== '';
  if (config.clusterShards && credentials && config.clusterSecret.length < 32) {
    throw new ConfigError('CLUSTER_SECRET', 'with CLUSTER_SHARDS and credentials configured (AUTH_*), set a shared secret of at least 32 characters for the forward route between instances');
  }
  // The manifests ship a placeholder long enough to pass the length rule: a deployment that
  // forgot to replace it would run with a publicly known secret.
  if (config.clusterSecret.startsWith('REPLACE')) {
    throw new ConfigError('CLUSTER_SECRET', 'is still the placeholder of deploy/k8s/secret.yaml: set a random secret of at least 32 characters, the same on every instance');
  }
  return config;
}

/** The markdown configuration table README shows. */
export function configTable(): string {
  const rows = (SETTINGS as readonly Setting<keyof Config>[]).map((st) => {
    const value = st.shown ?? String(typeof st.def === 'function' ? st.def() : st.def);
    const def = value === '' ? '(empty)' : value;
    return `| \`${st.env}\` | ${def} | ${st.doc} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

export const REPO_ROOT = repoRoot;
