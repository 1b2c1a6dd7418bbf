/**
 * The API descriptions: valid by real parsers (@readme/openapi-parser for OpenAPI 3.1,
 * @asyncapi/parser with the Avro schema parser for AsyncAPI 3), in step with the code they
 * describe, and served as built by the running gateway.
 */
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { Parser } from '@asyncapi/parser';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../core/errors.js';
import { readSchema } from '../kafka/avro.js';
import { startGateway, type RunningGateway } from '../../test/support/gateway.js';
import { expectMatchesOpenApi } from '../../test/support/openapi.js';
import { asyncApiDocument } from './asyncapi.js';
import { ERROR_STATUSES, openApiDocument } from './openapi.js';
import { API_VERSION } from './routes.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOPICS = { scored: 'transactions.scored', dlq: 'transactions.dlq', transactions: 'financial-transactions', userEvents: 'user-events' };

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.stop();
});

describe('OpenAPI document', () => {
  const doc = openApiDocument(API_VERSION) as Obj;

  it('is valid OpenAPI 3.1 by @readme/openapi-parser', async () => {
    const r = await validate(structuredClone(doc) as never);
    expect(r.valid ? [] : r.errors).toEqual([]);
  });

  it("its error codes are exactly ERRORS' keys, so neither can drift", () => {
    expect(doc['components'].schemas.ErrorDetail.properties.code.enum).toEqual(Object.keys(ERRORS));
  });

  it('documents every status an error can have, and 405 on every route', () => {
    const statuses = new Set<number>();
    for (const item of Object.values(doc['paths'] as Obj)) {
      for (const op of Object.values(item as Obj)) {
        const codes = Object.keys((op as Obj)['responses']).map(Number);
        expect(codes).toContain(405);
        codes.forEach((c) => statuses.add(c));
      }
    }
    for (const s of ERROR_STATUSES) expect(statuses, String(s)).toContain(s);
  });

  it('is what GET /openapi.json serves', async () => {
    const r = await fetch(`${gw.url}/openapi.json`);
    const text = await r.text();
    await expectMatchesOpenApi('GET', '/openapi.json', r.status, r.headers, text);
    expect(JSON.parse(text)).toEqual(doc);
  });

  it('describes the answers of the routes postJson does not call', async () => {
    const calls: [string, string, RequestInit?][] = [
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['GET', '/metrics'],
      ['GET', '/v1/models'],
      ['GET', '/v1/users/nobody/window'],
      ['POST', '/v1/models/reload'],
      ['POST', '/v1/models/rollback'],
      ['POST', '/hooks/mlflow', { body: '{}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/hooks/databricks', { body: '{}', headers: { 'content-type': 'application/json' } }],
      ['GET', '/v1/stream'],
      ['DELETE', '/v1/score'],
      ['PUT', '/v1/users/u/window'],
    ];
    for (const [method, path, init] of calls) {
      const r = await fetch(gw.url + path, { method, ...init });
      await expectMatchesOpenApi(method, path, r.status, r.headers, await r.text());
      if (r.status === 405) expect(r.headers.get('allow')).toMatch(/^(GET|POST)$/);
    }
  });
});

describe('AsyncAPI document', () => {
  const doc = asyncApiDocument(API_VERSION, TOPICS) as Obj;

  it('is valid AsyncAPI 3 by @asyncapi/parser, Avro payloads included', async () => {
    const parser = new Parser();
    parser.registerSchemaParser(AvroSchemaParser());
    const { document, diagnostics } = await parser.parse(JSON.stringify(doc));
    expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.channels().all().map((c) => c.address())).toEqual(['/v1/stream', ...Object.values(TOPICS)]);
  });

  it('carries the Avro schemas the Kafka sink registers, unchanged', () => {
    expect(doc['channels'].scored.messages.scored.payload.schema).toEqual(JSON.parse(readSchema('transactions.scored')));
    expect(doc['channels'].dlq.messages.deadLetter.payload.schema).toEqual(JSON.parse(readSchema('transactions.dlq')));
  });

  it('is what GET /asyncapi.json serves, with the configured topic names', async () => {
    const served = (await (await fetch(`${gw.url}/asyncapi.json`)).json()) as Obj;
    expect(served).toEqual(asyncApiDocument(API_VERSION, TOPICS));
  });
});
