/**
 * The Open Inference Protocol (KServe v2, Triton's HTTP/REST API) on the gateway's model: health,
 * server and model metadata, model readiness, and inference on feature rows the caller sends.
 * No features are computed and nothing is counted, remembered or written to a sink: rows go
 * straight to the serving InferencePool (so micro-batching and hot swaps apply) and its
 * probabilities come back as the `score` tensor.
 *
 * Errors here are the protocol's `{"error": "message"}`, not scoregate's coded
 * `{"error": {code, message}}`: KServe and Triton clients read that string (tritonclient raises
 * it as InferenceServerException). Unmatched methods on these routes still get the gateway's
 * coded 405 (OIP_ROUTES joins its ROUTES table).
 *
 * The binary tensor extension is supported both ways (tritonclient's default): a body of a JSON
 * header of Inference-Header-Content-Length bytes followed by the inputs' raw little-endian
 * bytes, and `binary_data` outputs answered the same way. Bodies may be gzip or deflate encoded.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { RETRY_AFTER_S } from '../admission/limiter.js';
import { settle } from '../auth/access.js';
import type { Authorized } from '../auth/auth.js';
import type { Config } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { FEATURE_COUNT } from '../features/contract.js';
import { readBody, readRawBody } from '../http/body.js';
import { Exchange } from '../http/respond.js';
import type { InferencePool } from '../inference/pool.js';

/** Every OIP route and its method, for the gateway's 405 table. */
export const OIP_ROUTES: Readonly<Record<string, string>> = Object.freeze({
  '/v2': 'GET',
  '/v2/health/live': 'GET',
  '/v2/health/ready': 'GET',
  '/v2/models/:name': 'GET',
  '/v2/models/:name/ready': 'GET',
  '/v2/models/:name/infer': 'POST',
  '/v2/models/:name/versions/:version': 'GET',
  '/v2/models/:name/versions/:version/ready': 'GET',
  '/v2/models/:name/versions/:version/infer': 'POST',
});

/** The input's name: what the model pipeline calls the ONNX input (models/pipeline, to_onnx). */
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'score';

/** The models OIP can address (the one serving answers, the challenger if one is loaded), and who may infer. */
export interface OipModels {
  active(): InferencePool | null;
  challenger(): InferencePool | null;
  /** Inference is scoring: the gateway checks the scorer role (anonymous while no credentials are configured). */
  authorize(authorization: string): Authorized | Promise<Authorized>;
}

export type OipOptions = Pick<Config, 'maxBodyBytes' | 'bodyLingerBytes' | 'batchMaxItems' | 'inferenceQueueMax'>;

// Binary tensors are little-endian by the protocol; rows are copied byte for byte into a
// Float32Array, which is right only on a little-endian host (every platform Node ships for).
if (endianness() !== 'LE') throw new Error('the OIP binary tensor extension needs a little-endian host');

/** An OIP answer other than 200: status and the protocol's error string. */
class OipError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Retry-After seconds (503 gets the admission delay when this is null). */
    readonly retryAfter: string | null = null,
  ) {
    super(message);
  }
}

/** An authentication refusal (401, 403, 429) in the protocol's form, Retry-After kept. */
function fromAuth(e: ScoregateError): OipError {
  const ms = e.retryAfterMs;
  return new OipError(e.status, e.message, ms === undefined ? null : String(Math.max(1, Math.ceil(ms / 1000))));
}

/** Nothing a client sends may throw out of a handler: anything unforeseen is a bare 500. */
function asOipError(err: unknown): OipError {
  return err instanceof OipError ? err : new OipError(500, 'internal error');
}

function serverVersion(): string {
  try {
    // dist/src/api/oip.js → the package.json shipped beside dist/ (the Dockerfile copies it).
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const SERVER_METADATA = JSON.stringify({ name: 'scoregate', version: serverVersion(), extensions: ['binary_tensor_data'] });
const INPUT_META = { name: INPUT_NAME, datatype: 'FP32', shape: [-1, FEATURE_COUNT] };
const OUTPUT_META = { name: OUTPUT_NAME, datatype: 'FP32', shape: [-1] };
const JSON_TYPE = 'application/json';
const RETRY_AFTER = String(RETRY_AFTER_S);
const NOTHING_LOADED = 'no model is loaded yet';

function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

function sendError(ex: Exchange, e: OipError, close = false): void {
  const retryAfter = e.retryAfter ?? (e.status === 503 ? RETRY_AFTER : null);
  ex.send(e.status, errorBody(e.message), close, JSON_TYPE, retryAfter === null ? null : 'retry-after', retryAfter ?? '');
}

/** The path's name and version (null on unversioned routes), percent-decoded. */
function target(req: HttpRequest, versioned: boolean): { name: string; version: string | null } {
  try {
    return { name: decodeURIComponent(req.getParameter(0) ?? ''), version: versioned ? decodeURIComponent(req.getParameter(1) ?? '') : null };
  } catch {
    throw new OipError(400, 'the model name or version in the path is not valid percent-encoding');
  }
}

/**
 * The pool that `name` (and `version`, if given) addresses: the serving model, or the
 * challenger by its version (or by its name when that differs from the serving model's).
 * Read at the moment of use: after a hot swap the next request finds the new pool.
 */
function resolve(models: OipModels, name: string, version: string | null): InferencePool {
  const a = models.active();
  if (a === null) throw new OipError(503, NOTHING_LOADED);
  if (a.model.name === name && (version === null || a.model.version === version)) return a;
  const c = models.challenger();
  if (c !== null && c.model.name === name && (version === null ? a.model.name !== name : c.model.version === version)) return c;
  const known = a.model.name === name || c?.model.name === name;
  const q = JSON.stringify(name.slice(0, 128));
  if (!known) throw new OipError(404, `unknown model ${q}: this gateway serves ${JSON.stringify(a.model.name)}${c !== null && c.model.name !== a.model.name ? ` and ${JSON.stringify(c.model.name)}` : ''}`);
  throw new OipError(404, `model ${q} has no version ${JSON.stringify((version ?? '').slice(0, 128))} loaded; versions: ${versionsOf(models, name).join(', ')}`);
}

function versionsOf(models: OipModels, name: string): string[] {
  const out: string[] = [];
  for (const p of [models.active(), models.challenger()]) if (p !== null && p.model.name === name) out.push(p.model.version);
  return out;
}

function modelMetadata(models: OipModels, pool: InferencePool): string {
  return JSON.stringify({ name: pool.model.name, versions: versionsOf(models, pool.model.name), platform: 'onnxruntime_onnx', inputs: [INPUT_META], outputs: [OUTPUT_META] });
}

// ---- the inference request ---------------------------------------------------------------

/** What an infer request asks for, checked: the rows, their count, and how to answer. */
interface InferRequest {
  id: string | null;
  rows: Float32Array;
  n: number;
  binaryOutput: boolean;
}

function asObject(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OipError(400, `${field} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Row count from `shape`, which must be [N, FEATURE_COUNT] with 1 ≤ N ≤ BATCH_MAX_ITEMS. */
function rowsOf(shape: unknown, field: string, maxRows: number): number {
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every((d) => Number.isInteger(d))) {
    throw new OipError(400, `${field} must be [N, ${FEATURE_COUNT}] (rows of the ${FEATURE_COUNT} contract features), got ${JSON.stringify(shape)?.slice(0, 100)}`);
  }
  const [n, f] = shape as [number, number];
  if (f !== FEATURE_COUNT) throw new OipError(400, `${field}[1] must be ${FEATURE_COUNT} (the feature contract's length), got ${f}`);
  if (n < 1) throw new OipError(400, `${field}[0] must be at least 1 row, got ${n}`);
  if (n > maxRows) throw new OipError(400, `${field}[0] is ${n} rows; one request takes at most ${maxRows} (BATCH_MAX_ITEMS)`);
  return n;
}

/**
 * Copies JSON `data` into rows: row-major flat (N×F numbers) or nested (N arrays of F). Explicit
 * typeof checks, no coercion: a string or null is a 400 naming its index, never a NaN score.
 */
function fillFromJson(data: unknown, rows: Float32Array, n: number, field: string): void {
  if (!Array.isArray(data)) throw new OipError(400, `${field} must be an array of numbers (row-major) or of ${FEATURE_COUNT}-number rows`);
  const F = FEATURE_COUNT;
  if (data.length === n * F) {
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      if (typeof v !== 'number') throw new OipError(400, `${field}[${i}] must be a number, got ${JSON.stringify(v)?.slice(0, 40)}`);
      rows[i] = v;
    }
    return;
  }
  if (data.length !== n) throw new OipError(400, `${field} holds ${data.length} elements; shape [${n}, ${F}] needs ${n * F} numbers or ${n} rows of ${F}`);
  for (let r = 0; r < n; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row) || row.length !== F) throw new OipError(400, `${field}[${r}] must be a row of ${F} numbers`);
    for (let c = 0; c < F; c++) {
      const v: unknown = row[c];
      if (typeof v !== 'number') throw new OipError(400, `${field}[${r}][${c}] must be a number, got ${JSON.stringify(v)?.slice(0, 40)}`);
      rows[r * F + c] = v;
    }
  }
}

/** Checks the JSON header (and, for binary inputs, the bytes after it) and builds the rows. */
export function parseInferRequest(header: unknown, binary: Uint8Array | null, maxRows: number): InferRequest {
  const body = asObject(header, 'the request body');
  const id = body['id'];
  if (id !== undefined && typeof id !== 'string') throw new OipError(400, 'id must be a string');
  const params = body['parameters'] === undefined ? null : asObject(body['parameters'], 'parameters');
  const inputs = body['inputs'];
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new OipError(400, `inputs must be a list of one tensor, ${JSON.stringify(INPUT_NAME)} FP32 [N, ${FEATURE_COUNT}]; got ${Array.isArray(inputs) ? `${inputs.length} tensors` : 'no list'}`);
  }
  const input = asObject(inputs[0], 'inputs[0]');
  if (input['name'] !== INPUT_NAME) throw new OipError(400, `inputs[0].name must be ${JSON.stringify(INPUT_NAME)}, got ${JSON.stringify(input['name'])?.slice(0, 100)}`);
  if (input['datatype'] !== 'FP32') throw new OipError(400, `inputs[0].datatype must be FP32, got ${JSON.stringify(input['datatype'])?.slice(0, 40)}`);
  const n = rowsOf(input['shape'], 'inputs[0].shape', maxRows);
  const inParams = input['parameters'] === undefined ? null : asObject(input['parameters'], 'inputs[0].parameters');
  const rows = new Float32Array(n * FEATURE_COUNT);
  const size = inParams?.['binary_data_size'];
  if (size !== undefined) {
    const want = n * FEATURE_COUNT * 4;
    if (size !== want) throw new OipError(400, `inputs[0].parameters.binary_data_size must be ${want} (FP32 [${n}, ${FEATURE_COUNT}]), got ${JSON.stringify(size)?.slice(0, 40)}`);
    if (binary === null || binary.byteLength !== want) {
      throw new OipError(400, `inputs[0] announces ${want} bytes of binary data, the body holds ${binary?.byteLength ?? 0} after the Inference-Header-Content-Length header`);
    }
    new Uint8Array(rows.buffer).set(binary); // one copy: aligned, and the body buffer may be pooled
  } else {
    if (binary !== null && binary.byteLength > 0) throw new OipError(400, 'the body holds binary data after the JSON header, but no input has parameters.binary_data_size');
    fillFromJson(input['data'], rows, n, 'inputs[0].data');
  }
  let binaryOutput = params?.['binary_data_output'] === true;
  const outputs = body['outputs'];
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw new OipError(400, 'outputs must be a list of requested outputs');
    for (let i = 0; i < outputs.length; i++) {
      const o = asObject(outputs[i], `outputs[${i}]`);
      if (o['name'] !== OUTPUT_NAME) throw new OipError(400, `outputs[${i}].name must be ${JSON.stringify(OUTPUT_NAME)} (the only output), got ${JSON.stringify(o['name'])?.slice(0, 100)}`);
      const op = o['parameters'] === undefined ? null : asObject(o['parameters'], `outputs[${i}].parameters`);
      binaryOutput = op?.['binary_data'] === true;
    }
  }
  return { id: typeof id === 'string' ? id : null, rows, n, binaryOutput };
}

/** The answer: the `score` tensor as JSON data, or as binary after a JSON header. */
function inferResponse(ex: Exchange, pool: InferencePool, req: InferRequest, scores: Float32Array): void {
  const m = pool.model;
  let head = `{"model_name":${JSON.stringify(m.name)},"model_version":${JSON.stringify(m.version)}`;
  if (req.id !== null) head += `,"id":${JSON.stringify(req.id)}`;
  head += `,"outputs":[{"name":"${OUTPUT_NAME}","datatype":"FP32","shape":[${req.n}]`;
  if (!req.binaryOutput) {
    // A float32 widened to double prints exactly: the client reads back the same FP32 value.
    let data = '';
    for (let i = 0; i < req.n; i++) data += i === 0 ? String(scores[i]) : `,${scores[i]}`;
    ex.send(200, `${head},"data":[${data}]}]}`, false, JSON_TYPE);
    return;
  }
  const json = `${head},"parameters":{"binary_data_size":${req.n * 4}}}]}`;
  const jsonBytes = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(jsonBytes + req.n * 4);
  out.write(json, 0, 'utf8');
  out.set(new Uint8Array(scores.buffer, scores.byteOffset, req.n * 4), jsonBytes);
  ex.send(200, out, false, 'application/octet-stream', 'inference-header-content-length', String(jsonBytes));
}

function decode(body: Buffer, encoding: string, limit: number): Buffer {
  try {
    return encoding === 'gzip' ? gunzipSync(body, { maxOutputLength: limit }) : inflateSync(body, { maxOutputLength: limit });
  } catch (err) {
    if (err instanceof RangeError) throw new OipError(413, `the decompressed request body exceeds the limit of ${limit} bytes`);
    throw new OipError(400, `the request body is not valid ${encoding} data`);
  }
}

function parseHeaderJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OipError(400, `the request body is not valid JSON: ${err instanceof SyntaxError ? err.message : 'nesting too deep'}`);
  }
}

function inferRoute(models: OipModels, opts: OipOptions, versioned: boolean): (res: HttpResponse, req: HttpRequest) => void {
  const queueError = new OipError(503, 'the inference queue is full: retry after the Retry-After delay');
  return (res, req) => {
    const ex = new Exchange(res);
    res.onAborted(() => ex.abort());
    // Headers and parameters are only readable now, synchronously.
    const contentLength = req.getHeader('content-length');
    const chunked = req.getHeader('transfer-encoding') !== '';
    const headerLength = req.getHeader('inference-header-content-length');
    const encoding = req.getHeader('content-encoding').toLowerCase();
    const declared = contentLength === '' ? -1 : Number(contentLength);
    const closeEarly = declared < 0 || declared > opts.bodyLingerBytes;
    // Credentials first, as on /v1/score: a JWT not seen before is verified while the body is read.
    const authz = models.authorize(req.getHeader('authorization'));
    if (authz instanceof ScoregateError) return sendError(ex, fromAuth(authz), closeEarly);
    if (authz instanceof Promise) authz.catch(() => undefined); // settled below, unless the body fails first
    let path: { name: string; version: string | null };
    try {
      path = target(req, versioned);
      if (declared < 0 && !chunked) throw new OipError(411, 'a request body needs Content-Length or chunked Transfer-Encoding');
      if (declared > opts.maxBodyBytes + opts.bodyLingerBytes) throw new OipError(413, `request body of ${declared} bytes exceeds the limit of ${opts.maxBodyBytes}`);
      if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
        throw new OipError(400, `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported (gzip, deflate or identity)`);
      }
      if (headerLength !== '' && !/^\d{1,9}$/.test(headerLength)) throw new OipError(400, 'Inference-Header-Content-Length must be a whole number of bytes');
    } catch (err) {
      const e = asOipError(err);
      return sendError(ex, e, e.status === 411 || e.status === 413 ? true : closeEarly);
    }
    const finish = (headerText: string, binary: Uint8Array | null): void => {
      settle(
        authz,
        () => infer(headerText, binary),
        (e) => sendError(ex, fromAuth(e)),
      );
    };
    const infer = (headerText: string, binary: Uint8Array | null): void => {
      if (ex.aborted) return;
      let request: InferRequest;
      let pool: InferencePool;
      try {
        request = parseInferRequest(parseHeaderJson(headerText), binary, opts.batchMaxItems);
        pool = resolve(models, path.name, path.version);
        if (pool.queued + request.n > opts.inferenceQueueMax) throw queueError;
      } catch (err) {
        return sendError(ex, asOipError(err));
      }
      // Same turn as resolve(): a pool found serving has not been closed by a swap yet.
      pool.scoreRows(request.rows, request.n).then(
        (scores) => inferResponse(ex, pool, request, scores),
        (err: unknown) => {
          const code = err instanceof ScoregateError ? err.code : 'INTERNAL';
          sendError(ex, code === 'OVERLOADED' || code === 'NOT_READY' ? queueError : new OipError(500, err instanceof Error ? err.message : 'inference failed'));
        },
      );
    };
    if (headerLength === '' && (encoding === '' || encoding === 'identity')) {
      // Plain JSON, the common case: decoded straight from uWS's buffer, 413 after lingering.
      return readBody(res, opts.maxBodyBytes, opts.bodyLingerBytes, (r) => {
        if (ex.aborted) return;
        if (r.ok) return finish(r.text, null);
        if (r.reason === 'too_large') return sendError(ex, new OipError(413, `request body exceeds the limit of ${opts.maxBodyBytes} bytes`), !r.drained);
        sendError(ex, new OipError(400, 'the request body is not valid UTF-8'));
      });
    }
    readRawBody(res, opts.maxBodyBytes, (raw) => {
      if (ex.aborted) return;
      if (raw === null) return sendError(ex, new OipError(413, `request body exceeds the limit of ${opts.maxBodyBytes} bytes`), true);
      try {
        const body = encoding === 'gzip' || encoding === 'deflate' ? decode(raw, encoding, opts.maxBodyBytes) : raw;
        const h = headerLength === '' ? body.length : Number(headerLength);
        if (h > body.length) throw new OipError(400, `Inference-Header-Content-Length is ${h}, the body holds only ${body.length} bytes`);
        finish(body.toString('utf8', 0, h), headerLength === '' ? null : body.subarray(h));
      } catch (err) {
        sendError(ex, asOipError(err));
      }
    });
  };
}

// ---- attaching ---------------------------------------------------------------------------

/** A GET handler answering JSON, or the OIP error its body throws. */
function get(handle: (req: HttpRequest) => [number, string]): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const ex = new Exchange(res);
    try {
      const [status, body] = handle(req);
      ex.send(status, body, false, JSON_TYPE);
    } catch (err) {
      sendError(ex, asOipError(err));
    }
  };
}

export function attachOip(app: TemplatedApp, opts: OipOptions, models: OipModels): void {
  app.get('/v2', get(() => [200, SERVER_METADATA]));
  app.get('/v2/health/live', get(() => [200, '{"live":true}']));
  // Ready when the serving model is loaded and warmed: OIP inference needs nothing else (no
  // sink, no Kafka replay, which /readyz also waits for). The protocol says false is a 4xx.
  app.get('/v2/health/ready', get(() => (models.active() === null ? [400, '{"ready":false}'] : [200, '{"ready":true}'])));
  for (const versioned of [false, true]) {
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    app.get(base, get((req) => {
      const t = target(req, versioned);
      return [200, modelMetadata(models, resolve(models, t.name, t.version))];
    }));
    app.get(`${base}/ready`, get((req) => {
      const t = target(req, versioned);
      if (models.active() === null) return [400, errorBody(NOTHING_LOADED)];
      const p = resolve(models, t.name, t.version);
      return [200, JSON.stringify({ name: p.model.name, version: p.model.version, ready: true })];
    }));
    app.post(`${base}/infer`, inferRoute(models, opts, versioned));
  }
}
