/** Latency percentiles shared by the load-test runs. */
export interface Pcts {
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
}

/** Nearest-rank percentiles of `lat` (NaN for an empty sample). */
export function percentiles(lat: Float64Array): Pcts {
  const s = Float64Array.from(lat).sort();
  const q = (p: number): number => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), p99_9: q(0.999), max: s.length === 0 ? Number.NaN : s[s.length - 1]! };
}
