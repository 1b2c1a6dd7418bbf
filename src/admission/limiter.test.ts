/** The adaptive admission limit's arithmetic, on an injected clock (pure logic, no server). */
import { describe, expect, it } from 'vitest';
import { AdmissionLimiter } from './limiter.js';

function limiter(initial: number): { l: AdmissionLimiter; tick: (ms: number) => void } {
  let now = 0;
  const l = new AdmissionLimiter({ targetMs: 5, minLimit: 4, maxLimit: 1000, initialLimit: initial, windowMs: 100, now: () => now });
  return { l, tick: (ms) => void (now += ms) };
}

/** One window: `n` transactions admitted together (in flight at once), each taking `latency` ms. */
function window(l: AdmissionLimiter, tick: (ms: number) => void, n: number, latency: (i: number) => number): void {
  for (let i = 0; i < n; i++) expect(l.tryAcquire()).toBe(true);
  for (let i = 0; i < n - 1; i++) l.release(latency(i));
  tick(100);
  l.release(latency(n - 1)); // the release that finds the window over closes it
}

describe('AdmissionLimiter', () => {
  it('refuses at the limit, counts what it shed, and frees a slot on release or abandon', () => {
    const { l } = limiter(4);
    for (let i = 0; i < 4; i++) expect(l.tryAcquire()).toBe(true);
    expect(l.tryAcquire()).toBe(false);
    expect(l.shed).toBe(1);
    l.release(1);
    expect(l.tryAcquire()).toBe(true);
    l.abandon();
    expect(l.inFlight).toBe(3);
  });

  it('grows by √limit after a used window whose p99 is within the target', () => {
    const { l, tick } = limiter(16);
    window(l, tick, 16, () => 1);
    expect(l.limit).toBe(20); // 16 + √16
    // 1% late is still within: p99 ≤ target.
    const { l: l2, tick: t2 } = limiter(100);
    window(l2, t2, 100, (i) => (i === 0 ? 50 : 1));
    expect(l2.limit).toBe(110);
  });

  it('shrinks after a used window whose p99 is over the target, harder the more are late, never below the floor', () => {
    const a = limiter(100);
    window(a.l, a.tick, 100, (i) => (i < 5 ? 50 : 1)); // 5% late
    expect(a.l.limit).toBe(90);
    const b = limiter(100);
    window(b.l, b.tick, 100, (i) => (i < 30 ? 50 : 1)); // 30% late
    expect(b.l.limit).toBe(75);
    const c = limiter(100);
    window(c.l, c.tick, 100, () => 50); // all late
    expect(c.l.limit).toBe(50);
    for (let k = 0; k < 10; k++) window(c.l, c.tick, c.l.limit, () => 50);
    expect(c.l.limit).toBe(4);
  });

  it('holds when latency spikes while the limit is far from used (the load is not the cause)', () => {
    const { l, tick } = limiter(100);
    window(l, tick, 20, () => 50);
    expect(l.limit).toBe(100);
    expect(l.decreases).toBe(0);
  });
});
