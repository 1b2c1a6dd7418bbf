/**
 * Schema registration in a Confluent-compatible registry (Confluent, or Apicurio's
 * /apis/ccompat/v7): register each subject's schema, set BACKWARD compatibility, keep the ids.
 * Decoding of incoming Confluent-framed Avro uses @kafkajs/confluent-schema-registry, which
 * fetches and caches writer schemas by id.
 */
import { Agent as HttpsAgent } from 'node:https';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Agent as FetchAgent, fetch, type Dispatcher } from 'undici';
import { readSchema } from './avro.js';
import type { RegistryCredentials } from './security.js';

export interface SchemaIds {
  scored: number;
  dlq: number;
}

export class Registry {
  readonly client: SchemaRegistry;
  /** Headers and dispatcher of the calls the client library does not make (compatibility). */
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher | undefined;

  constructor(readonly url: string, credentials: RegistryCredentials = {}) {
    const { auth, ca } = credentials;
    // The client library speaks through node:https (mappersmith), our own call through undici:
    // each gets the CA its way.
    this.client = new SchemaRegistry({ host: url, ...(auth === undefined ? {} : { auth }), ...(ca === undefined ? {} : { agent: new HttpsAgent({ ca, keepAlive: true }) }) });
    this.dispatcher = ca === undefined ? undefined : new FetchAgent({ connect: { ca } });
    this.headers = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
    if (auth !== undefined) this.headers['authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }

  private async setCompatibility(subject: string, level: 'BACKWARD'): Promise<void> {
    const r = await fetch(`${this.url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: this.headers,
      body: JSON.stringify({ compatibility: level }),
      ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
    });
    if (!r.ok) throw new Error(`schema registry refused compatibility ${level} for ${subject}: HTTP ${r.status} ${await r.text()}`);
  }

  /** Registers the two output schemas (idempotent: the same schema gets the same id). */
  async registerOutputs(scoredTopic: string, dlqTopic: string): Promise<SchemaIds> {
    const scored = await this.register(`${scoredTopic}-value`, readSchema('transactions.scored'));
    const dlq = await this.register(`${dlqTopic}-value`, readSchema('transactions.dlq'));
    return { scored, dlq };
  }

  async register(subject: string, schema: string): Promise<number> {
    await this.setCompatibility(subject, 'BACKWARD');
    const { id } = await this.client.register({ type: SchemaType.AVRO, schema }, { subject });
    return id;
  }

  /** Decodes Confluent-framed Avro into a plain object. */
  async decode(buf: Buffer): Promise<unknown> {
    return this.client.decode(buf) as Promise<unknown>;
  }
}
