/**
 * The embedded sinks: scored events and dead letters as JSON lines in two local files, each
 * bounded — at `maxBytes` the file is renamed to `*.1` (replacing the previous one) and a new
 * one started, so the two sinks never hold more than 4 × maxBytes on disk.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordCipher } from './cipher.js';
import type { DeadLetter, EventSink, ScoredEvent } from './events.js';
import { scoredJson } from './scored-json.js';

class RotatingFile {
  private fd: number;
  /** The last write error (disk full, permissions): the sink refuses events (503 SINK_FULL) from then on. */
  failure: Error | null = null;
  private bytes: number;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
  ) {
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {
      size = 0;
    }
    this.bytes = size;
    this.fd = openSync(path, 'a');
  }

  private batch = '';
  /** Sealed frames of this turn (a sealed file holds only these). */
  private frames: Buffer[] = [];
  /** Writers of this turn's batch waiting for it to reach the file. */
  private batchWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Events of this turn not yet encoded (writeDurableLater), with their waiters. */
  private later: unknown[] = [];
  private laterWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private encodeLater: ((item: any) => string | Buffer) | null = null; // eslint-disable-line @typescript-eslint/no-explicit-any

  private get empty(): boolean {
    return this.batch === '' && this.frames.length === 0 && this.later.length === 0;
  }

  /** Encodes the turn's deferred events into the batch; one that fails to encode fails alone. */
  private encodePending(): void {
    const items = this.later;
    const ws = this.laterWaiters;
    this.later = [];
    this.laterWaiters = [];
    const encode = this.encodeLater!;
    for (let i = 0; i < items.length; i++) {
      let line: string | Buffer;
      try {
        line = encode(items[i]);
      } catch (err) {
        ws[i]!.reject(err as Error);
        continue;
      }
      if (typeof line === 'string') this.batch += line;
      else this.frames.push(line);
      this.batchWaiters.push(ws[i]!);
    }
  }

  // One write per event-loop turn, not one per event (the profile showed per-event writes as
  // the largest single cost of the embedded sink). Synchronous: the turn's lines are ~100 KB
  // into the page cache (tens of µs), and the answers waiting for them leave in this same turn.
  // Through a WriteStream each answer waited for a thread-pool write and another turn of the
  // loop (and for the write before it): the 5000 req/s run's server p99 was twice its tookMs
  // p99 (the scorer's own time); see loadtest/results.
  private readonly flushBatch = (): void => {
    if (this.later.length > 0) this.encodePending();
    const text: string | Buffer = this.frames.length > 0 ? Buffer.concat(this.frames) : this.batch;
    if (text.length === 0) return; // already flushed by close()
    this.batch = '';
    this.frames = [];
    const waiters = this.batchWaiters;
    this.batchWaiters = [];
    if (this.failure !== null) {
      for (const w of waiters) w.reject(this.failure);
      return;
    }
    try {
      const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      if (this.bytes + buf.length > this.maxBytes && this.bytes > 0) this.rotate();
      // Handed to the file (write(2) done) when this returns: a process kill after it loses
      // nothing, so the answers waiting for it may go.
      for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
      this.bytes += buf.length;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.failure = err as Error;
      for (const w of waiters) w.reject(err as Error);
    }
  };

  write(line: string | Buffer): void {
    if (this.empty) setImmediate(this.flushBatch);
    if (typeof line === 'string') this.batch += line;
    else this.frames.push(line);
  }

  /** Like write, resolving once the line is in the file. */
  writeDurable(line: string | Buffer): Promise<void> {
    this.write(line);
    return new Promise<void>((resolve, reject) => this.batchWaiters.push({ resolve, reject }));
  }

  /**
   * Like writeDurable, encoding `item` only when the turn's batch is written (after every
   * request of the turn has gone its way): the encoding leaves the request's own path, and a
   * turn's events are printed in one loop. `encode` must be the same function for every call.
   */
  writeDurableLater<T>(item: T, encode: (item: T) => string | Buffer): Promise<void> {
    // Written once the current callback and the promise jobs it set off are done (nextTick runs
    // after the microtask queue drains): the scored events of one inference batch, resolved
    // together in the inference pool's setImmediate, go down in one write in that same phase.
    // A setImmediate scheduled from there runs only in the next loop iteration, after a whole
    // poll phase of other requests: the answers waited for it (server p99 ≈ 2× tookMs p99).
    if (this.empty) process.nextTick(this.flushBatch);
    this.encodeLater = encode;
    this.later.push(item);
    return new Promise<void>((resolve, reject) => this.laterWaiters.push({ resolve, reject }));
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, this.path + '.1');
    this.fd = openSync(this.path, 'a');
    this.bytes = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    if (!this.empty) this.flushBatch();
    closeSync(this.fd);
    this.fd = -1;
    this.failure ??= new Error('the file sink is closed');
  }
}

/**
 * With a cipher (SINK_KEYRING_FILE), the files are `scored.sealed` and `dlq.sealed`: one
 * AES-256-GCM sealed frame per event (src/sink/cipher.ts; read them with `scoregate sink-read`
 * or cipher.openFrames), never JSON in clear.
 */
export class FileSink implements EventSink {
  private readonly scoredFile: RotatingFile;
  private readonly dlqFile: RotatingFile;

  constructor(
    dir: string,
    maxBytes: number,
    private readonly cipher: RecordCipher | null = null,
  ) {
    mkdirSync(dir, { recursive: true });
    const ext = cipher === null ? 'jsonl' : 'sealed';
    this.scoredFile = new RotatingFile(join(dir, `scored.${ext}`), maxBytes);
    this.dlqFile = new RotatingFile(join(dir, `dlq.${ext}`), maxBytes);
  }

  private encode(obj: unknown): string | Buffer {
    return this.seal(JSON.stringify(obj) + '\n');
  }

  private seal(line: string): string | Buffer {
    return this.cipher === null ? line : this.cipher.sealFrame(Buffer.from(line));
  }

  /** A scored event's line: the event with its lineage as the seed's record (sink/scored-json.ts). */
  private readonly encodeScored = (ev: ScoredEvent): string | Buffer => this.seal(scoredJson(ev) + '\n');

  accepting(): boolean {
    return this.scoredFile.failure === null && this.dlqFile.failure === null;
  }

  scored(ev: ScoredEvent): Promise<void> {
    // The lineage goes out as the seed's record (the event holds the scorer's raw measurements).
    // Encoded when the turn's batch is written, still before the answer (it waits for the write).
    return this.scoredFile.writeDurableLater(ev, this.encodeScored);
  }

  deadLetter(dl: DeadLetter): void {
    this.dlqFile.write(this.encode(dl));
  }

  async close(): Promise<void> {
    this.scoredFile.close();
    this.dlqFile.close();
  }
}
