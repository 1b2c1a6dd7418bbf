/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof`), as a markdown table:
 *
 *   node dist/loadtest/profile-top.js FILE.cpuprofile [N]
 *
 * Self time of a node is its sample count × the mean sampling interval; nodes of one function
 * (same name, file, line) are summed. "(idle)" and "(program)" are V8's: the thread waiting and
 * native work not attributed to JavaScript (uWS' C++ core, libuv, the kernel's send/recv).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const [file, nArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node dist/loadtest/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
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
