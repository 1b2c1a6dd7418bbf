/**
 * What the scorer tells about each transaction, handed to the monitors: its features to the
 * drift window, its answer to the outcome join and, when the serving model gave it, its score to
 * the drift window; and the answers counted by the model that gave them (champion, canary
 * challenger or fallback rule), so a canary split shows in the metrics.
 */
import type { Counter } from 'prom-client';
import type { AnsweredBy, ScoreWatch } from '../scoring/scorer.js';
import type { DriftMonitor } from './drift.js';
import type { OutcomeTracker } from './outcomes.js';

type ModelRef = Readonly<{ name: string; version: string }>;

export class Monitor implements ScoreWatch {
  // Label children by the model's frozen ref object (one per pool): a Map lookup per answer,
  // no label hashing, no string built.
  private readonly children: Record<AnsweredBy, Map<ModelRef, { inc(): void }>> = { champion: new Map(), canary: new Map(), fallback: new Map() };

  constructor(
    readonly drift: DriftMonitor,
    readonly outcomes: OutcomeTracker,
    private readonly answersByModel: Counter<'name' | 'version' | 'by'>,
  ) {}

  features(row: Float32Array, offset: number): void {
    this.drift.features(row, offset);
  }

  answered(transactionId: string, score: number, model: ModelRef, by: AnsweredBy): void {
    const m = this.children[by];
    let c = m.get(model);
    if (c === undefined) m.set(model, (c = this.answersByModel.labels(model.name, model.version, by)));
    c.inc();
    if (by === 'champion') this.drift.score(score);
    this.outcomes.answered(transactionId, score);
  }
}
