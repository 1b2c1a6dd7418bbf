/**
 * Progress on stderr for long commands: a bar redrawn in place (at most every 100 ms) when
 * stderr is a terminal, else a plain line every few seconds, so logs stay readable. Stdout is
 * never touched: it may be the command's output.
 */
import { stat } from 'node:fs/promises';

export interface ProgressState {
  /** Lines done (answered or failed). */
  done: number;
  errors: number;
  /** Input bytes read so far, against the input's size when known. */
  bytes: number;
}

const BAR = 24;

export class Progress {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private last = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    /** Input size in bytes; null when unknown (stdin, a pipe). */
    private readonly totalBytes: number | null,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 5000,
  ) {
    this.tty = out.isTTY === true;
  }

  /** The size of a regular file, or null (stdin, pipes, FIFOs). */
  static async sizeOf(path: string): Promise<number | null> {
    if (path === '-') return null;
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  }

  update(s: ProgressState): void {
    const now = performance.now();
    if (now - this.last < (this.tty ? 100 : this.plainEveryMs)) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(s.done / seconds) : 0;
    const frac = this.totalBytes !== null && this.totalBytes > 0 ? Math.min(1, s.bytes / this.totalBytes) : null;
    const counts = `${s.done} lines, ${rate}/s, ${s.errors} error${s.errors === 1 ? '' : 's'}`;
    if (this.tty) {
      const bar = frac === null ? '' : `[${'#'.repeat(Math.round(frac * BAR)).padEnd(BAR, '-')}] ${(frac * 100).toFixed(0).padStart(3)}% `;
      this.out.write(`\r${this.label}: ${bar}${counts}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${this.label}: ${frac === null ? '' : `${(frac * 100).toFixed(0)}% of input, `}${counts}\n`);
    }
  }

  /** Clears the bar (the summary follows on a clean line). */
  finish(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
