// Pure arithmetic for the status page: percentiles from histogram buckets and rates from
// counters, both over the difference between two polls of GET /v1/status. No DOM here.

/**
 * The q-quantile of a histogram, as Prometheus' histogram_quantile computes it: find the bucket
 * holding rank q·total and interpolate linearly inside it (the first bucket starts at 0). A rank
 * in the +Inf bucket answers the highest finite bound. null when the histogram is empty.
 * @param {number[]} le finite upper bounds, ascending
 * @param {number[]} cum cumulative counts, one per bound then +Inf
 * @param {number} q in [0, 1]
 * @returns {number | null}
 */
export function quantile(le, cum, q) {
  const total = cum[cum.length - 1] ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < cum.length; i++) {
    if (cum[i] < rank) continue;
    if (i >= le.length) return le[le.length - 1] ?? null;
    const lower = i === 0 ? 0 : le[i - 1];
    const below = i === 0 ? 0 : cum[i - 1];
    const inBucket = cum[i] - below;
    return inBucket > 0 ? lower + (le[i] - lower) * ((rank - below) / inBucket) : le[i];
  }
  return le[le.length - 1] ?? null;
}

/**
 * Element-wise b − a of two count arrays (a missing or shorter a counts as zeros; a counter
 * that went down, as after a restart, yields b).
 * @param {number[] | undefined} a
 * @param {number[]} b
 * @returns {number[]}
 */
export function delta(a, b) {
  if (a === undefined || a.length !== b.length) return b.slice();
  const out = b.map((v, i) => v - a[i]);
  return out.some((v) => v < 0) ? b.slice() : out;
}

/**
 * Per-second rate of a counter between two polls (0 when time did not move or the counter reset).
 * @param {number} before
 * @param {number} after
 * @param {number} seconds
 */
export function rate(before, after, seconds) {
  if (!(seconds > 0) || after < before) return 0;
  return (after - before) / seconds;
}

/**
 * Sum of an outcome map's values, optionally only the keys `keep` accepts.
 * @param {Record<string, number>} counts
 * @param {(key: string) => boolean} [keep]
 */
export function sum(counts, keep) {
  let n = 0;
  for (const [k, v] of Object.entries(counts)) if (keep === undefined || keep(k)) n += v;
  return n;
}

/** Seconds as a short latency: "850 µs", "1.24 ms", "250 ms", "1.2 s"; "–" for null. */
export function formatSeconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 0.001) return `${Math.round(s * 1e6)} µs`;
  if (s < 0.01) return `${(s * 1000).toFixed(2)} ms`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.1 ? 1 : 0)} ms`;
  return `${s.toFixed(1)} s`;
}

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count with thousands separators: "12,345". */
export function formatCount(n) {
  return GROUPED.format(n);
}

/** A rate: one decimal below 10, whole above. */
export function formatRate(r) {
  return r < 10 ? r.toFixed(1) : GROUPED.format(Math.round(r));
}

/** Bytes as MiB. */
export function formatMiB(b) {
  return `${(b / 1048576).toFixed(0)} MiB`;
}

/** Seconds of uptime as "3 d 4 h", "2 h 5 m", "4 m 10 s". */
export function formatUptime(s) {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} m`;
  if (m > 0) return `${m} m ${Math.floor(s % 60)} s`;
  return `${Math.floor(s)} s`;
}
