/**
 * A gained partition's rebuild as Shards drives it (shards.ts assign): a failed rebuild is logged
 * and tried again while the partition is owned, its users served once one succeeds; a lost
 * partition is forgotten by the feed and not rebuilt again. No broker: the rebuild is a seam.
 */
import type { Kafka } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Logger } from '../core/log.js';
import { Shards } from './shards.js';

afterEach(() => {
  vi.useRealTimers();
});

function shards(rebuild: (p: number[]) => Promise<void>): { s: Shards; forgotten: number[][]; errors: string[] } {
  const forgotten: number[][] = [];
  const errors: string[] = [];
  const log = new Logger('error');
  vi.spyOn(log, 'error').mockImplementation((msg: string) => void errors.push(msg));
  const s = new Shards({} as Kafka, { inputTopic: 't', inputPartitions: 4, groupId: 'g', sessionTimeoutMs: 10_000, advertisedUrl: () => 'http://me', rebuild, drop: () => 0, forget: (p) => void forgotten.push(p) }, log);
  s.assign([0]); // the first assignment is the feed's start-up replay's
  return { s, forgotten, errors };
}

describe('rebuild of gained partitions', () => {
  it('a failed rebuild is logged and tried again with backoff until it succeeds; the partition serves after', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { s, errors } = shards(async () => {
      calls++;
      if (calls <= 2) throw new Error(`boom ${calls}`);
    });
    s.assign([0, 1]);
    expect(s.rebuilding.has(1)).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1); // first retry after 1 s
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toBe(2); // then 2 s
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    await s.ready(1);
    expect(s.rebuilding.has(1)).toBe(false);
    expect(errors).toHaveLength(2);
  });

  it('a partition lost while its rebuild fails is forgotten and not rebuilt again', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { s, forgotten } = shards(async () => {
      calls++;
      throw new Error('boom');
    });
    s.assign([0, 1]);
    s.assign([0]);
    expect(forgotten).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    await s.ready(1);
    expect(s.rebuilding.size).toBe(0);
  });
});
