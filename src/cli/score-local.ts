/**
 * `score --in-process`: the gateway's scoring pipeline (scoring/pipeline.ts) in this process,
 * with the configured MODEL_DIR and settings, scored events and dead letters written to the
 * file sink in DATA_DIR (sealed with the at-rest keyring when one is set) as the gateway without
 * Kafka does; no HTTP. The model goes through the same validation as in the gateway before
 * anything is scored.
 */
import type { Config } from '../core/config.js';
import { ScoregateError } from '../core/errors.js';
import { Logger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { atRestCipher, buildPipeline } from '../scoring/pipeline.js';
import type { Scorer } from '../scoring/scorer.js';
import { FileSink } from '../sink/file.js';
import type { Item, Reply, Target } from './score-target.js';

export class LocalTarget implements Target {
  private constructor(
    private readonly scorer: Scorer,
    private readonly sink: FileSink,
    private readonly budgetMs: number,
  ) {}

  static async open(config: Config, log: Logger = new Logger('warn')): Promise<LocalTarget> {
    const sink = new FileSink(config.dataDir, config.sinkFileMaxBytes, atRestCipher(config));
    const { scorer, models } = buildPipeline(config, sink, new Metrics(), log);
    try {
      await models.activate({ dir: config.modelDir, origin: `MODEL_DIR ${config.modelDir}` });
    } catch (err) {
      await sink.close();
      throw new Error(`MODEL_DIR ${config.modelDir} cannot serve: ${(err as Error).message}`);
    }
    return new LocalTarget(scorer, sink, config.requestBudgetMs);
  }

  /** The model answering (name and version), as answers name it. */
  get model(): string {
    const m = this.scorer.pool?.model;
    return m === undefined ? 'none' : `${m.name} ${m.version}`;
  }

  send(items: Item[]): Promise<Reply[]> {
    // All items enter the scorer in this turn, in order: features are computed in file order.
    return Promise.all(
      items.map((it) =>
        this.scorer.score(it.value, { source: 'cli', receivedAt: Date.now(), startedAt: performance.now(), budgetMs: this.budgetMs, raw: () => it.text }).then(
          (a): Reply => ({ ok: true, body: a.body, replayed: a.replayed }),
          (err: unknown): Reply => {
            const e = err instanceof ScoregateError ? err : new ScoregateError('INTERNAL', (err as Error).message);
            return { ok: false, error: e.toBody() };
          },
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await this.scorer.pool?.close();
    await this.sink.close();
  }
}
