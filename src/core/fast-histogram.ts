/**
 * A Prometheus histogram whose observe() is a bucket search and three typed-array increments,
 * formatted by prom-client's registry exactly as its own Histogram is (fast-histogram.test.ts
 * compares the two texts). prom-client's observe() allocates a label/value pair, validates
 * and hashes the labels and looks its bucket up by the bound's string on every call — ~350 ns
 * measured (core/score-histogram.ts); the request path observes two histograms per answer.
 * The cost moves to /metrics, which formats the counts when it is read.
 */
import type { Metric, Registry } from 'prom-client';

interface Value {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class HistogramChild {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot: above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    private readonly bounds: Float64Array,
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    if (!(v === v)) return; // NaN: prom-client would throw; a metric never fails an answer
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: Float64Array;
  private readonly children = new Map<string, HistogramChild>();
  private readonly unlabelled: HistogramChild | null;
  /** prom-client prints an unlabelled histogram's zeros until its first reset, then nothing until an observation. */
  private zerosShown = true;

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    private readonly labelNames: readonly string[] = [],
  ) {
    this.bounds = Float64Array.from(buckets);
    this.unlabelled = labelNames.length === 0 ? this.labels() : null;
    // prom-client's registry formats any object with name, help, type and get(); its typings
    // only name its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for these label values (in labelNames order), made once. */
  labels(...values: string[]): HistogramChild {
    const key = values.join('\u0000');
    let c = this.children.get(key);
    if (c === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      this.children.set(key, (c = new HistogramChild(this.bounds, labels)));
    }
    return c;
  }

  /** For a histogram without labels. */
  observe(v: number): void {
    this.unlabelled!.observe(v);
  }

  /** Zeroes every child (children handed out by labels() stay valid; empty ones are not printed). */
  reset(): void {
    this.zerosShown = false;
    for (const c of this.children.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }

  /** Values as prom-client's Histogram gives them for the text format: `le`, and the child's labels shared. */
  getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.children.values()) {
      if (c.count === 0 && (c !== this.unlabelled || !this.zerosShown)) continue;
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: c.labels, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: c.labels, value: c.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** As prom-client's Histogram.get(): each value's labels with the child's spread in. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }
}
