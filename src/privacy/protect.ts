/**
 * protectTransaction: a parsed transaction → a copy safe to leave the process, plus the
 * classification of every field (path, kind, sensitivity, compliance tags, retention, what was
 * done). Scanned: transactionId, userId, merchantId, channel, and every metadata key and
 * value. amountText, currency and timestamp are validated formats (a decimal, an ISO 4217
 * code, a number) that cannot hold personal data; they are classified, not scanned.
 *
 * The input is never mutated. When nothing needed masking the returned transaction is the
 * input object itself, and the common case allocates only the classification's field list:
 * fixed fields and clean metadata keys reuse frozen entries.
 */
import { findSpans } from './detect.js';
import type { Transaction } from '../quality/transaction.js';
import { classifyKey, valueFitsKey, type KeyKind } from './keys.js';
import { maskKeyed, normaliseValue, tokenFor, DEFAULT_OPTIONS, type Finding, type PrivacyOptions } from './mask.js';
import { maxSensitivity, minRetention, POLICY, RANK, tagBits, tagsOf, unionTags, type BaseKind, type ComplianceTag, type FieldKind, type Sensitivity } from './policy.js';
import { prescan } from './detect.js';
import { scrub } from './scrub.js';

export type Action = 'kept' | 'masked' | 'removed';

export interface FieldClassification {
  /** "userId", "metadata.country"; a key that held a card number is named by its masked form. */
  readonly path: string;
  /** The most sensitive kind found in the field, else the field's own kind. */
  readonly kind: FieldKind;
  readonly sensitivity: Sensitivity;
  readonly tags: readonly ComplianceTag[];
  /** ISO-8601 duration the value may be kept (seed §2 retention; P0D: never stored). */
  readonly retention: string;
  readonly action: Action;
  readonly findings: readonly Finding[];
}

export interface Classification {
  /** The highest sensitivity of any field. */
  readonly sensitivity: Sensitivity;
  /** Every tag of any field, in the order PCI-DSS, GDPR, SOX. */
  readonly tags: readonly ComplianceTag[];
  readonly fields: readonly FieldClassification[];
}

export interface Protected {
  readonly transaction: Transaction;
  readonly classification: Classification;
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

function base(path: string, kind: BaseKind): FieldClassification {
  const p = POLICY[kind];
  return Object.freeze({ path, kind, sensitivity: p.sensitivity, tags: p.tags, retention: p.retention, action: 'kept' as Action, findings: NO_FINDINGS });
}

const FIXED = {
  transactionId: base('transactionId', 'transaction-id'),
  userId: base('userId', 'user-id'),
  amount: base('amount', 'amount'),
  currency: base('currency', 'currency'),
  timestamp: base('timestamp', 'timestamp'),
  merchantId: base('merchantId', 'merchant-id'),
  channel: base('channel', 'channel'),
} as const;

// Clean metadata keys repeat across transactions ("country", "device"): their entries are
// made once. Bounded; a key is cached only when it holds nothing sensitive itself.
const CLEAN_KEYS_MAX = 1024;
const cleanKeys = new Map<string, FieldClassification>();

function cleanMetadataEntry(key: string): FieldClassification {
  let e = cleanKeys.get(key);
  if (e === undefined) {
    e = base('metadata.' + key, 'metadata');
    if (cleanKeys.size < CLEAN_KEYS_MAX) cleanKeys.set(key, e);
  }
  return e;
}

/** A field with findings: its classification is the most sensitive of its own and theirs. */
function withFindings(path: string, own: BaseKind, findings: readonly Finding[], action: Action): FieldClassification {
  let kind: FieldKind = own;
  let { sensitivity, tags, retention } = POLICY[own];
  let top = -1; // rank of the most sensitive finding so far: the first of the highest names the field
  for (const f of findings) {
    const p = POLICY[f.kind];
    if (p.rank > top) {
      top = p.rank;
      kind = f.kind;
    }
    sensitivity = maxSensitivity(sensitivity, p.sensitivity);
    tags = unionTags(tags, p.tags);
    retention = minRetention(retention, p.retention);
  }
  return { path, kind, sensitivity, tags, retention, action, findings };
}

class Collector {
  readonly fields: FieldClassification[] = [];
  private rank = 0;
  private bits = 0;

  /** rank and bits of f, precomputed by the caller (measured: deriving them here was a third of a clean call). */
  push(f: FieldClassification, rank: number, bits: number): void {
    this.fields.push(f);
    if (rank > this.rank) this.rank = rank;
    this.bits |= bits; // bits, not arrays: no allocation per field
  }

  pushBase(f: FieldClassification): void {
    const p = POLICY[f.kind];
    this.push(f, p.rank, p.bits);
  }

  pushDerived(f: FieldClassification): void {
    this.push(f, RANK[f.sensitivity], tagBits(f.tags));
  }

  result(): Classification {
    return { sensitivity: LEVELS[this.rank]!, tags: tagsOf(this.bits), fields: this.fields };
  }
}

const METADATA = POLICY.metadata;
const LEVELS: readonly Sensitivity[] = ['public', 'internal', 'confidential', 'restricted'];

function scanField(c: Collector, value: string, path: keyof typeof FIXED, own: BaseKind, opts: PrivacyOptions): string {
  if (!prescan(value)) {
    c.pushBase(FIXED[path]);
    return value;
  }
  const findings: Finding[] = [];
  const out = scrub(value, opts, findings);
  if (findings.length === 0) c.pushBase(FIXED[path]);
  else c.pushDerived(withFindings(path, own, findings, 'masked'));
  return out;
}

/**
 * An identifier (transactionId, userId) is masked only when the whole value is itself sensitive
 * (a card number or an e-mail address used as the id): a digit run inside an id
 * ("t-5-1795792320924") is part of a key that joins events downstream, and masking it for a
 * chance Luhn match would break the join and the idempotent replay. Classified either way.
 */
function scanId(c: Collector, value: string, path: 'transactionId' | 'userId', own: BaseKind, opts: PrivacyOptions): string {
  if (!prescan(value)) {
    c.pushBase(FIXED[path]);
    return value;
  }
  const spans = findSpans(value);
  const t0 = value.length - value.trimStart().length;
  const t1 = value.trimEnd().length;
  if (!spans.some((sp) => sp.start <= t0 && sp.end >= t1)) {
    c.pushBase(FIXED[path]);
    return value;
  }
  return scanField(c, value, path, own, opts);
}

function keyedFinding(kind: KeyKind, value: string, opts: PrivacyOptions): Finding {
  if (kind === 'cvv') return { kind: 'cvv', token: null };
  if (kind === 'national-id') {
    return { kind: 'national-id', token: opts.tokenKey === null ? null : tokenFor(opts.tokenKey, 'national-id', normaliseValue('national-id', value)) };
  }
  return { kind: 'expiry', token: null };
}

/**
 * A merchantId as protectTransaction writes it (masked where sensitive), without classifying the
 * rest of the transaction: the windows feed keeps merchantIds as the scorer does and needs only
 * this field (measured: the whole transaction's scan was ~8% of the feed's time per record).
 */
export function protectMerchantId(merchantId: string, opts: PrivacyOptions = DEFAULT_OPTIONS): string {
  return prescan(merchantId) ? scrub(merchantId, opts, []) : merchantId;
}

/** Masks and classifies a parsed transaction. Call once per event, before it leaves the process. */
export function protectTransaction(tx: Transaction, opts: PrivacyOptions = DEFAULT_OPTIONS): Protected {
  const c = new Collector();
  const transactionId = scanId(c, tx.transactionId, 'transactionId', 'transaction-id', opts);
  const userId = scanId(c, tx.userId, 'userId', 'user-id', opts);
  c.pushBase(FIXED.amount);
  c.pushBase(FIXED.currency);
  c.pushBase(FIXED.timestamp);
  const merchantId = tx.merchantId === null ? null : scanField(c, tx.merchantId, 'merchantId', 'merchant-id', opts);
  const channel = tx.channel === null ? null : scanField(c, tx.channel, 'channel', 'channel', opts);

  const meta = tx.metadata;
  let out: Record<string, string> | null = null; // made on the first change
  for (const k in meta) {
    const v = meta[k]!;
    let key = k;
    let keyKind: KeyKind | null = null;
    let findings: Finding[] | null = null;
    const known = cleanKeys.get(k); // one lookup: a clean key seen before skips the key rules
    if (known === undefined) {
      keyKind = classifyKey(k);
      if (prescan(k)) {
        findings = [];
        key = scrub(k, opts, findings); // a card number used as a key
      }
    }
    let value: string | null = v;
    let action: Action = key === k ? 'kept' : 'masked';
    if (keyKind !== null && valueFitsKey(keyKind, v)) {
      (findings ??= []).push(keyedFinding(keyKind, v, opts));
      value = keyKind === 'cvv' ? null : maskKeyed(keyKind);
      action = keyKind === 'cvv' ? 'removed' : 'masked';
    } else if (prescan(v)) {
      findings ??= [];
      const before = findings.length;
      value = scrub(v, opts, findings);
      if (findings.length > before) action = 'masked';
    }
    if (findings === null || findings.length === 0) {
      c.push(known ?? cleanMetadataEntry(k), METADATA.rank, METADATA.bits);
      if (out !== null) out[k] = v;
      continue;
    }
    c.pushDerived(withFindings('metadata.' + key, 'metadata', findings, action));
    if (out === null) out = copyBefore(meta, k);
    if (value !== null) {
      // Two keys masked alike (two card numbers as keys) stay two entries.
      let unique = key;
      for (let n = 2; unique in out; n++) unique = `${key}#${n}`;
      out[unique] = value;
    }
  }

  const changed =
    out !== null || transactionId !== tx.transactionId || userId !== tx.userId || merchantId !== tx.merchantId || channel !== tx.channel;
  const transaction: Transaction = changed
    ? {
        transactionId,
        userId,
        amount: tx.amount,
        amountText: tx.amountText,
        currency: tx.currency,
        timestamp: tx.timestamp,
        metadata: out ?? tx.metadata,
        merchantId,
        channel,
      }
    : tx;
  return { transaction, classification: c.result() };
}

/** A null-prototype copy of meta's entries before key `stop` (all unchanged so far). */
function copyBefore(meta: Record<string, string>, stop: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const k in meta) {
    if (k === stop) break;
    out[k] = meta[k]!;
  }
  return out;
}
