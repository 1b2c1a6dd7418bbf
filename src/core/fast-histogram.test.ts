/** The typed-array histogram reads on /metrics exactly as prom-client's own Histogram does. */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from './fast-histogram.js';

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

function pair(labelNames: string[], buckets = BUCKETS) {
  const a = new Registry();
  const b = new Registry();
  const theirs = new Histogram({ name: 'h_seconds', help: 'help text', labelNames, buckets, registers: [a] });
  const ours = new FastHistogram(b, 'h_seconds', 'help text', buckets, labelNames);
  return { a, b, theirs, ours };
}

const strip = (vs: { labels: object; value: number; metricName?: string }[]) => vs.map(({ labels, value, metricName }) => ({ labels, value, metricName }));

describe('FastHistogram', () => {
  it('prints the same /metrics text and get() values as prom-client for the same labelled observations', async () => {
    const { a, b, theirs, ours } = pair(['route', 'status']);
    let x = 1;
    const rnd = (): number => ((x = (x * 48271) % 2147483647) / 2147483647);
    const cases: [string, string][] = [['score', '200'], ['score', '400'], ['batch', '200'], ['score', '503']];
    for (let i = 0; i < 5000; i++) {
      const [route, status] = cases[Math.floor(rnd() * cases.length)]!;
      const v = i % 97 === 0 ? BUCKETS[i % BUCKETS.length]! : i % 101 === 0 ? 5 : rnd() ** 4 * 0.2; // on a bound, above all, anywhere
      theirs.labels(route, status).observe(v);
      ours.labels(route, status).observe(v);
    }
    expect(await b.metrics()).toBe(await a.metrics());
    expect(strip((await ours.get()).values)).toEqual(strip((await theirs.get()).values));
  });

  it('without labels prints zeros before any observation, as prom-client does, and counts after', async () => {
    const { a, b, theirs, ours } = pair([], [0.5, 0.75, 1]);
    expect(await b.metrics()).toBe(await a.metrics());
    for (const v of [0.25, 0.5, 0.75, 1, 1]) {
      theirs.observe(v);
      ours.observe(v);
    }
    expect(await b.metrics()).toBe(await a.metrics());
    a.resetMetrics();
    b.resetMetrics();
    expect(await b.metrics()).toBe(await a.metrics());
  });
});
