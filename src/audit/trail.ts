/**
 * The audit trail (seed §6): who did what to which resource, when, and how it ended — model
 * changes (hooks, reloads, rollbacks, rejections), refused webhooks, every read of a user's
 * window, keys created or revoked, and bursts of failed authentication.
 *
 * One record per line in the seed's shape, `{"audit_log": {timestamp, user, action, resource,
 * outcome, records_accessed?, details?}}`, appended to AUDIT_FILE (append-only: the gateway
 * never rewrites or truncates it; sealed frames instead of lines when SINK_KEYRING_FILE is set)
 * and, with Kafka, sent to the `audit-logs` topic through the durable spool. Strings are masked
 * (src/privacy) before they are written: a userId that is an e-mail address is not kept in clear.
 * `GET /v1/audit` (auditor role) reads the newest records back.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { maskText } from '../privacy/text.js';
import { openFrames, type RecordCipher } from '../sink/cipher.js';

export type AuditOutcome = 'success' | 'failure' | 'denied' | 'rejected';

export interface AuditEntry {
  /** Who: a principal id (`key:<id>`, `jwt:<iss> <sub>`, `admin-token`), `system:<what>` or a peer address. */
  user: string;
  /** What, dotted: model.activate, model.rollback, webhook.refused, window.read, key.create, auth.failures… */
  action: string;
  /** Which: `model:fraud-detector@3`, `user:<id>/window`, `key:<id>`, `/hooks/mlflow`… */
  resource: string;
  outcome: AuditOutcome;
  records_accessed?: number;
  details?: Record<string, string | number | boolean | null>;
}

export interface AuditRecord extends AuditEntry {
  timestamp: string;
}

/** How many records GET /v1/audit reads back at most, and from how far back in the file. */
const READ_BACK_BYTES = 8 * 1024 * 1024;

export class AuditTrail {
  /** Where records also go (the Kafka sink's audit-logs topic), set once Kafka is up. */
  forward: ((json: string) => void) | null = null;

  constructor(
    private readonly file: string,
    private readonly cipher: RecordCipher | null = null,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /**
   * Appends one record. Synchronous (appendFileSync): audit events are rare (never per scored
   * transaction) and must not be lost to a crash right after the action they record.
   */
  record(e: AuditEntry): AuditRecord {
    const rec: AuditRecord = { timestamp: new Date(this.now()).toISOString(), ...mask(e) };
    const json = JSON.stringify({ audit_log: rec });
    appendFileSync(this.file, this.cipher === null ? json + '\n' : this.cipher.sealFrame(Buffer.from(json + '\n')));
    this.forward?.(json);
    return rec;
  }

  /** The newest records (newest last), optionally only those at or after `sinceMs` and of `action`. */
  read(opts: { sinceMs?: number; action?: string; limit: number }): AuditRecord[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    const from = this.cipher === null ? Math.max(0, size - READ_BACK_BYTES) : 0; // frames are read whole
    const buf = Buffer.allocUnsafe(size - from);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, from);
    } finally {
      closeSync(fd);
    }
    let lines: string[];
    if (this.cipher === null) {
      lines = buf.toString('utf8').split('\n');
      if (from > 0) lines.shift(); // the first line may be cut
    } else {
      lines = openFrames(buf, this.cipher).records.map((r) => r.toString('utf8'));
    }
    const out: AuditRecord[] = [];
    for (const l of lines) {
      if (l.trim() === '') continue;
      try {
        const r = (JSON.parse(l) as { audit_log: AuditRecord }).audit_log;
        if (opts.sinceMs !== undefined && Date.parse(r.timestamp) < opts.sinceMs) continue;
        if (opts.action !== undefined && r.action !== opts.action) continue;
        out.push(r);
      } catch {
        // a torn last line (a crash mid-append): skipped
      }
    }
    return out.slice(-opts.limit);
  }
}

function mask(e: AuditEntry): AuditEntry {
  const out: AuditEntry = { user: maskText(e.user), action: e.action, resource: maskText(e.resource), outcome: e.outcome };
  if (e.records_accessed !== undefined) out.records_accessed = e.records_accessed;
  if (e.details !== undefined) {
    const d: Record<string, string | number | boolean | null> = {};
    for (const [k, v] of Object.entries(e.details)) d[k] = typeof v === 'string' ? maskText(v) : v;
    out.details = d;
  }
  return out;
}

/**
 * Counts failed authentications and reports a burst once per window: at most one audit record
 * per `windowMs`, when `threshold` failures were seen in it (a credential-stuffing attempt, or a
 * client with a revoked key).
 */
export class FailureBurst {
  private count = 0;
  private start = 0;
  private reported = false;
  private readonly peers = new Set<string>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly report: (count: number, peers: string[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  failed(peer: string): void {
    const t = this.now();
    if (t - this.start >= this.windowMs) {
      this.start = t;
      this.count = 0;
      this.reported = false;
      this.peers.clear();
    }
    this.count++;
    if (this.peers.size < 10) this.peers.add(peer);
    if (!this.reported && this.count >= this.threshold) {
      this.reported = true;
      this.report(this.count, [...this.peers]);
    }
  }
}
