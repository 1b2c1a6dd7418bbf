/**
 * Schema registration in a Confluent-compatible registry (Confluent, or Apicurio's
 * /apis/ccompat/v7): register each subject's schema, set BACKWARD compatibility, keep the ids.
 * Decoding of incoming Confluent-framed Avro uses @kafkajs/confluent-schema-registry, which
 * fetches and caches writer schemas by id; the windows feed keeps each id's resolved schema
 * (`writerSchema`) and decodes with it synchronously, one registry call per id, not per record.
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

/** A writer schema resolved from the registry: what decodes a Confluent-framed body. */
export interface WriterSchema {
  fromBuffer(body: Buffer): unknown;
}

export class Registry {
  readonly client: SchemaRegistry;
  private readonly writers = new Map<number, WriterSchema>();
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

  /** The writer schema of `id` if `loadWriterSchema` resolved it before, else undefined. */
  writerSchema(id: number): WriterSchema | undefined {
    return this.writers.get(id);
  }

  /** Fetches (through the client's cache) and keeps the writer schema of `id`. */
  async loadWriterSchema(id: number): Promise<WriterSchema> {
    // The client's decode does `writerSchema.fromBuffer(body)` with this same instance.
    const w = (await this.client.getSchema(id)) as unknown as WriterSchema;
    this.writers.set(id, w);
    return w;
  }

  /** Decodes Confluent-framed Avro into a plain object. */
  async decode(buf: Buffer): Promise<unknown> {
    return this.client.decode(buf) as Promise<unknown>;
  }
}
