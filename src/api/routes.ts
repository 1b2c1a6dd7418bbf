/**
 * GET /openapi.json and GET /asyncapi.json: both documents are built and serialised once, at
 * start, from code in the build output (nothing is read from the source tree per request).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { Config } from '../core/config.js';
import { Exchange } from '../http/respond.js';
import { asyncApiDocument } from './asyncapi.js';
import { openApiDocument } from './openapi.js';

/** The version of the described API (info.version in both documents). */
export const API_VERSION = '1.0.0';

export const DOC_ROUTES = { '/openapi.json': 'GET', '/asyncapi.json': 'GET' } as const;

export function attachApiDocs(app: TemplatedApp, config: Config): void {
  const openapi = JSON.stringify(openApiDocument(API_VERSION));
  const asyncapi = JSON.stringify(
    asyncApiDocument(API_VERSION, { scored: config.topicScored, dlq: config.topicDlq, transactions: config.topicTransactions, userEvents: config.topicUserEvents }),
  );
  app.get('/openapi.json', (res) => new Exchange(res).send(200, openapi));
  app.get('/asyncapi.json', (res) => new Exchange(res).send(200, asyncapi));
}
