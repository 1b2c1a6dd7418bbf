/** The status page's arithmetic (src/ui/stats.js, run by the browser as is). */
import { describe, expect, it } from 'vitest';

interface Stats {
  quantile(le: number[], cum: number[], q: number): number | null;
  delta(a: number[] | undefined, b: number[]): number[];
  rate(before: number, after: number, seconds: number): number;
  formatSeconds(s: number | null): string;
}
const stats = (await import('./stats.js' as string)) as Stats;

describe('quantile from histogram buckets', () => {
  const le = [0.001, 0.002, 0.005];
  it('interpolates inside the bucket holding the rank, as histogram_quantile does', () => {
    // 10 in (0, 1 ms], 10 in (1, 2 ms], none above.
    const cum = [10, 20, 20, 20];
    expect(stats.quantile(le, cum, 0.5)).toBeCloseTo(0.001, 9);
    expect(stats.quantile(le, cum, 0.25)).toBeCloseTo(0.0005, 9);
    expect(stats.quantile(le, cum, 0.75)).toBeCloseTo(0.0015, 9);
    expect(stats.quantile(le, cum, 0.99)).toBeCloseTo(0.00198, 9);
  });
  it('answers the highest finite bound for a rank in +Inf, null for no observations', () => {
    expect(stats.quantile(le, [0, 0, 0, 4], 0.5)).toBe(0.005);
    expect(stats.quantile(le, [0, 0, 0, 0], 0.5)).toBeNull();
  });
  it('takes differences between polls, and a counter reset as a fresh start', () => {
    expect(stats.delta([1, 2, 3], [2, 5, 9])).toEqual([1, 3, 6]);
    expect(stats.delta(undefined, [2, 5])).toEqual([2, 5]);
    expect(stats.delta([4, 8], [1, 2])).toEqual([1, 2]);
    expect(stats.rate(10, 40, 2)).toBe(15);
    expect(stats.rate(40, 10, 2)).toBe(0);
    expect(stats.rate(1, 2, 0)).toBe(0);
  });
  it('formats latencies in µs, ms and s', () => {
    expect(stats.formatSeconds(0.00042)).toBe('420 µs');
    expect(stats.formatSeconds(0.00125)).toBe('1.25 ms');
    expect(stats.formatSeconds(0.25)).toBe('250 ms');
    expect(stats.formatSeconds(null)).toBe('–');
  });
});
