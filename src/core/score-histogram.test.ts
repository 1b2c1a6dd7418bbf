/** The answered-score histogram: bins of 0.05 with Prometheus' `le` semantics, in /metrics' text. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ScoreHistogram } from './score-histogram.js';

describe('ScoreHistogram', () => {
  it('puts a score in the first bin whose upper bound holds it, 0 in the first and 1 in the last', () => {
    const h = new ScoreHistogram(new Registry());
    for (const s of [0, 0.01, 0.05, 0.051, 0.5, 0.81, 0.99, 1]) h.observe(s);
    const bins = h.bins();
    expect(bins.length).toBe(20);
    expect(bins[0]).toBe(3); // 0, 0.01, 0.05
    expect(bins[1]).toBe(1); // 0.051
    expect(bins[9]).toBe(1); // 0.5
    expect(bins[16]).toBe(1); // 0.81
    expect(bins[19]).toBe(2); // 0.99, 1
  });

  it('is exported as a cumulative Prometheus histogram', async () => {
    const registry = new Registry();
    const h = new ScoreHistogram(registry);
    h.observe(0.02);
    h.observe(0.9);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE scoregate_score histogram');
    expect(text).toContain('scoregate_score_bucket{le="0.05"} 1');
    expect(text).toContain('scoregate_score_bucket{le="0.85"} 1');
    expect(text).toContain('scoregate_score_bucket{le="0.9"} 2');
    expect(text).toContain('scoregate_score_bucket{le="+Inf"} 2');
    expect(text).toContain('scoregate_score_count 2');
    expect(text).toMatch(/scoregate_score_sum 0\.92/);
  });
});
