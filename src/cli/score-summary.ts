/** What `scoregate score` counts while it runs, and the summary it prints at the end. */
import type { LineError } from './score-target.js';

const RISKS = ['LOW', 'MEDIUM', 'HIGH'] as const;

export interface SummaryJson {
  lines: number;
  outcomes: { scored: number; fallback: number; replayed: number; error: number };
  risk: Record<(typeof RISKS)[number], number>;
  fallbacks: Record<string, number>;
  replays: number;
  errors: Record<string, number>;
  seconds: number;
  linesPerSecond: number;
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

function list(m: Record<string, number>): string {
  const e = Object.entries(m);
  return e.length === 0 ? 'none' : e.map(([k, n]) => `${k} ${n}`).join(', ');
}

export class ScoreSummary {
  private readonly started = performance.now();
  readonly outcomes = { scored: 0, fallback: 0, replayed: 0, error: 0 };
  private readonly risk = { LOW: 0, MEDIUM: 0, HIGH: 0 };
  private readonly fallbacks: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};

  get done(): number {
    const o = this.outcomes;
    return o.scored + o.fallback + o.replayed + o.error;
  }

  /** Counts one answer from its text: risk category, fallback reason; replays apart. */
  result(body: string, replayed: boolean): void {
    let a: { riskCategory?: unknown; fallbackReason?: unknown } = {};
    try {
      a = JSON.parse(body) as typeof a;
    } catch {
      // counted as answered, without a category
    }
    if (typeof a.riskCategory === 'string' && a.riskCategory in this.risk) this.risk[a.riskCategory as keyof typeof this.risk]++;
    if (replayed) this.outcomes.replayed++;
    else if (typeof a.fallbackReason === 'string') {
      this.outcomes.fallback++;
      bump(this.fallbacks, a.fallbackReason);
    } else this.outcomes.scored++;
  }

  error(e: LineError): void {
    this.outcomes.error++;
    bump(this.errors, e.code);
  }

  json(): SummaryJson {
    const seconds = (performance.now() - this.started) / 1000;
    return {
      lines: this.done,
      outcomes: { ...this.outcomes },
      risk: { ...this.risk },
      fallbacks: { ...this.fallbacks },
      replays: this.outcomes.replayed,
      errors: { ...this.errors },
      seconds: Math.round(seconds * 1000) / 1000,
      linesPerSecond: seconds > 0 ? Math.round((this.done / seconds) * 10) / 10 : 0,
    };
  }

  text(): string {
    const s = this.json();
    const o = s.outcomes;
    return [
      `score: ${s.lines} lines in ${s.seconds.toFixed(2)} s (${s.linesPerSecond} lines/s): ${o.scored} scored by the model, ${o.fallback} by the fallback, ${o.replayed} replayed, ${o.error} errors`,
      `  risk: ${RISKS.map((r) => `${r} ${s.risk[r]}`).join(', ')}`,
      `  fallbacks: ${list(s.fallbacks)}`,
      `  errors: ${list(s.errors)}`,
    ].join('\n');
  }
}
