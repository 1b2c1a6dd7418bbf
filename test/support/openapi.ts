/**
 * Checks an HTTP answer against the OpenAPI document the gateway serves (src/api/openapi.ts):
 * the status must be documented for the route and method, the body must match its schema
 * (ajv, JSON Schema 2020-12, on @readme/openapi-parser's dereferenced document) and documented
 * answer headers must match theirs. Every answer postJson reads goes through it.
 */
import { dereference } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { API_VERSION } from '../../src/api/routes.js';
import { openApiDocument } from '../../src/api/openapi.js';

type Obj = Record<string, unknown>;

let doc: Promise<Obj> | null = null;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const compiled = new Map<string, ValidateFunction>();

function operationOf(paths: Obj, method: string, path: string): { template: string; op: Obj } {
  for (const [template, item] of Object.entries(paths)) {
    const re = new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (!re.test(path)) continue;
    const op = (item as Obj)[method.toLowerCase()];
    if (op === undefined) {
      // Another method on a documented route: the gateway answers 405 (every route, gateway.ts ROUTES).
      return { template, op: { responses: { 405: Object.values(item as Obj).map((o) => ((o as Obj)['responses'] as Obj)['405'])[0] } } };
    }
    return { template, op: op as Obj };
  }
  throw new Error(`${method} ${path} is not in the OpenAPI document`);
}

function check(key: string, schema: unknown, value: unknown, what: string): void {
  let v = compiled.get(key);
  if (v === undefined) compiled.set(key, (v = ajv.compile(schema as Obj)));
  if (!v(value)) throw new Error(`${what} does not match the OpenAPI document: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 500)}`);
}

export async function expectMatchesOpenApi(method: string, path: string, status: number, headers: Headers, text: string): Promise<void> {
  const d = await (doc ??= dereference(structuredClone(openApiDocument(API_VERSION)) as never) as Promise<Obj>);
  const { template, op } = operationOf(d['paths'] as Obj, method, path);
  const what = `${method} ${path} → ${status}`;
  const response = (op['responses'] as Obj)[String(status)] as Obj | undefined;
  if (response === undefined) throw new Error(`${what}: status not documented for ${template}`);
  for (const [name, h] of Object.entries((response['headers'] ?? {}) as Obj)) {
    const value = headers.get(name);
    if (value !== null) check(`${method} ${template} ${status} header ${name}`, (h as Obj)['schema'], value, `${what} header ${name}`);
  }
  const content = response['content'] as Obj | undefined;
  if (content === undefined) return;
  const type = (headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = content[type] as Obj | undefined;
  if (media === undefined) throw new Error(`${what}: content-type ${type} not documented (${Object.keys(content).join(', ')})`);
  check(`${method} ${template} ${status} ${type}`, media['schema'], type === 'application/json' ? JSON.parse(text) : text, what);
}
