/**
 * CI smoke of the benchmarks: each starts, runs briefly and prints its table. Only that is
 * checked — timings never decide a test.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/core/config.js';

const run = promisify(execFile);

describe('bench smoke', () => {
  it('hotpath prints its table', async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/bench/hotpath.js'), '--quick'], { timeout: 120_000 });
    expect(stdout).toContain('| task | mean µs | p99 µs | ops/s |');
    expect(stdout).toMatch(/\| inference: batch of 128, on the event loop \| [\d.]+ \|/);
  }, 150_000);

  it('explain prints its table', async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/bench/explain.js'), '--quick'], { timeout: 120_000 });
    expect(stdout).toMatch(/\| explain: TreeSHAP, all 26 contributions \+ bias \| [\d.]+ \|/);
  }, 150_000);

  it('windows-memory prints its table', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', join(REPO_ROOT, 'dist/bench/windows-memory.js'), '--users', '20000', '--events', '3'], { timeout: 60_000 });
    expect(stdout).toMatch(/\| 20,000 \| 3 \|/);
  }, 90_000);

  it('auth prints its table', async () => {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/bench/auth.js'), '--quick'], { timeout: 60_000 });
    expect(stdout).toMatch(/\| API key: authorize \(sync\) \| [\d.]+ \|/);
    expect(stdout).toMatch(/\| JWT: first verification, EdDSA \| [\d.]+ \|/);
  }, 90_000);

  it('kafka-ingest runs on a real broker and its windows equal what was produced and the oracle', async () => {
    // Starts its own Kafka and registry (scripts/services/up.sh); 20k events. The rate is printed,
    // never checked; the windows after the ingest and after the rebuild are.
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/bench/kafka-ingest.js'), '--quick', '--no-profile'], { timeout: 240_000, maxBuffer: 1 << 24 });
    expect(stdout).toMatch(/\| ingest: start → caught up \| 20,150 \| [\d.]+ \|/);
    expect(stdout).toMatch(/\| rebuild: rewind of 12 partitions \| 20,150 \| [\d.]+ \|/);
    expect(stdout).toContain('after ingest: windows equal (all 2,000 users as produced; 6 known-sequence users as the oracle says)');
    expect(stdout).toContain('after rebuild: windows equal (all 2,000 users as produced; 6 known-sequence users as the oracle says)');
  }, 300_000);
});
