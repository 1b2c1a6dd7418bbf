/**
 * Follows the MLflow model registry: resolves an alias to a version, downloads the version's
 * whole directory through the artifact proxy into MODEL_CACHE_DIR, and hands it to the
 * ModelManager. Used at start, by promotion hooks, by polling and by the admin reload.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import type { RecordCipher } from '../sink/cipher.js';
import { closeOpened, findModelRoot, memoryDir, openSealedDirectory, sealDirectory } from './sealed-cache.js';
import type { ModelManager } from './manager.js';
import { MlflowClient, type MlflowClientOptions } from './mlflow-client.js';

export interface FollowerOptions {
  trackingUri: string;
  modelName: string;
  championAlias: string;
  challengerAlias: string;
  cacheDir: string;
  /** Credentials and CA of the tracking server. */
  client?: MlflowClientOptions;
  /** Encrypts the model cache at rest (src/models/sealed-cache.ts); null: files in clear. */
  cipher?: RecordCipher | null;
}

/** The registered-model tag whose value (0–100) sets the canary split (src/models/canary.ts). */
export const CANARY_TAG = 'canary_percent';

export class RegistryFollower {
  readonly client: MlflowClient;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  /** The canary tag's value last applied: the tag acts when it changes, so an admin call or a rollback is not undone by the next poll. */
  private canaryTag: string | null = null;

  constructor(
    private readonly manager: ModelManager,
    private readonly log: Logger,
    readonly opts: FollowerOptions,
  ) {
    this.client = new MlflowClient(opts.trackingUri, opts.client);
  }

  /** Clear copies of sealed models opened in memory-backed storage, removed on stop(). */
  private readonly opened: string[] = [];

  private async fetch(version: string): Promise<string> {
    const cipher = this.opts.cipher ?? null;
    if (cipher === null) {
      const dest = join(this.opts.cacheDir, `${this.opts.modelName}-v${version}`);
      await rm(dest, { recursive: true, force: true });
      await mkdir(dest, { recursive: true });
      return this.client.downloadModel(this.opts.modelName, version, dest);
    }
    // Sealed cache: a version's archive is kept (versions never change); one that does not open
    // (tampered, truncated, unknown key) is reported, dropped and downloaded again.
    const archive = join(this.opts.cacheDir, `${this.opts.modelName}-v${version}.sealed`);
    if (existsSync(archive)) {
      try {
        return await this.openArchive(archive, cipher);
      } catch (err) {
        this.log.error('sealed model archive could not be opened: downloading the version again', { version, code: (err as { code?: string }).code ?? 'CIPHER_BAD_FORMAT', error: String(err) });
        await rm(archive, { force: true });
      }
    }
    const staging = await mkdtemp(join(memoryDir(), 'scoregate-download-'));
    try {
      const modelDir = await this.client.downloadModel(this.opts.modelName, version, staging);
      await sealDirectory(modelDir, archive, cipher);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return this.openArchive(archive, cipher);
  }

  private async openArchive(archive: string, cipher: RecordCipher): Promise<string> {
    const root = await openSealedDirectory(archive, cipher);
    this.opened.push(root);
    return findModelRoot(root);
  }

  /** Loads `version` as the champion unless it already serves. */
  async promote(version: string, origin: string): Promise<'serving' | 'unchanged'> {
    if (this.manager.activeVersion === version) return 'unchanged';
    const t0 = performance.now();
    const dir = await this.fetch(version);
    this.log.info('model downloaded', { version, origin, ms: Math.round(performance.now() - t0) });
    await this.manager.activate({ dir, name: this.opts.modelName, version, origin });
    return 'serving';
  }

  /** Loads `version` as the challenger unless it already runs. */
  async challenge(version: string, origin: string): Promise<'serving' | 'unchanged'> {
    if (this.manager.challengerVersion === version) return 'unchanged';
    const dir = await this.fetch(version);
    await this.manager.setChallenger({ dir, name: this.opts.modelName, version, origin });
    return 'serving';
  }

  /** Resolves the champion alias now and promotes its version. */
  async syncChampion(origin: string): Promise<'serving' | 'unchanged'> {
    const v = await this.client.getVersionByAlias(this.opts.modelName, this.opts.championAlias);
    return this.promote(v.version, `${origin} models:/${this.opts.modelName}@${this.opts.championAlias}`);
  }

  /** Resolves the challenger alias (if configured); a missing alias removes the challenger. */
  async syncChallenger(origin: string): Promise<void> {
    if (this.opts.challengerAlias === '') return;
    let version: string;
    try {
      version = (await this.client.getVersionByAlias(this.opts.modelName, this.opts.challengerAlias)).version;
    } catch (err) {
      if (/\b404\b|RESOURCE_DOES_NOT_EXIST|not found/i.test(String(err))) {
        if (this.manager.challengerVersion !== null) await this.manager.setChallenger(null);
        return;
      }
      throw err;
    }
    await this.challenge(version, `${origin} models:/${this.opts.modelName}@${this.opts.challengerAlias}`);
    await this.syncCanary(origin);
  }

  /** Applies the registered model's canary_percent tag when it changed; a removed tag puts the split back to 0. */
  async syncCanary(origin: string): Promise<void> {
    const tag = (await this.client.getRegisteredModelTags(this.opts.modelName))[CANARY_TAG] ?? null;
    if (tag === this.canaryTag) return;
    const by = `${origin} mlflow tag ${CANARY_TAG}`;
    if (tag === null) this.manager.setCanary(0, `${by} removed`);
    else if (/^\d{1,3}$/.test(tag.trim()) && Number(tag) <= 100) this.manager.setCanary(Number(tag), by);
    else this.log.warn('canary tag ignored: not a whole number from 0 to 100', { tag: CANARY_TAG, value: tag.slice(0, 40) });
    this.canaryTag = tag;
  }

  /** Polling mode: follow both aliases every `ms`. Failures are logged; the next tick tries again. */
  startPolling(ms: number): void {
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      Promise.all([this.syncChampion('poll'), this.syncChallenger('poll')])
        .catch((err: unknown) => this.log.warn('registry poll failed', { error: String(err) }))
        .finally(() => (this.polling = false));
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    // The clear copies of sealed models live in memory-backed storage, which outlives the process.
    for (const dir of this.opened.splice(0)) void closeOpened(dir);
  }
}
