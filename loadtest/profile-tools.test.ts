/**
 * The profile tools on a small hand-built V8 CPU profile: profile-top's self-time table and its
 * stages (each busy sample in the first gateway stage from its leaf up; they add up to 100%),
 * and flame.ts' boxes (as wide as the samples in and below them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/core/config.js';

const run = promisify(execFile);
const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0, scriptId: '0', columnNumber: 0 });

// root ─┬ (idle) ×10
//       ├ afterBody src/http/score.js ×1 ─┬ hash node:crypto ×2 ← under fingerprint src/idempotency
//       │                                 │   (afterBody → fingerprint → hash)
//       │                                 └ run onnxruntime-node ×4
//       ├ flushBatch src/sink/file.js ×3
//       └ (garbage collector) ×2
const nodes = [
  { id: 1, callFrame: frame('(root)'), hitCount: 0, children: [2, 3, 7, 8] },
  { id: 2, callFrame: frame('(idle)'), hitCount: 10 },
  { id: 3, callFrame: frame('afterBody', 'file:///x/dist/src/http/score.js'), hitCount: 1, children: [4, 6] },
  { id: 4, callFrame: frame('fingerprint', 'file:///x/dist/src/idempotency/fingerprint.js'), hitCount: 0, children: [5] },
  { id: 5, callFrame: frame('hash', 'node:internal/crypto/hash'), hitCount: 2 },
  { id: 6, callFrame: frame('run', 'file:///x/node_modules/onnxruntime-node/dist/backend.js'), hitCount: 4 },
  { id: 7, callFrame: frame('flushBatch', 'file:///x/dist/src/sink/file.js'), hitCount: 3 },
  { id: 8, callFrame: frame('(garbage collector)'), hitCount: 2 },
];
const samples = nodes.flatMap((n) => Array<number>(n.hitCount).fill(n.id));
const profile = { nodes, startTime: 0, endTime: samples.length * 1000, samples, timeDeltas: samples.map(() => 1000) };

describe('profile tools', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-tools-'));
  const file = join(dir, 'p.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('profile-top: self time of the busy samples, and each busy sample in one stage of the request', async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/loadtest/profile-top.js'), file, '10']);
    expect(stdout).toContain('22 samples of 1.00 ms; busy 55% of the thread\'s time');
    expect(stdout).toMatch(/^\| `run \S*node_modules\/onnxruntime-node\/dist\/backend.js:1` \| 33.3 \| 4 \|$/m);
    const stages = Object.fromEntries([...stdout.matchAll(/^\| ([^|`]+) \| ([\d.]+) \|$/gm)].map((m) => [m[1]!, Number(m[2])]));
    expect(stages).toEqual({
      'inference (onnxruntime-node, micro-batches)': 33.3,
      'scored event: JSON line (lineage, classification, features) and the file write': 25,
      'idempotency (fingerprint, remembered answers)': 16.7, // hash, under fingerprint
      'garbage collector': 16.7,
      'other (the event loop, Node, uWS callbacks)': 8.3, // afterBody itself: no stage of its own
    });
  });

  it('flame: one box per frame with ≥ 0.1% of the busy samples, as wide as its samples and its callees\'', async () => {
    const out = join(dir, 'f.svg');
    await run(process.execPath, [join(REPO_ROOT, 'dist/loadtest/flame.js'), file, out, 'test']);
    const svg = readFileSync(out, 'utf8');
    const width = (name: string): number => Number(new RegExp(`<title>${name}[^<]*</title><rect x="[\\d.]+" y="\\d+" width="([\\d.]+)"`).exec(svg)?.[1]);
    // 12 busy samples over 1200 px: 100 px a sample, less the 0.5 px gap.
    expect(width('afterBody')).toBe(699.5); // 1 + 2 + 4
    expect(width('fingerprint')).toBe(199.5);
    expect(width('flushBatch')).toBe(299.5);
    expect(svg).not.toContain('(idle)');
  });
});
