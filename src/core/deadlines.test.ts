import { describe, expect, it } from 'vitest';
import { Deadlines } from './deadlines.js';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Deadlines: many waits on one timer', () => {
  it('fires each live deadline once, in time order, and never a cancelled one', async () => {
    const q = new Deadlines();
    const fired: string[] = [];
    const push = (s: string): void => {
      fired.push(s);
    };
    q.after(30, push, 'c');
    q.after(10, push, 'a'); // out of order: inserted before c
    const b = q.after(20, push, 'b');
    q.after(20, push, 'b2');
    q.cancel(b);
    expect(q.size).toBe(3);
    await wait(60);
    expect(fired).toEqual(['a', 'b2', 'c']);
    expect(q.size).toBe(0);
  });

  it('drops settled waits from its front at once: the queue holds the waits in progress, not the wait length in requests', () => {
    const q = new Deadlines();
    const noop = (): void => undefined;
    for (let i = 0; i < 10_000; i++) q.cancel(q.after(2000, noop, i)); // each settles before the next begins
    expect(q.size).toBe(0);
    expect((q as unknown as { q: unknown[] }).q.length).toBe(0);
  });

  it('a deadline added by a firing callback still fires', async () => {
    const q = new Deadlines();
    const fired: number[] = [];
    q.after(5, () => {
      fired.push(1);
      q.after(5, (n: number) => fired.push(n), 2);
    }, 0);
    await wait(40);
    expect(fired).toEqual([1, 2]);
  });
});

describe('Deadlines and the process', () => {
  it('holds a timer only while a deadline waits', () => {
    const q = new Deadlines();
    const timer = (): unknown => (q as unknown as { timer: unknown }).timer;
    const a = q.after(1000, () => undefined, 0);
    const b = q.after(1000, () => undefined, 0);
    expect(timer()).not.toBeNull();
    q.cancel(a);
    expect(timer()).not.toBeNull();
    q.cancel(b);
    expect(timer()).toBeNull();
  });
});
