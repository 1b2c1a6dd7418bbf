/**
 * The API keys in memory: key id → expected digest and the key's principal, built from the
 * keys file at start and rebuilt when the file changes (watch) or on demand (reload). A verify is one Map get and one
 * SHA-256; the principal (and its rate-limit bucket) is the same object for every request
 * with that key, so nothing is allocated per request beyond the digest.
 */
import { stat, statSync, type Stats } from 'node:fs';
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
  /** How often the file is polled for a change (ms). */
  pollMs?: number;
}

export class KeyStore {
  private entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  /** The file as last read (inode, size, mtime), taken before reading it: a change made while reading shows at the next poll. */
  private seen = '';
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
    store.reload();
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
   * malformed throws and leaves the keys loaded before in place: a half-edited or briefly
   * absent file must not lock every client out (revoked keys are not in that map either).
   * To drop every key at once, write a file with none (or revoke each).
   */
  reload(): void {
    let st: Stats | null = null;
    try {
      st = statSync(this.path);
    } catch {
      // readKeysFile says what is wrong
    }
    this.seen = signature(st);
    this.install(readKeysFile(this.path));
  }

  /**
   * Reloads when the file changes, polled every `pollMs` (1 s by default) against the file as
   * it was last read. Polling the path follows the rename a writer (and the CLI) replaces the
   * file with, where fs.watch on the old inode would go deaf; comparing with the last read,
   * not the last poll, misses no change made between loading and watching. `onReload` hears
   * each outcome: null, or the error that kept the old keys.
   */
  watch(onReload: (err: Error | null) => void): void {
    if (this.timer !== null) return;
    this.onReload = onReload;
    this.timer = setInterval(() => stat(this.path, this.onStat), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private onReload: (err: Error | null) => void = () => {};

  private readonly onStat = (err: Error | null, st: Stats | undefined): void => {
    if (this.timer === null || signature(err === null ? (st ?? null) : null) === this.seen) return;
    try {
      this.reload();
      this.onReload(null);
    } catch (e) {
      this.onReload(e as Error);
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

function signature(st: Stats | null): string {
  return st === null ? 'missing' : `${st.ino}:${st.size}:${st.mtimeMs}`;
}
