/**
 * A flame graph (SVG) of a V8 CPU profile (`node --cpu-prof`):
 *
 *   node dist/loadtest/flame.js FILE.cpuprofile OUT.svg [TITLE]
 *
 * Each box is a function in its caller's stack, as wide as the samples spent in it and below
 * it; drawn as an icicle (callers on top, what they call below them) to MAX_DEPTH frames, so
 * the wide boxes are on the first screen (start-up's module loading is deep and thin). "(idle)"
 * is left out, so the width is the thread's busy time. Boxes narrower than 0.1% are left out;
 * hover a box for its name and share.
 * Colours are by source: the gateway (src/), node_modules, Node's own code, V8 and native.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { readProfile, type ProfileNode } from './cpuprofile.js';


const [file, out, title] = process.argv.slice(2);
if (file === undefined || out === undefined) {
  console.error('usage: node dist/loadtest/flame.js FILE.cpuprofile OUT.svg [TITLE]');
  process.exit(2);
}
const p = readProfile(file);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const root = p.nodes[0]!;

/** Samples in a node and everything it called ("(idle)" counts nothing). */
const total = new Map<number, number>();
function sum(n: ProfileNode): number {
  let t = n.callFrame.functionName === '(idle)' ? 0 : (n.hitCount ?? 0);
  for (const c of n.children ?? []) t += sum(byId.get(c)!);
  total.set(n.id, t);
  return t;
}
const busy = sum(root);

const W = 1200;
const ROW = 16;
const MIN_SHARE = 0.001;
const MAX_DEPTH = 40;
interface Box {
  x: number;
  w: number;
  depth: number;
  label: string;
  kind: string;
  share: number;
}
const boxes: Box[] = [];
let maxDepth = 0;

function label(n: ProfileNode): { label: string; kind: string } {
  const f = n.callFrame;
  const name = f.functionName === '' ? '(anonymous)' : f.functionName;
  const url = f.url.replace(/^file:\/\//, '');
  if (url === '') return { label: name, kind: name.startsWith('(') ? 'v8' : 'native' };
  const where = url.startsWith('node:') ? url : relative(process.cwd(), url);
  const kind = url.startsWith('node:') ? 'node' : where.includes('node_modules') ? 'deps' : 'own';
  return { label: `${name} ${where.replace(/^.*node_modules\//, '')}:${f.lineNumber + 1}`, kind };
}

function layout(n: ProfileNode, x: number, depth: number): void {
  const t = total.get(n.id)!;
  if (t / busy < MIN_SHARE || depth > MAX_DEPTH) return;
  const w = (t / busy) * W;
  if (n !== root) {
    boxes.push({ x, w, depth, ...label(n), share: t / busy });
    maxDepth = Math.max(maxDepth, depth);
  }
  let cx = x;
  const kids = (n.children ?? []).map((c) => byId.get(c)!).sort((a, b) => total.get(b.id)! - total.get(a.id)!);
  for (const c of kids) {
    layout(c, cx, n === root ? 0 : depth + 1);
    cx += (total.get(c.id)! / busy) * W;
  }
}
layout(root, 0, 0);

const COLOURS: Record<string, string> = { own: '#e8743b', deps: '#f2b447', node: '#7fb3d5', v8: '#b0b0b0', native: '#9bcf8f' };
const H = (maxDepth + 1) * ROW + 40;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const svg: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="monospace" font-size="11">`,
  `<rect width="${W}" height="${H}" fill="#fff"/>`,
  `<text x="4" y="14" font-size="13">${esc(title ?? 'CPU flame graph')} (width: share of busy samples; colours: gateway src orange, node_modules yellow, Node blue, native green, V8 grey)</text>`,
];
for (const b of boxes) {
  const y = 24 + b.depth * ROW;
  const text = b.w > 40 ? esc(b.label.slice(0, Math.floor((b.w - 4) / 6.6))) : '';
  svg.push(
    `<g><title>${esc(b.label)} — ${(b.share * 100).toFixed(1)}%</title><rect x="${b.x.toFixed(2)}" y="${y}" width="${Math.max(0.5, b.w - 0.5).toFixed(2)}" height="${ROW - 1}" fill="${COLOURS[b.kind]}"/>` +
      (text === '' ? '' : `<text x="${(b.x + 2).toFixed(2)}" y="${y + 11}">${text}</text>`) +
      '</g>',
  );
}
svg.push('</svg>');
writeFileSync(out, svg.join('\n') + '\n');
console.log(`${out}: ${boxes.length} boxes, ${busy} busy samples`);
