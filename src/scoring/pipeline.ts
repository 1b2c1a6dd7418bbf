/**
 * The scoring pipeline without a transport: feature windows, the scorer (with the privacy
 * settings) and the model manager, wired from the configuration. The gateway puts HTTP and WebSocket routes in front of it;
 * `scoregate score --in-process` calls the scorer directly. One wiring, so both score alike.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { FeatureEngine } from '../features/engine.js';
import { loadGoldenRows } from '../models/golden.js';
import { ModelManager } from '../models/manager.js';
import { privacyOptions } from '../privacy/index.js';
import { loadKeyring, RecordCipher } from '../sink/cipher.js';
import type { EventSink } from '../sink/events.js';
import { Scorer } from './scorer.js';

export interface Pipeline {
  engine: FeatureEngine;
  scorer: Scorer;
  models: ModelManager;
}

export function buildPipeline(config: Config, sink: EventSink, metrics: Metrics, log: Logger): Pipeline {
  const engine = new FeatureEngine({
    maxUsers: config.windowMaxUsers,
    maxBytes: config.windowMaxBytes,
    maxEventsPerUser: config.windowMaxEventsPerUser,
    allowedLatenessMs: config.allowedLatenessMs,
    seenIdsMax: config.seenIdsMax,
  });
  const scorer = new Scorer(engine, sink, metrics, {
    maxAnswers: config.idempotencyMaxAnswers,
    answerTtlMs: config.idempotencyTtlS * 1000,
    sinkWaitMs: config.sinkWaitMs,
    explainEvents: config.explainEvents,
    privacy: privacyOptions(tokenKey(config)),
  });
  const models = new ModelManager(scorer, metrics, log, { workers: config.inferenceWorkers, batchMax: config.inferenceBatchMax, queueMax: config.inferenceQueueMax }, loadGoldenRows());
  return { engine, scorer, models };
}

/** The keyring that seals the spool and the local files, from SINK_KEYRING_FILE or SCOREGATE_SINK_KEYRING. */
export function atRestCipher(config: Config): RecordCipher | null {
  try {
    const ring = loadKeyring({ file: config.sinkKeyringFile === '' ? null : config.sinkKeyringFile });
    return ring === null ? null : new RecordCipher(ring);
  } catch (err) {
    throw new ConfigError('SINK_KEYRING_FILE', `(or SCOREGATE_SINK_KEYRING) is not a usable keyring: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The secret for join tokens of masked values (PRIVACY_TOKEN_KEY_FILE), or null. */
function tokenKey(config: Config): Buffer | null {
  if (config.privacyTokenKeyFile === '') return null;
  let key: Buffer;
  try {
    key = readFileSync(config.privacyTokenKeyFile);
  } catch (err) {
    throw new ConfigError('PRIVACY_TOKEN_KEY_FILE', `cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (key.length < 32) throw new ConfigError('PRIVACY_TOKEN_KEY_FILE', `must hold at least 32 bytes, holds ${key.length}`);
  return key;
}
