/**
 * The API keys in memory: key id → expected digest and the key's principal, built from the
 * keys file at start and rebuilt when the file changes (watch) or on demand (reload). A verify is one Map get and one
 * SHA-256; the principal (and its rate-limit bucket) is the same object for every request
 * with that key, so nothing is allocated per request beyond the digest.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { parseKey, secretMatches } from './api-key.js';
import { readKeysFile, type KeyRecord } from './keys-file.js';
import { Principal } from './principal.js';
import { burstFor, monotonicMs, TokenBucket, type Clock } from './rate-limit.js';
import { roleBits } from './roles.js';

interface Entry {
  digest: Buffer;
  principal: Principal;
}

export interface KeyStoreOptions {
  /** Default rate limit of a key that sets none (AUTH_RATE_PER_S, AUTH_RATE_BURST). */
  ratePerS: number;
  burst: number;
  clock?: Clock;
  /** How often the file's mtime is polled (watchFile survives the rename a writer does). */
  pollMs?: number;
}

export class KeyStore {
  private entries = new Map<string, Entry>();
  private watching = false;
  private readonly clock: Clock;

  private constructor(
    readonly path: string,
    private readonly opts: KeyStoreOptions,
  ) {
    this.clock = opts.clock ?? monotonicMs;
  }

  /** Loads `path`; throws KeysFileError when it is missing or malformed (the gateway must not start on it). */
  static open(path: string, opts: KeyStoreOptions): KeyStore {
    const store = new KeyStore(path, opts);
    store.install(readKeysFile(path));
    return store;
  }

  /** Active (not revoked) keys. */
  get size(): number {
    return this.entries.size;
  }

  /** The principal of a presented key, or null for anything else (not a key, unknown id, wrong secret, revoked). */
  verify(token: string): Principal | null {
    const parsed = parseKey(token);
    if (parsed === null) return null;
    const entry = this.entries.get(parsed.id);
    // An unknown id still pays for a digest and a compare: its answer takes as long as a wrong secret's.
    return secretMatches(parsed.id, parsed.secret, entry?.digest ?? null) ? entry!.principal : null;
  }

  /**
   * Reads the file again and swaps the map in one assignment. A file that is missing or
   * malformed throws and leaves the keys loaded before in place (a half-edited file must not
   * lock every client out, nor let a revoked key back in: revocation only ever removes).
   */
  reload(): void {
    this.install(readKeysFile(this.path));
  }

  /**
   * Reloads when the file changes, polled every `pollMs` (1 s by default): polling the path
   * follows the rename a writer (and the CLI) replaces the file with, where fs.watch on the
   * old inode would go deaf. `onReload` hears the outcome: null, or the error that kept the
   * old keys.
   */
  watch(onReload: (err: Error | null) => void): void {
    if (this.watching) return;
    this.watching = true;
    this.onReload = onReload;
    watchFile(this.path, { interval: this.opts.pollMs ?? 1000, persistent: false }, this.onFileChange);
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    unwatchFile(this.path, this.onFileChange);
  }

  private onReload: (err: Error | null) => void = () => {};

  private readonly onFileChange = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
    try {
      this.reload();
      this.onReload(null);
    } catch (err) {
      this.onReload(err as Error);
    }
  };

  private install(records: readonly KeyRecord[]): void {
    const next = new Map<string, Entry>();
    for (const r of records) {
      if (r.revokedAt !== undefined) continue;
      const ratePerS = r.ratePerS ?? this.opts.ratePerS;
      const burst = ratePerS === 0 ? 0 : burstFor(ratePerS, r.burst ?? this.opts.burst);
      const old = this.entries.get(r.id);
      // A reload keeps a key's bucket (and so its spent tokens) unless its limit changed.
      const bucket = old !== undefined && old.principal.bucket.ratePerS === ratePerS && old.principal.bucket.burst === burst ? old.principal.bucket : new TokenBucket(ratePerS, burst, this.clock);
      const principal = new Principal(`key:${r.id}`, 'api-key', r.name, roleBits(r.roles), bucket);
      next.set(r.id, { digest: Buffer.from(r.sha256, 'base64url'), principal });
    }
    this.entries = next;
  }
}
