/**
 * Schema registration in a Confluent-compatible registry (Confluent, or Apicurio's
 * /apis/ccompat/v7): register each subject's schema, set BACKWARD compatibility, keep the ids.
 * Decoding of incoming Confluent-framed Avro uses @kafkajs/confluent-schema-registry, which
 * fetches and caches writer schemas by id.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { readSchema } from './avro.js';

export interface SchemaIds {
  scored: number;
  dlq: number;
}

async function setCompatibility(url: string, subject: string, level: 'BACKWARD'): Promise<void> {
  const r = await fetch(`${url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  if (!r.ok) throw new Error(`schema registry refused compatibility ${level} for ${subject}: HTTP ${r.status} ${await r.text()}`);
}

export class Registry {
  readonly client: SchemaRegistry;
  constructor(readonly url: string) {
    this.client = new SchemaRegistry({ host: url });
  }

  /** Registers the two output schemas (idempotent: the same schema gets the same id). */
  async registerOutputs(scoredTopic: string, dlqTopic: string): Promise<SchemaIds> {
    const scored = await this.register(`${scoredTopic}-value`, readSchema('transactions.scored'));
    const dlq = await this.register(`${dlqTopic}-value`, readSchema('transactions.dlq'));
    return { scored, dlq };
  }

  async register(subject: string, schema: string): Promise<number> {
    await setCompatibility(this.url, subject, 'BACKWARD');
    const { id } = await this.client.register({ type: SchemaType.AVRO, schema }, { subject });
    return id;
  }

  /** Decodes Confluent-framed Avro into a plain object. */
  async decode(buf: Buffer): Promise<unknown> {
    return this.client.decode(buf) as Promise<unknown>;
  }
}
