/**
 * (c) What a Node developer would write: Fastify + onnxruntime-node on the main thread, one
 * session.run per request (no batching, default session options), the same model and the same
 * work per request as the gateway (its parseTransaction, uniqueness check, FeatureEngine and
 * quality flags), answering the same JSON. No sink, no metrics.
 *
 * A .mjs file (not compiled by the root tsc) because fastify lives in loadtest/node_modules:
 *   npm install --prefix loadtest && npx tsc -p tsconfig.json
 *   PORT=... HOST=127.0.0.1 node loadtest/servers/fastify-onnx.mjs
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p) => join(root, 'dist', p);
const { FeatureEngine } = await import(dist('src/features/engine.js'));
const { FEATURE_COUNT } = await import(dist('src/features/contract.js'));
const { parseTransaction } = await import(dist('src/quality/parse.js'));
const { assessQuality } = await import(dist('src/quality/checks.js'));

const port = Number(process.env.PORT ?? 8091);
const host = process.env.HOST ?? '127.0.0.1';
const modelDir = resolve(root, process.env.MODEL_DIR ?? 'models/fraud-detector');

// Default session options, as a developer would write it. ORT_INTRA_OP_THREADS=1 is there to
// measure what ORT's own thread pool costs on this machine.
const threads = Number(process.env.ORT_INTRA_OP_THREADS ?? 0);
const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), threads > 0 ? { intraOpNumThreads: threads } : {});
const input = session.inputNames[0];
const output = session.outputNames.includes('probabilities') ? 'probabilities' : session.outputNames.at(-1);
const engine = new FeatureEngine({ maxUsers: 1_000_000, maxBytes: 1 << 30, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: 2_000_000 });
const model = { name: 'fraud-detector', version: 'fastify' };

const risk = (s) => (s > 0.8 ? 'HIGH' : s > 0.5 ? 'MEDIUM' : 'LOW');
const fail = (reply, status, code, message, field) => reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });

const app = Fastify({ logger: false });

app.get('/readyz', async () => ({ ready: true }));

// tookMs counts from the request's arrival (before Fastify reads and parses the body), as the gateway's does.
app.decorateRequest('startedAt', 0);
app.addHook('onRequest', (req, _reply, done) => {
  req.startedAt = performance.now();
  done();
});

app.post('/v1/score', async (req, reply) => {
  let tx;
  try {
    tx = parseTransaction(req.body);
  } catch (e) {
    return fail(reply, e.status ?? 400, e.code ?? 'INVALID_BODY', e.message, e.field);
  }
  if (engine.seen.has(tx.transactionId)) return fail(reply, 409, 'DUPLICATE_TRANSACTION', 'already scored', 'transactionId');
  const row = new Float32Array(FEATURE_COUNT);
  const ctx = engine.compute(tx, row, 0);
  const quality = assessQuality(tx, ctx.meanLast5, Date.now());
  if (quality.joinsWindows) engine.ingest(tx);
  else engine.seen.add(tx.transactionId);
  const result = await session.run({ [input]: new ort.Tensor('float32', row, [1, FEATURE_COUNT]) });
  const data = result[output].data;
  const score = data[data.length - 1];
  return {
    transactionId: tx.transactionId,
    score,
    riskCategory: risk(score),
    model,
    quality: { score: quality.score, flags: quality.flags },
    tookMs: Math.round((performance.now() - req.startedAt) * 1000) / 1000,
  };
});

// Warm the session once, as the gateway does.
await session.run({ [input]: new ort.Tensor('float32', new Float32Array(FEATURE_COUNT), [1, FEATURE_COUNT]) });
await app.listen({ port, host });
console.error(JSON.stringify({ level: 'info', msg: 'listening', host, port }));
const stop = () => app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
