/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof`), as a markdown table:
 *
 *   node dist/loadtest/profile-top.js FILE.cpuprofile [N]
 *
 * Self time of a node is its sample count × the mean sampling interval; nodes of one function
 * (same name, file, line) are summed. "(idle)" and "(program)" are V8's: the thread waiting and
 * native work not attributed to JavaScript (uWS' C++ core, libuv, the kernel's send/recv).
 *
 * A second table puts every busy sample in one stage of the request's path: the first frame
 * from the sample's leaf up that belongs to a stage (STAGES, in src/ folder order) decides, so
 * a library call counts for the gateway code that made it (lru-cache under the answer store is
 * idempotency). Stages add up to 100%.
 */
import { relative } from 'node:path';
import { readProfile, type ProfileNode } from './cpuprofile.js';


const [file, nArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node dist/loadtest/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const p = readProfile(file);
const total = p.samples.length;
const usPerSample = (p.endTime - p.startTime) / Math.max(1, total);
const byFn = new Map<string, number>();
for (const n of p.nodes) {
  const f = n.callFrame;
  const where = f.url === '' ? '' : ` ${relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}`;
  const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
  byFn.set(key, (byFn.get(key) ?? 0) + (n.hitCount ?? 0));
}
const idle = byFn.get('(idle)') ?? 0;
const busy = total - idle;
console.log(`${total} samples of ${(usPerSample / 1000).toFixed(2)} ms; busy ${((busy / total) * 100).toFixed(0)}% of the thread's time\n`);
console.log('| function | self % of busy | self ms |');
console.log('|---|---:|---:|');
for (const [k, v] of [...byFn.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(nArg ?? 25))) {
  console.log(`| \`${k}\` | ${((v / busy) * 100).toFixed(1)} | ${((v * usPerSample) / 1000).toFixed(0)} |`);
}

/** A request's stages, matched on "functionName url" (the first match from the leaf up wins). */
const STAGES: [string, RegExp][] = [
  ['inference (onnxruntime-node, micro-batches)', /onnxruntime-node|\/src\/inference\//],
  ['scored event: JSON line (lineage, classification, features) and the file write', /\/src\/sink\//],
  ['feature windows (compute, ingest)', /\/src\/features\//],
  ['idempotency (fingerprint, remembered answers)', /\/src\/idempotency\//],
  ['parse and quality checks', /\/src\/quality\/|^parseJson |\/src\/http\/body/],
  ['card-data protection', /\/src\/privacy\//],
  ['monitoring, drift and metrics', /\/src\/monitoring\/|prom-client|\/src\/core\/metrics|fast-histogram/],
  ['answer written (uWS end: write(2))', /\/src\/http\/respond/],
  ['scorer (deadlines, routing, the answer text)', /\/src\/scoring\/|\/src\/core\/deadlines|\/src\/admission\//],
  ['garbage collector', /^\(garbage collector\)/],
  ['native, not JavaScript (uWS read and HTTP parse, libuv)', /^\(program\)/],
];
const parent = new Map<number, ProfileNode>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const stageOf = new Map<number, string>();
const frameKey = (n: ProfileNode): string => `${n.callFrame.functionName} ${n.callFrame.url}`;
function stage(n: ProfileNode): string {
  const known = stageOf.get(n.id);
  if (known !== undefined) return known;
  const k = frameKey(n);
  let s = STAGES.find(([, re]) => re.test(k))?.[0];
  if (s === undefined) {
    const up = parent.get(n.id);
    s = up === undefined ? 'other (the event loop, Node, uWS callbacks)' : stage(up);
  }
  stageOf.set(n.id, s);
  return s;
}
const stages = new Map<string, number>();
for (const n of p.nodes) {
  if (n.callFrame.functionName === '(idle)' || (n.hitCount ?? 0) === 0) continue;
  const s = stage(byId.get(n.id)!);
  stages.set(s, (stages.get(s) ?? 0) + (n.hitCount ?? 0));
}
console.log('\n| stage of the request | % of busy |');
console.log('|---|---:|');
for (const [k, v] of [...stages.entries()].sort((a, b) => b[1] - a[1])) console.log(`| ${k} | ${((v / busy) * 100).toFixed(1)} |`);
