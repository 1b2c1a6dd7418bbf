/**
 * Exact per-feature contributions of one row to a tree ensemble's raw margin: path-dependent
 * TreeSHAP (Lundberg, Erion & Lee, "Consistent Individualized Feature Attribution for Tree
 * Ensembles", 2018, Algorithm 2) — the attribution LightGBM's `pred_contrib` gives.
 *
 * For each tree the recursion walks every root-to-leaf path once, carrying the path's unique
 * features with, for each, the share of training rows that follow the path there (`zero`:
 * the feature is unknown, so both branches count by their cover) and whether the row itself
 * follows it (`one`: 1 or 0), and the permutation weights of every subset size (`weight`).
 * EXTEND adds a feature to the path; UNWIND takes one out again (used when a feature repeats
 * on the path, so it is counted once); at a leaf, the leaf value shared out to each feature on
 * the path is the sum of the unwound weights times (one − zero). The contributions plus the
 * bias (each tree's cover-weighted mean leaf) equal the margin.
 *
 * Allocation-free per row: the path lives in four typed arrays sized at load for the deepest
 * tree; each tree level works in its own slice (a node copies its parent's entries into it),
 * so nothing is copied back on return.
 */
import { Mode, type TreeEnsemble } from './trees.js';

/** Whether the row goes to the node's true child: ONNX Runtime's comparison on float32 values. */
function goesYes(e: TreeEnsemble, j: number, x: number): boolean {
  if (x !== x) return e.missingYes[j] === 1; // NaN
  const t = e.threshold[j]!;
  switch (e.mode[j]) {
    case Mode.Leq:
      return x <= t;
    case Mode.Lt:
      return x < t;
    case Mode.Gte:
      return x >= t;
    case Mode.Gt:
      return x > t;
    case Mode.Eq:
      return x === t;
    default:
      return x !== t;
  }
}

export class TreeShap {
  /** Bias: the sum over trees of the cover-weighted mean leaf value (plus base_values). */
  readonly bias: number;
  // The path, one slice per tree level: level d starts at offsets[d] and holds d + 1 entries.
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  private readonly offsets: Int32Array;
  /** 1/n for n = 0…maxDepth + 2. */
  private readonly inverse: Float64Array;
  // Per-call state, kept in fields so the recursion passes only numbers.
  private row: Float32Array = new Float32Array(0);
  private rowOff = 0;
  private phi: Float64Array = new Float64Array(0);

  constructor(readonly ensemble: TreeEnsemble) {
    // A path holds at most maxDepth + 1 entries (the root's placeholder and one per split).
    const levels = ensemble.maxDepth + 2;
    this.offsets = new Int32Array(levels + 1);
    for (let d = 1; d <= levels; d++) this.offsets[d] = this.offsets[d - 1]! + d;
    const size = this.offsets[levels]! + 1;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
    this.inverse = new Float64Array(levels + 2);
    for (let n = 1; n < levels + 2; n++) this.inverse[n] = 1 / n;
    let bias = ensemble.base;
    for (let t = 0; t < ensemble.roots.length; t++) bias += this.meanValue(ensemble.roots[t]!);
    this.bias = bias;
  }

  private meanValue(j: number): number {
    const e = this.ensemble;
    if (e.mode[j] === Mode.Leaf) return e.value[j]!;
    return (e.cover[e.yes[j]!]! * this.meanValue(e.yes[j]!) + e.cover[e.no[j]!]! * this.meanValue(e.no[j]!)) / e.cover[j]!;
  }

  /** The raw margin of the row at `row[off…]`: the ensemble's own prediction before its link. */
  margin(row: Float32Array, off: number): number {
    const e = this.ensemble;
    let sum = e.base;
    for (let t = 0; t < e.roots.length; t++) {
      let j = e.roots[t]!;
      while (e.mode[j] !== Mode.Leaf) j = goesYes(e, j, row[off + e.feature[j]!]!) ? e.yes[j]! : e.no[j]!;
      sum += e.value[j]!;
    }
    return sum;
  }

  /**
   * Writes the row's contributions into `out[0…F−1]` and the bias into `out[F]` (F features,
   * LightGBM's pred_contrib layout); they sum to margin(row).
   */
  contributions(row: Float32Array, off: number, out: Float64Array): void {
    const e = this.ensemble;
    const F = e.featureCount;
    out.fill(0, 0, F);
    out[F] = this.bias;
    this.row = row;
    this.rowOff = off;
    this.phi = out;
    for (let t = 0; t < e.roots.length; t++) {
      const r = e.roots[t]!;
      if (e.mode[r] === Mode.Leaf) continue; // a one-leaf tree only moves the bias
      this.recurse(r, 0, 0, 0, 1, 1, -1);
    }
    this.row = new Float32Array(0);
  }

  /**
   * Visits node j, `level` splits below its root, with the `depth` path entries its parent
   * left at `from`, extended by the split that led here: the parent's feature, the share of
   * the parent's training rows that came here (`zero`) and whether the row came here (`one`).
   * The node works in the slice of its level (level + 1 entries ≥ depth + 1: a repeated feature
   * makes the path shorter than the level, never longer).
   */
  private recurse(j: number, level: number, from: number, depth: number, zero: number, one: number, feature: number): void {
    const e = this.ensemble;
    const fe = this.pathFeature;
    const ze = this.pathZero;
    const on = this.pathOne;
    const w = this.pathWeight;
    const at = this.offsets[level]!;
    // A plain loop: paths are a few entries long (7 splits on average here).
    for (let i = 0; i < depth; i++) {
      fe[at + i] = fe[from + i]!;
      ze[at + i] = ze[from + i]!;
      on[at + i] = on[from + i]!;
      w[at + i] = w[from + i]!;
    }
    // EXTEND: the new element enters with the weight of the empty subset when the path is empty.
    fe[at + depth] = feature;
    ze[at + depth] = zero;
    on[at + depth] = one;
    w[at + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      w[at + i + 1]! += (one * w[at + i]! * (i + 1)) / (depth + 1);
      w[at + i] = (zero * w[at + i]! * (depth - i)) / (depth + 1);
    }
    if (e.mode[j] === Mode.Leaf) {
      this.leaf(at, depth, e.value[j]!);
      return;
    }
    const f = e.feature[j]!;
    const yes = goesYes(e, j, this.row[this.rowOff + f]!);
    const hot = yes ? e.yes[j]! : e.no[j]!;
    const cold = yes ? e.no[j]! : e.yes[j]!;
    const cover = e.cover[j]!;
    let inZero = 1;
    let inOne = 1;
    let d = depth;
    // A feature already on the path is taken out and re-entered with both splits' fractions.
    let k = 1;
    while (k <= depth && fe[at + k] !== f) k++;
    if (k <= depth) {
      inZero = ze[at + k]!;
      inOne = on[at + k]!;
      this.unwind(at, depth, k);
      d = depth - 1;
    }
    this.recurse(hot, level + 1, at, d + 1, (e.cover[hot]! / cover) * inZero, inOne, f);
    this.recurse(cold, level + 1, at, d + 1, (e.cover[cold]! / cover) * inZero, 0, f);
  }

  /** UNWIND: removes entry k from the path of depth + 1 entries at `at`, in place. */
  private unwind(at: number, depth: number, k: number): void {
    const fe = this.pathFeature;
    const ze = this.pathZero;
    const on = this.pathOne;
    const w = this.pathWeight;
    const one = on[at + k]!;
    const zero = ze[at + k]!;
    let next = w[at + depth]!;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = w[at + i]!;
        w[at + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (w[at + i]! * zero * (depth - i)) / (depth + 1);
      } else {
        w[at + i] = (w[at + i]! * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = k; i < depth; i++) {
      fe[at + i] = fe[at + i + 1]!;
      ze[at + i] = ze[at + i + 1]!;
      on[at + i] = on[at + i + 1]!;
    }
  }

  /**
   * At a leaf: each path entry k (entry 0 is the root's placeholder) gets
   * v · (one_k − zero_k) · (the path's total weight with k unwound). In path-dependent TreeSHAP
   * `one` is 0 or 1, which splits the unwinding in two cases:
   * - one = 0: the unwound total is (D+1)/zero_k · Σ_i w_i/(D−i), whose sum is the same for
   *   every such entry, so each gets −v·(D+1)·Σ_i w_i/(D−i): O(D) per leaf, not per entry;
   * - one = 1: the recurrence depends on zero_k, O(D) per entry.
   * Divisions by small integers are multiplications by a reciprocal table. (Neither cut moved
   * the measured time much on this model — the cost is the O(D) unwinding of the entries the
   * row follows — but both are free: bench/results-explain.md.)
   */
  private leaf(at: number, depth: number, v: number): void {
    const fe = this.pathFeature;
    const ze = this.pathZero;
    const on = this.pathOne;
    const w = this.pathWeight;
    const inv = this.inverse;
    const phi = this.phi;
    const d1 = depth + 1;
    const invD1 = inv[d1]!;
    let zeroShare = NaN; // computed on the first entry with one = 0
    for (let k = 1; k <= depth; k++) {
      const zero = ze[at + k]!;
      if (on[at + k] === 0) {
        if (zeroShare !== zeroShare) {
          let s = 0;
          for (let i = depth - 1; i >= 0; i--) s += w[at + i]! * inv[depth - i]!;
          zeroShare = -v * d1 * s;
        }
        phi[fe[at + k]!]! += zeroShare;
      } else {
        let total = 0;
        let next = w[at + depth]!;
        for (let i = depth - 1; i >= 0; i--) {
          const tmp = next * d1 * inv[i + 1]!;
          total += tmp;
          next = w[at + i]! - tmp * zero * (depth - i) * invD1;
        }
        phi[fe[at + k]!]! += total * (1 - zero) * v;
      }
    }
  }
}
