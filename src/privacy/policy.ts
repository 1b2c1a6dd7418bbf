/**
 * What each kind of field is, for governance (seed §2 "Policy Enforcement" and §6): its
 * sensitivity, the regulations that tag it, and how long the platform may keep it. One table,
 * read by protect.ts; a scored event carries the result so downstream stores can enforce it.
 *
 * Retention is an ISO-8601 duration from the seed's policies: PII two years, financial
 * transactions seven (SOX audit trail); a CVV may never be stored (PCI DSS 3.3.1), so P0D.
 */
export type Sensitivity = 'restricted' | 'confidential' | 'internal' | 'public';
export type ComplianceTag = 'PCI-DSS' | 'GDPR' | 'SOX';

/** Kinds found by the detectors: these are masked or removed before anything leaves the process. */
export type SensitiveKind = 'pan' | 'cvv' | 'expiry' | 'email' | 'phone' | 'iban' | 'national-id';

/** The base kind of a transaction field when nothing sensitive was found in it. */
export type BaseKind = 'transaction-id' | 'user-id' | 'merchant-id' | 'amount' | 'currency' | 'timestamp' | 'channel' | 'metadata';

export type FieldKind = SensitiveKind | BaseKind;

export interface KindPolicy {
  readonly sensitivity: Sensitivity;
  readonly tags: readonly ComplianceTag[];
  readonly retention: string;
  /** sensitivity as 0 (public) … 3 (restricted), and tags as bits: precomputed for collectors. */
  readonly rank: number;
  readonly bits: number;
}

export const RANK: Readonly<Record<Sensitivity, number>> = { public: 0, internal: 1, confidential: 2, restricted: 3 };

const PCI: readonly ComplianceTag[] = Object.freeze(['PCI-DSS'] as const);
const GDPR: readonly ComplianceTag[] = Object.freeze(['GDPR'] as const);
const SOX: readonly ComplianceTag[] = Object.freeze(['SOX'] as const);
const NONE: readonly ComplianceTag[] = Object.freeze([]);

function p(sensitivity: Sensitivity, tags: readonly ComplianceTag[], retention: string): KindPolicy {
  return Object.freeze({ sensitivity, tags, retention, rank: RANK[sensitivity], bits: tagBits(tags) });
}

export const POLICY: Readonly<Record<FieldKind, KindPolicy>> = Object.freeze({
  // Cardholder data and sensitive authentication data (PCI DSS).
  pan: p('restricted', PCI, 'P7Y'), // kept only masked (BIN + last four) or as a keyed token
  cvv: p('restricted', PCI, 'P0D'), // never stored, not even masked
  expiry: p('confidential', PCI, 'P7Y'),
  // Personal data (GDPR).
  email: p('confidential', GDPR, 'P2Y'),
  phone: p('confidential', GDPR, 'P2Y'),
  'national-id': p('restricted', GDPR, 'P2Y'),
  iban: p('confidential', Object.freeze(['GDPR', 'SOX'] as const), 'P7Y'), // a personal account number in a financial record
  // The transaction itself: a financial record (SOX), its user a pseudonymous identifier (GDPR).
  'transaction-id': p('internal', SOX, 'P7Y'),
  'user-id': p('confidential', GDPR, 'P2Y'),
  'merchant-id': p('internal', SOX, 'P7Y'),
  amount: p('internal', SOX, 'P7Y'),
  currency: p('internal', SOX, 'P7Y'),
  timestamp: p('internal', SOX, 'P7Y'),
  channel: p('public', NONE, 'P7Y'),
  metadata: p('internal', NONE, 'P7Y'),
});

/** The more sensitive of two levels. */
export function maxSensitivity(a: Sensitivity, b: Sensitivity): Sensitivity {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The shorter of two ISO-8601 durations among those POLICY uses (P0D < P2Y < P7Y). */
export function minRetention(a: string, b: string): string {
  return retentionDays(a) <= retentionDays(b) ? a : b;
}

function retentionDays(d: string): number {
  const m = /^P(\d+)([YD])$/.exec(d);
  if (m === null) return Number.POSITIVE_INFINITY;
  return Number(m[1]) * (m[2] === 'Y' ? 365 : 1);
}

/** Tags as bits, for collecting them without allocating: PCI-DSS 1, GDPR 2, SOX 4. */
export function tagBits(tags: readonly ComplianceTag[]): number {
  let m = 0;
  for (const t of tags) m |= t === 'PCI-DSS' ? 1 : t === 'GDPR' ? 2 : 4;
  return m;
}

// Every combination, frozen once: index = bits.
const BY_BITS: readonly (readonly ComplianceTag[])[] = Array.from({ length: 8 }, (_, m) =>
  Object.freeze((['PCI-DSS', 'GDPR', 'SOX'] as const).filter((_, i) => (m & (1 << i)) !== 0)),
);

/** The tags of a bit set, in the order PCI-DSS, GDPR, SOX (a shared frozen array). */
export function tagsOf(bits: number): readonly ComplianceTag[] {
  return BY_BITS[bits & 7]!;
}

/** Tags in a stable order (PCI-DSS, GDPR, SOX), each once. */
export function unionTags(a: readonly ComplianceTag[], b: readonly ComplianceTag[]): readonly ComplianceTag[] {
  if (b.length === 0 || a === b) return a;
  if (a.length === 0) return b;
  const out: ComplianceTag[] = [];
  for (const t of ['PCI-DSS', 'GDPR', 'SOX'] as const) if (a.includes(t) || b.includes(t)) out.push(t);
  return out;
}
