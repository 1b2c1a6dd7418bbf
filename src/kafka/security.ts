/**
 * How the gateway proves itself to the Kafka brokers and the schema registry, and how it
 * checks them: kafkajs' `ssl` and `sasl` (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*), the
 * registry's basic auth and CA (SCHEMA_REGISTRY_*). Secrets are read once, at start; a file
 * that cannot be read stops the gateway with a ConfigError naming the setting.
 */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { ConfigError, type Config } from '../core/config.js';
import { readCaFile, readSettingFile } from '../core/setting-files.js';

type KafkaSettings = Pick<Config, 'kafkaSsl' | 'kafkaSslCaFile' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaSaslPasswordFile'>;

/** kafkajs' `ssl` and `sasl` options (none of them for a plaintext listener). */
export function kafkaSecurity(c: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  // Host name verification stays on (Node's default checkServerIdentity): only the CA is ours.
  if (c.kafkaSsl) out.ssl = c.kafkaSslCaFile === '' ? true : { ca: [readCaFile('KAFKA_SSL_CA_FILE', c.kafkaSslCaFile)] };
  if (c.kafkaSaslMechanism !== '') {
    const password = c.kafkaSaslPasswordFile === '' ? c.kafkaSaslPassword : readSettingFile('KAFKA_SASL_PASSWORD_FILE', c.kafkaSaslPasswordFile).toString('utf8').replace(/\r?\n$/, '');
    if (password === '') throw new ConfigError('KAFKA_SASL_PASSWORD_FILE', `is empty (${c.kafkaSaslPasswordFile})`);
    const sasl: SASLOptions = { mechanism: c.kafkaSaslMechanism, username: c.kafkaSaslUsername, password };
    out.sasl = sasl;
  }
  return out;
}

/** What the schema registry client needs besides its URL. */
export interface RegistryCredentials {
  /** Basic auth (Confluent Cloud: the Schema Registry API key and secret). */
  auth?: { username: string; password: string };
  /** PEM CA bundle the registry's certificate must chain to; absent: the system's CAs. */
  ca?: Buffer;
}

export function registryCredentials(c: Pick<Config, 'schemaRegistryUsername' | 'schemaRegistryPassword' | 'schemaRegistryCaFile'>): RegistryCredentials {
  const out: RegistryCredentials = {};
  if (c.schemaRegistryUsername !== '') out.auth = { username: c.schemaRegistryUsername, password: c.schemaRegistryPassword };
  if (c.schemaRegistryCaFile !== '') out.ca = readCaFile('SCHEMA_REGISTRY_CA_FILE', c.schemaRegistryCaFile);
  return out;
}
