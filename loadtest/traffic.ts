/**
 * Load-test traffic from the synthetic generator: realistic per-user streams (bursts, fraud
 * episodes, many users) replayed onto the wall clock, with ~2% bad requests.
 *
 * Two days of generated event time are compressed into the last ~23.5 h before "now" and each
 * request gets `timestamp = Date.now() + offset` at send time, so every transaction is inside the
 * gateway's 24 h validity window and each user's events arrive in order. Every request gets a
 * fresh transactionId; when the stream wraps around, user ids get a pass prefix (`p1-u-42`), so
 * a second pass is new users rather than events too late to join the windows.
 *
 * For MLflow (which has no feature engine) the valid transactions are run once through the
 * gateway's own FeatureEngine here, in stream order, and sent as precomputed dataframe_split rows.
 */
import { FEATURE_COUNT, FEATURE_NAMES } from '../src/features/contract.js';
import { FeatureEngine } from '../src/features/engine.js';
import { assessQuality } from '../src/quality/checks.js';
import { parseTransaction } from '../src/quality/parse.js';
import { generate } from '../src/synth/generator.js';

export const BAD_KINDS = ['invalid_json', 'missing_amount', 'negative_amount', 'bad_currency', 'too_many_decimals', 'missing_user'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

interface Template {
  userId: string;
  /** ms relative to "now" (≤ 0). */
  offset: number;
  /** The JSON members after transactionId/userId/timestamp, without braces. */
  rest: string;
  bad: BadKind | null;
}

export interface TrafficOptions {
  users: number;
  seed: number;
  badShare: number;
}

const DAY = 86_400_000;
const SPAN = 23.5 * 3_600_000;

/** Small deterministic PRNG (mulberry32) for picking the bad requests. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Traffic {
  readonly templates: Template[];
  readonly badCount: number;
  readonly users: number;
  /** Feature rows (row-major, FEATURE_COUNT each) of the valid transactions, for MLflow. */
  readonly rows: Float32Array;
  readonly rowCount: number;

  constructor(o: TrafficOptions) {
    const stream = generate({ users: o.users, days: 2, seed: o.seed, startMs: Date.now() - 2 * DAY });
    const first = stream[0]!.timestamp;
    const last = stream[stream.length - 1]!.timestamp;
    const scale = Math.min(1, SPAN / Math.max(1, last - first));
    const rnd = prng(o.seed * 7919 + 1);
    let bad = 0;
    this.templates = stream.map((t) => {
      const isBad = rnd() < o.badShare;
      const kind = isBad ? BAD_KINDS[Math.floor(rnd() * BAD_KINDS.length)]! : null;
      if (isBad) bad++;
      let amount = JSON.stringify(t.amount);
      let currency = JSON.stringify(t.currency);
      if (kind === 'negative_amount') amount = '"-12.50"';
      if (kind === 'too_many_decimals') amount = '"12.345"';
      if (kind === 'bad_currency') currency = '"EURO"';
      const members = [
        kind === 'missing_amount' ? null : `"amount":${amount}`,
        `"currency":${currency}`,
        `"metadata":${JSON.stringify(t.metadata)}`,
        `"merchantId":${JSON.stringify(t.merchantId)}`,
        `"channel":${JSON.stringify(t.channel)}`,
      ].filter((m) => m !== null);
      return { userId: t.userId, offset: Math.round((t.timestamp - last) * scale), rest: members.join(','), bad: kind };
    });
    this.badCount = bad;
    this.users = o.users;

    // Feature rows for the MLflow target: the valid transactions of pass 0 through the gateway's
    // own parse + FeatureEngine, as the gateway would compute them.
    const engine = new FeatureEngine({ maxUsers: 1e7, maxBytes: 2 ** 34, maxEventsPerUser: 4096, allowedLatenessMs: 300_000, seenIdsMax: 1e8 });
    const rows = new Float32Array((this.templates.length - bad) * FEATURE_COUNT);
    const now = Date.now();
    let n = 0;
    for (let i = 0; i < this.templates.length; i++) {
      if (this.templates[i]!.bad !== null) continue;
      const tx = parseTransaction(JSON.parse(this.body(i, `f-${i}`, '', now)));
      const ctx = engine.compute(tx, rows, n * FEATURE_COUNT);
      if (assessQuality(tx, ctx.meanLast5, now).joinsWindows) engine.ingest(tx);
      n++;
    }
    this.rows = rows;
    this.rowCount = n;
  }

  get size(): number {
    return this.templates.length;
  }

  /** The POST /v1/score body of template i (a WebSocket never gets the invalid-JSON kind). */
  body(i: number, transactionId: string, userPrefix: string, now: number, ws = false): string {
    const t = this.templates[i]!;
    const user = t.bad === 'missing_user' ? '' : `"userId":"${userPrefix}${t.userId}",`;
    const json = `{"transactionId":"${transactionId}",${user}"timestamp":${now + t.offset},${t.rest}}`;
    if (t.bad === 'invalid_json') return ws ? json.replace('"timestamp":', '"timestamp":"yesterday","x":') : json.slice(0, json.length >> 1);
    return json;
  }

  /** MLflow /invocations body (dataframe_split, one row) for valid row r. */
  mlflowBody(r: number): string {
    const row = this.rows.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT);
    let s = '';
    for (let k = 0; k < FEATURE_COUNT; k++) s += (k === 0 ? '' : ',') + String(Number(row[k]!.toPrecision(8)));
    return `{"dataframe_split":{"columns":${COLUMNS},"data":[[${s}]]}}`;
  }

  private rowValues(r: number): string[] {
    const row = this.rows.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT);
    const out: string[] = [];
    for (let k = 0; k < FEATURE_COUNT; k++) out.push(String(Number(row[k]!.toPrecision(8))));
    return out;
  }

  /** Open Inference Protocol infer body for valid row r: one `features` input, FP32 [1, 26]. */
  oipBody(r: number): string {
    return `{"inputs":[{"name":"features","datatype":"FP32","shape":[1,${FEATURE_COUNT}],"data":[${this.rowValues(r).join(',')}]}]}`;
  }

  /**
   * Open Inference Protocol body for MLServer's MLflow runtime: the row as one input per
   * column (the model's signature names them), decoded into a pandas frame (`content_type: pd`).
   */
  oipColumnsBody(r: number): string {
    const v = this.rowValues(r);
    const inputs = FEATURE_NAMES.map((name, k) => `{"name":"${name}","datatype":"FP32","shape":[1],"data":[${v[k]}]}`);
    return `{"parameters":{"content_type":"pd"},"inputs":[${inputs.join(',')}]}`;
  }
}

const COLUMNS = JSON.stringify(FEATURE_NAMES);

/**
 * A target's request source: sequence numbers go on across that target's runs, so every
 * transactionId is fresh and a wrap-around moves to new users.
 */
export class Feed {
  seq = 0;
  bad = 0;
  constructor(
    private readonly traffic: Traffic,
    private readonly tag: string,
    private readonly mlflow = false,
  ) {}

  next(ws = false): string {
    const s = this.seq++;
    if (this.mlflow) return this.traffic.mlflowBody(s % this.traffic.rowCount);
    const n = this.traffic.size;
    const i = s % n;
    const pass = Math.floor(s / n);
    if (this.traffic.templates[i]!.bad !== null) this.bad++;
    return this.traffic.body(i, `${this.tag}-${s}`, pass === 0 ? '' : `p${pass}-`, Date.now(), ws);
  }
}
