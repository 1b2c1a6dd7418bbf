/** The file sink's hand-built line is JSON.stringify's text for the same record, byte for byte. */
import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from '../features/contract.js';
import { LoggedFeatures } from '../features/logged.js';
import { protectTransaction } from '../privacy/index.js';
import { assessQuality } from '../quality/checks.js';
import type { Transaction } from '../quality/transaction.js';
import type { ScoredEvent } from './events.js';
import { SOURCE_SYSTEM, lineageJson, lineageRecord } from './lineage.js';
import { scoredJson } from './scored-json.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const MODEL_REF = Object.freeze({ name: 'fraud-detector', version: 'a2d93111f7bf' });
const NASTY = ['plain', 'a"quote', 'back\\slash', 'tab\there', 'ünïcödé', '😀', '\u2028', 'jane.doe@example.com', '4111 1111 1111 1111', '+44 20 7946 0958', 'DE89370400440532013000', ''];

function event(r: () => number, i: number): ScoredEvent {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const metadata: Record<string, string> = {};
  const n = Math.floor(r() * 4);
  for (let k = 0; k < n; k++) metadata[pick(['country', 'device', 'email', 'note', 'card', 'iban', 'x"y'])] = pick(NASTY);
  const tx: Transaction = {
    transactionId: `tx-${i}-${pick(NASTY)}`,
    userId: pick(['u1', 'user "2"', 'jane.doe@example.com']),
    amount: Math.round(r() * 1e6) / 100,
    amountText: '12.50',
    currency: pick(['EUR', 'USD', 'JPY']),
    timestamp: 1_795_000_000_000 + Math.floor(r() * 1e9),
    metadata,
    merchantId: r() < 0.3 ? null : pick(['m1', '4111111111111111', 'shop é']),
    channel: r() < 0.5 ? null : pick(['web', 'pos']),
  };
  const prot = protectTransaction(tx);
  const values = new Float32Array(FEATURE_COUNT);
  for (let k = 0; k < FEATURE_COUNT; k++) values[k] = r() < 0.3 ? 0 : (r() - 0.3) * 10 ** Math.floor(r() * 8);
  const quality = assessQuality(tx, r() < 0.5 ? 0 : r() * 100, Date.now()); // 0: no earlier transactions
  const t0 = r() * 1e6;
  const fallback = r() < 0.2 ? pick(['deadline', 'queue_full', 'inference_failed'] as const) : null;
  const ev: ScoredEvent = {
    transaction: prot.transaction,
    score: r(),
    riskCategory: pick(['LOW', 'MEDIUM', 'HIGH'] as const),
    model: r() < 0.5 ? MODEL_REF : { name: 'fraud-detector', version: pick(['1', 'a2d93111f7bf']) }, // a pool's frozen modelRef, or not
    quality: { score: quality.score, flags: quality.flags },
    source: pick(['http', 'ws', 'kafka', 'cli'] as const),
    receivedAt: 1_795_000_000_000 + i,
    scoredAt: 1_795_000_000_005 + i,
    challenger: r() < 0.3 ? { name: 'fraud-detector', version: '2', score: r() } : null,
    fallback,
    tookMs: Math.round(r() * 1e6) / 1000,
    fingerprint: `fp${i}`,
    classification: r() < 0.1 ? null : prot.classification,
    features: new LoggedFeatures(values),
    lineage: {
      sourceSystem: SOURCE_SYSTEM.http,
      admittedAt: t0,
      validatedAt: t0 + r(),
      enrichedAt: t0 + 1 + r(),
      checkedAt: t0 + 2 + r(),
      scoredAt: t0 + 3 + r(),
      history24h: Math.floor(r() * 50),
      joined: r() < 0.8,
      quality,
    },
  };
  // Optional members, added after the rest as the scorer does (asked first, then the explanation).
  if (r() < 0.3) ev.explanationInAnswer = true;
  if (r() < 0.4) ev.explanation = r() < 0.2 ? null : { bias: -2.5, margin: r(), top: [{ feature: 'amount', code: 'AMOUNT_HIGH', value: 12.5, contribution: r() }] };
  return ev;
}

describe('scored events written by the file sink', () => {
  it('print exactly as JSON.stringify({ ...event, lineage: lineageRecord(event) }) for 2000 varied events', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const ev = event(r, i);
      expect(lineageJson(ev)).toBe(JSON.stringify(lineageRecord(ev)));
      expect(scoredJson(ev)).toBe(JSON.stringify({ ...ev, lineage: lineageRecord(ev) }));
    }
  });

  it('print non-finite numbers as null and leave out undefined members, as JSON does', () => {
    const ev = event(rng(1), 1);
    ev.features.values[0] = Number.NaN;
    ev.features.values[1] = Number.POSITIVE_INFINITY;
    ev.score = Number.NaN;
    ev.explanation = undefined;
    expect(scoredJson(ev)).toBe(JSON.stringify({ ...ev, lineage: lineageRecord(ev) }));
  });
});
