/**
 * Many short deadlines on one timer (undici's habit: one coarse shared timer, not one per
 * request). The request path used to start up to three `setTimeout`s per transaction — the
 * inference budget, the durable-sink wait (never cleared: ~20k live timers at 10k req/s) and
 * the challenger's wait — each a Timeout object in libuv's lists, plus a Promise.race.
 *
 * Deadlines sit in one array sorted by time. Keep one queue per kind of wait (one length, or
 * lengths close together): then they arrive in order as requests go by, and an insert walks back
 * from the tail a step or none; a settled
 * deadline is only marked (`cancel`), and dropped when the queue's front passes it. One timer
 * is armed, for the front: it fires a settled deadline's time at most once per window of
 * settled ones, then re-arms for the next live one.
 */

export interface Deadline<T> {
  /** performance.now() time at which `fire(arg)` runs unless cancelled first. */
  readonly at: number;
  /** Null once cancelled or fired. */
  fire: ((arg: T) => void) | null;
  arg: T;
}

export class Deadlines {
  private q: Deadline<any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private armedAt = Infinity;
  private readonly onTimer = (): void => this.expire();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Runs `fire(arg)` in `ms` unless `cancel`led first; `fire` should be a shared function (no closure per call). */
  after<T>(ms: number, fire: (arg: T) => void, arg: T): Deadline<T> {
    const d: Deadline<T> = { at: this.now() + ms, fire, arg };
    const q = this.q;
    let i = q.length;
    while (i > this.head && q[i - 1]!.at > d.at) i--;
    if (i === q.length) q.push(d);
    else q.splice(i, 0, d);
    if (d.at < this.armedAt) this.arm(d.at);
    return d;
  }

  /**
   * The deadline will not fire. Waits mostly settle in the order they began, so the front
   * usually is the one settled: the queue drops settled ones from its front at once and stays
   * as long as the waits in progress, not the wait's length in requests.
   */
  cancel(d: Deadline<any>): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    d.fire = null;
    const q = this.q;
    let h = this.head;
    if (q[h] !== d) return;
    while (h < q.length && q[h]!.fire === null) h++;
    if (h === q.length) {
      this.q = [];
      this.head = 0;
      // Nothing waits: the timer goes too (it holds the process open, as each wait's own timer did).
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        this.armedAt = Infinity;
      }
    } else if (h > 1024 && h * 2 > q.length) {
      this.q = q.slice(h);
      this.head = 0;
    } else this.head = h;
  }

  /** Live deadlines (for tests). */
  get size(): number {
    let n = 0;
    for (let i = this.head; i < this.q.length; i++) if (this.q[i]!.fire !== null) n++;
    return n;
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedAt = at;
    // setTimeout rounds down to whole ms and may fire a little early: ceil, and expire() re-arms when early.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(at - this.now())));
  }

  private expire(): void {
    this.timer = null;
    this.armedAt = Infinity;
    const q = this.q;
    const now = this.now();
    let h = this.head;
    while (h < q.length) {
      const d = q[h]!;
      if (d.fire === null) {
        h++;
        continue;
      }
      if (d.at > now) break;
      h++;
      const f = d.fire;
      d.fire = null;
      f(d.arg);
    }
    // Fired callbacks may have added deadlines (pushed at the tail or inserted after h).
    if (h >= this.q.length) {
      this.q = [];
      this.head = 0;
    } else {
      if (h > 1024 && h * 2 > this.q.length) {
        this.q = this.q.slice(h);
        h = 0;
      }
      this.head = h;
      // The front may be a cancelled one: arm for the first live deadline.
      let i = h;
      while (i < this.q.length && this.q[i]!.fire === null) i++;
      if (i < this.q.length) this.arm(this.q[i]!.at);
      else {
        this.q = [];
        this.head = 0;
      }
    }
  }
}

