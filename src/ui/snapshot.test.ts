/** GET /v1/status' body, computed from a gateway's metrics and model status. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../core/metrics.js';
import { statusSnapshot } from './snapshot.js';

interface Snapshot {
  ready: string | null;
  transactions: Record<string, number>;
  sources: Record<string, number>;
  risk: Record<string, number>;
  scores: number[];
  quality: Record<string, { pass: number; fail: number }>;
  latency: { le: number[]; routes: Record<string, { counts: number[]; sum: number }> };
  model: { active: unknown; history: unknown[] };
  kafka: { lag: number; partitions: { topic: string; partition: number; lag: number }[] } | null;
}

describe('statusSnapshot', () => {
  it('sums counters by label, latency buckets over statuses per route, and trims the model history', async () => {
    const m = new Metrics();
    m.outcome('http', 'scored');
    m.outcome('ws', 'scored');
    m.outcome('http', 'INVALID_AMOUNT');
    m.riskCategory('LOW');
    m.riskCategory('HIGH');
    m.scores.observe(0.01);
    m.scores.observe(0.97);
    m.check('validity', true);
    m.check('validity', false);
    m.requestSeconds.labels('score', '200').observe(0.0004);
    m.requestSeconds.labels('score', '400').observe(0.002);
    m.requestSeconds.labels('batch', '200').observe(0.02);
    const history = Array.from({ length: 15 }, (_, i) => ({ action: 'activate', version: `v${i}` }));
    const s = (await statusSnapshot({ metrics: m, models: () => ({ active: { name: 'x', version: 'v14' }, history }), notReadyReason: () => 'warming', kafka: false })) as Snapshot;
    expect(s.ready).toBe('warming');
    expect(s.transactions).toEqual({ scored: 2, INVALID_AMOUNT: 1 });
    expect(s.sources).toEqual({ http: 2, ws: 1 });
    expect(s.risk).toEqual({ LOW: 1, HIGH: 1 });
    expect(s.scores[0]).toBe(1);
    expect(s.scores[19]).toBe(1);
    expect(s.quality['validity']).toEqual({ pass: 1, fail: 1 });
    const le = s.latency.le;
    expect(le[0]).toBe(0.00005);
    const score = s.latency.routes['score']!;
    expect(score.counts.length).toBe(le.length + 1);
    expect(score.counts[le.indexOf(0.0005)]).toBe(1);
    expect(score.counts[le.indexOf(0.002)]).toBe(2);
    expect(score.counts[le.length]).toBe(2);
    expect(score.sum).toBeCloseTo(0.0024, 9);
    expect(s.latency.routes['batch']!.counts[le.length]).toBe(1);
    expect(s.model.history.length).toBe(10);
    expect(s.model.history[9]).toEqual({ action: 'activate', version: 'v14' });
    expect(s.kafka).toBeNull();
  });

  it('shows consumer lag by partition, and the total, when Kafka is configured', async () => {
    const m = new Metrics();
    m.kafkaLag.set({ topic: 'financial-transactions', partition: '0' }, 5);
    m.kafkaLag.set({ topic: 'financial-transactions', partition: '1' }, 7);
    const s = (await statusSnapshot({ metrics: m, models: () => null, notReadyReason: () => null, kafka: true })) as Snapshot;
    expect(s.kafka!.lag).toBe(12);
    expect(s.kafka!.partitions).toEqual([
      { topic: 'financial-transactions', partition: 0, lag: 5 },
      { topic: 'financial-transactions', partition: 1, lag: 7 },
    ]);
    expect(s.model.history).toEqual([]);
  });
});
