/**
 * Confirmed outcomes (chargebacks, analyst labels) joined to the answers the gateway gave, for
 * the seed's §7 business metrics: rolling precision, recall and false-positive rate at the HIGH
 * (score > 0.8) and MEDIUM (score > 0.5, i.e. MEDIUM or HIGH) thresholds.
 *
 * - Every answer is remembered (transactionId → score) in a ring of LABEL_JOIN_MAX_ENTRIES
 *   slots for LABEL_JOIN_TTL_S; the oldest answer leaves first. Memory is two typed arrays, an
 *   id array and a Map: ~130 bytes per remembered answer with a 40-character id.
 * - A label `{"transactionId", "label": 0|1, "source"?, "at"?}` for a remembered id joins the
 *   rolling window of the last OUTCOME_WINDOW labelled answers; the confusion counts at both
 *   thresholds move with it. A label for an id not remembered (never scored here, or expired)
 *   is counted as unmatched. A second label for the same id replaces the first if it differs
 *   (a chargeback overturning an analyst's call) and is a duplicate if it does not.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export const THRESHOLDS = [
  { name: 'HIGH', above: 0.8 },
  { name: 'MEDIUM', above: 0.5 },
] as const;

export interface Label {
  transactionId: string;
  label: 0 | 1;
  source: string | null;
  /** Epoch ms the outcome was confirmed, when the sender said. */
  at: number | null;
}

export type LabelResult = 'matched' | 'relabelled' | 'duplicate' | 'unmatched' | 'invalid';
export const LABEL_RESULTS: readonly LabelResult[] = ['matched', 'relabelled', 'duplicate', 'unmatched', 'invalid'];

export interface OutcomeOptions {
  /** Answers remembered for the join (LABEL_JOIN_MAX_ENTRIES). */
  maxEntries: number;
  /** How long an answer can be labelled (LABEL_JOIN_TTL_S, in ms here). */
  ttlMs: number;
  /** Labelled answers in the rolling window (OUTCOME_WINDOW). */
  window: number;
}

/** Why a label object is refused, or the label. */
export function parseLabel(v: unknown): Label | { error: string; field: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'a label must be an object', field: '' };
  const o = v as Record<string, unknown>;
  const id = o['transactionId'];
  if (typeof id !== 'string' || id === '' || id.length > 256) return { error: 'transactionId must be a non-empty string of at most 256 characters', field: 'transactionId' };
  const label = o['label'];
  if (label !== 0 && label !== 1) return { error: 'label must be 0 (legitimate) or 1 (fraud)', field: 'label' };
  const source = o['source'];
  if (source !== undefined && source !== null && (typeof source !== 'string' || source.length > 64)) return { error: 'source must be a string of at most 64 characters', field: 'source' };
  const at = o['at'];
  let atMs: number | null = null;
  if (at !== undefined && at !== null) {
    atMs = typeof at === 'number' ? at : typeof at === 'string' ? Date.parse(at) : NaN;
    if (!Number.isFinite(atMs)) return { error: 'at must be epoch milliseconds or an ISO-8601 date-time', field: 'at' };
  }
  return { transactionId: id, label, source: typeof source === 'string' ? source : null, at: atMs };
}

/** A label record from the labels topic (JSON), or null when it is not one. */
export function labelFromRecord(value: Buffer): Label | null {
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  const l = parseLabel(v);
  return 'error' in l ? null : l;
}

export class OutcomeTracker {
  // The join: a ring of answers (id, score, time), and id → slot.
  private readonly ids: (string | undefined)[];
  private readonly scores: Float64Array;
  private readonly times: Float64Array;
  /** Window slot + 1 of the slot's label (0: not labelled), to find it again on a relabel. */
  private readonly labelledAt: Int32Array;
  private readonly slotOf = new Map<string, number>();
  private head = 0;
  // The rolling window of labelled answers: score, label, and the join slot they came from.
  private readonly wScore: Float64Array;
  private readonly wLabel: Uint8Array;
  private readonly wSlot: Int32Array;
  private wHead = 0;
  private wRows = 0;
  /** Confusion counts per threshold: tp, fp, fn, tn. */
  private readonly cells = new Float64Array(THRESHOLDS.length * 4);

  private readonly results: Counter<'result'>;
  private readonly resultChildren = new Map<string, { inc(): void }>();

  constructor(
    private readonly opts: OutcomeOptions,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.ids = new Array<string | undefined>(opts.maxEntries);
    this.scores = new Float64Array(opts.maxEntries);
    this.times = new Float64Array(opts.maxEntries);
    this.labelledAt = new Int32Array(opts.maxEntries);
    this.wScore = new Float64Array(opts.window);
    this.wLabel = new Uint8Array(opts.window);
    this.wSlot = new Int32Array(opts.window);
    this.results = new Counter({ name: 'scoregate_outcome_labels_total', help: 'Labels received (HTTP and the labels topic), by result: matched, relabelled, duplicate, unmatched (no remembered answer), invalid', labelNames: ['result'] as const, registers: [registry] });
    for (const r of LABEL_RESULTS) this.results.inc({ result: r }, 0);
    const ratio = (name: string, help: string, f: (tp: number, fp: number, fn: number, tn: number) => number): void => {
      const g: Gauge<'threshold'> = new Gauge({
        name,
        help,
        labelNames: ['threshold'] as const,
        registers: [registry],
        collect: () => {
          g.reset();
          THRESHOLDS.forEach((t, i) => {
            const c = this.cells;
            const v = f(c[i * 4]!, c[i * 4 + 1]!, c[i * 4 + 2]!, c[i * 4 + 3]!);
            if (Number.isFinite(v)) g.set({ threshold: t.name }, v);
          });
        },
      });
    };
    ratio('scoregate_outcome_precision', 'Of the labelled answers at or above the threshold (HIGH: score > 0.8, MEDIUM: > 0.5), the share that were fraud; rolling over the last OUTCOME_WINDOW labelled answers (absent while none is flagged)', (tp, fp) => tp / (tp + fp));
    ratio('scoregate_outcome_recall', 'Of the labelled fraud, the share answered at or above the threshold; rolling (absent while no fraud is labelled)', (tp, _fp, fn) => tp / (tp + fn));
    ratio('scoregate_outcome_false_positive_rate', 'Of the labelled legitimate transactions, the share answered at or above the threshold; rolling (absent while none is labelled legitimate)', (_tp, fp, _fn, tn) => fp / (fp + tn));
    const confusion: Gauge<'threshold' | 'cell'> = new Gauge({
      name: 'scoregate_outcome_confusion',
      help: 'Labelled answers in the rolling window by threshold and cell (tp, fp, fn, tn): sum over instances to compute fleet-wide ratios',
      labelNames: ['threshold', 'cell'] as const,
      registers: [registry],
      collect: () => {
        THRESHOLDS.forEach((t, i) => ['tp', 'fp', 'fn', 'tn'].forEach((cell, j) => confusion.set({ threshold: t.name, cell }, this.cells[i * 4 + j]!)));
      },
    });
    const join: Gauge = new Gauge({ name: 'scoregate_outcome_join_entries', help: 'Answers remembered for joining labels (LABEL_JOIN_MAX_ENTRIES at most)', registers: [registry], collect: () => join.set(this.slotOf.size) });
  }

  /** One answer given (any model, fallback included): remembered for its label. */
  answered(transactionId: string, score: number): void {
    const slot = this.head;
    const old = this.ids[slot];
    if (old !== undefined && this.slotOf.get(old) === slot) this.slotOf.delete(old);
    this.ids[slot] = transactionId;
    this.scores[slot] = score;
    this.times[slot] = this.now();
    this.labelledAt[slot] = 0;
    this.slotOf.set(transactionId, slot);
    this.head = slot + 1 === this.opts.maxEntries ? 0 : slot + 1;
  }

  /** Joins one label; returns what became of it. */
  label(l: Label): Exclude<LabelResult, 'invalid'> {
    const slot = this.slotOf.get(l.transactionId);
    let result: Exclude<LabelResult, 'invalid'>;
    if (slot === undefined || this.now() - this.times[slot]! > this.opts.ttlMs) result = 'unmatched';
    else {
      const w = this.labelledAt[slot]! - 1;
      if (w >= 0 && this.wSlot[w] === slot) {
        if (this.wLabel[w] === l.label) result = 'duplicate';
        else {
          this.count(this.wScore[w]!, this.wLabel[w]!, -1);
          this.wLabel[w] = l.label;
          this.count(this.wScore[w]!, l.label, 1);
          result = 'relabelled';
        }
      } else {
        this.push(slot, l.label);
        result = 'matched';
      }
    }
    this.counted(result);
    return result;
  }

  /** A label that could not be read (the topic's malformed records). */
  invalid(): void {
    this.counted('invalid');
  }

  private counted(result: LabelResult): void {
    let c = this.resultChildren.get(result);
    if (c === undefined) this.resultChildren.set(result, (c = this.results.labels(result)));
    c.inc();
  }

  private push(slot: number, label: 0 | 1): void {
    const w = this.wHead;
    if (this.wRows === this.opts.window) {
      this.count(this.wScore[w]!, this.wLabel[w]!, -1);
      const gone = this.wSlot[w]!;
      if (this.labelledAt[gone] === w + 1) this.labelledAt[gone] = 0;
    } else this.wRows++;
    const score = this.scores[slot]!;
    this.wScore[w] = score;
    this.wLabel[w] = label;
    this.wSlot[w] = slot;
    this.labelledAt[slot] = w + 1;
    this.count(score, label, 1);
    this.wHead = w + 1 === this.opts.window ? 0 : w + 1;
  }

  private count(score: number, label: number, d: 1 | -1): void {
    for (let i = 0; i < THRESHOLDS.length; i++) {
      const flagged = score > THRESHOLDS[i]!.above;
      // cells: tp, fp, fn, tn
      const cell = flagged ? (label === 1 ? 0 : 1) : label === 1 ? 2 : 3;
      this.cells[i * 4 + cell]! += d;
    }
  }

  /** The window's figures, for GET /v1/outcomes and tests. */
  snapshot(): { labelled: number; remembered: number; thresholds: Record<string, { tp: number; fp: number; fn: number; tn: number; precision: number | null; recall: number | null; falsePositiveRate: number | null }> } {
    const out: Record<string, { tp: number; fp: number; fn: number; tn: number; precision: number | null; recall: number | null; falsePositiveRate: number | null }> = {};
    const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
    THRESHOLDS.forEach((t, i) => {
      const [tp, fp, fn, tn] = [this.cells[i * 4]!, this.cells[i * 4 + 1]!, this.cells[i * 4 + 2]!, this.cells[i * 4 + 3]!];
      out[t.name] = { tp, fp, fn, tn, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), falsePositiveRate: ratio(fp, fp + tn) };
    });
    return { labelled: this.wRows, remembered: this.slotOf.size, thresholds: out };
  }
}
