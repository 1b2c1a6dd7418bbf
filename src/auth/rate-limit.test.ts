import { describe, expect, it } from 'vitest';
import { burstFor, RateLimited, TokenBucket } from './rate-limit.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('token bucket', () => {
  it('lets a full burst through at once, then refuses with the whole seconds until one token is back', () => {
    const c = clock();
    const b = new TokenBucket(2, 5, c.now); // 2 per second, 5 at most
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(0);
    expect(b.take()).toBe(1); // 1 token needs 0.5 s: Retry-After rounds up to 1
    c.advance(499);
    expect(b.take()).toBe(1);
    c.advance(1);
    expect(b.take()).toBe(0); // 500 ms at 2/s is exactly one token
    expect(b.take()).toBe(1);
  });

  it('refills at the rate and never above the burst', () => {
    const c = clock();
    const b = new TokenBucket(10, 20, c.now);
    for (let i = 0; i < 20; i++) b.take();
    expect(b.available()).toBe(0);
    c.advance(700);
    expect(b.available()).toBeCloseTo(7, 9);
    c.advance(60_000);
    expect(b.available()).toBe(20);
    for (let i = 0; i < 20; i++) expect(b.take()).toBe(0);
    expect(b.take()).toBe(1);
  });

  it('a refused take spends nothing', () => {
    const c = clock();
    const b = new TokenBucket(1, 1, c.now);
    expect(b.take()).toBe(0);
    for (let i = 0; i < 10; i++) expect(b.take()).toBe(1);
    c.advance(1000);
    expect(b.take()).toBe(0);
  });

  it('answers Retry-After for the missing tokens of a costly take, and clamps a cost above the burst', () => {
    const c = clock();
    const b = new TokenBucket(1, 10, c.now);
    expect(b.take(4)).toBe(0);
    expect(b.take(10)).toBe(4); // 6 left, 4 missing at 1/s
    c.advance(4000);
    expect(b.take(500)).toBe(0); // clamped to 10: a full bucket admits a big batch
    expect(b.available()).toBe(0);
  });

  it('rate 0 is unlimited', () => {
    const b = new TokenBucket(0, 0);
    for (let i = 0; i < 1000; i++) expect(b.take()).toBe(0);
    expect(b.unlimited).toBe(true);
  });

  it('refuses a limited bucket smaller than one token', () => {
    expect(() => new TokenBucket(5, 0)).toThrow(RangeError);
  });

  it('burst defaults to one second of the rate', () => {
    expect(burstFor(50, 0)).toBe(50);
    expect(burstFor(50, 7)).toBe(7);
  });

  it('RateLimited is the 429 RATE_LIMITED error carrying retryAfterS', () => {
    const e = new RateLimited(3);
    expect(e.status).toBe(429);
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retryAfterS).toBe(3);
  });
});
