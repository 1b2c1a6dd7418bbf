/**
 * The Avro contracts of the topics scoregate writes, and their Confluent wire format:
 * magic byte 0, the schema id (big-endian u32), then the Avro binary body. Schemas live in
 * src/kafka/schemas/*.avsc, one file each, readable by Spark's from_avro; the build copies them
 * beside the compiled module (dist/src/kafka/schemas, scripts/build-assets.mjs), so they are read
 * from next to this file in both trees and never from the source tree of a built gateway.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { lineageOf } from '../sink/lineage.js';
import type { DeadLetter, ScoredEvent } from '../sink/events.js';

export const SCHEMA_DIR = fileURLToPath(new URL('./schemas', import.meta.url));

export function readSchema(name: 'transactions.scored' | 'transactions.dlq'): string {
  return readFileSync(join(SCHEMA_DIR, `${name}.avsc`), 'utf8');
}

export const scoredType = avro.Type.forSchema(JSON.parse(readSchema('transactions.scored')) as avro.Schema);
export const dlqType = avro.Type.forSchema(JSON.parse(readSchema('transactions.dlq')) as avro.Schema);

/** decimal(18, 2) as Avro bytes: the unscaled value, big-endian two's complement, minimal length. */
export function decimalBytes(amountText: string): Buffer {
  const unscaled = BigInt(amountText.replace('.', ''));
  let hex = unscaled.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = '00' + hex; // keep the sign bit clear: amounts are positive
  return Buffer.from(hex, 'hex');
}

/** The inverse of decimalBytes, as the canonical "123.45" text. */
export function decimalText(bytes: Buffer): string {
  if (bytes.length > 0 && bytes.length <= 6) {
    // Up to 48 bits is exact in a double: no BigInt per record on the windows feed's path.
    const v = bytes.readIntBE(0, bytes.length);
    const a = Math.abs(v);
    const c = a % 100;
    return `${v < 0 ? '-' : ''}${(a - c) / 100}.${c < 10 ? '0' : ''}${c}`;
  }
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length > 0 && bytes[0]! >= 0x80) v -= 1n << BigInt(bytes.length * 8);
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function wireHeader(schemaId: number): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt8(0, 0);
  h.writeUInt32BE(schemaId, 1);
  return h;
}

/** A scored event as the record of transactions.scored. */
export function scoredRecord(ev: ScoredEvent): Record<string, unknown> {
  const t = ev.transaction;
  return {
    transactionId: t.transactionId,
    userId: t.userId,
    amount: decimalBytes(t.amountText),
    currency: t.currency,
    timestamp: t.timestamp,
    metadata: { ...t.metadata },
    merchantId: t.merchantId,
    channel: t.channel,
    score: ev.score,
    riskCategory: ev.riskCategory,
    modelName: ev.model.name,
    modelVersion: ev.model.version,
    qualityScore: ev.quality.score,
    qualityFlags: [...ev.quality.flags],
    source: ev.source,
    receivedAt: ev.receivedAt,
    scoredAt: ev.scoredAt,
    challengerModelVersion: ev.challenger?.version ?? null,
    challengerScore: ev.challenger?.score ?? null,
    fallbackReason: ev.fallback,
    tookMs: ev.tookMs,
    requestFingerprint: ev.fingerprint,
    dataClassification:
      ev.classification === null
        ? null
        : {
            sensitivity: ev.classification.sensitivity,
            complianceTags: [...ev.classification.tags],
            fields: ev.classification.fields.map((f) => ({ path: f.path, kind: f.kind, sensitivity: f.sensitivity, complianceTags: [...f.tags], retention: f.retention, action: f.action })),
          },
    explanation:
      ev.explanation === undefined || ev.explanation === null
        ? null
        : { bias: ev.explanation.bias, margin: ev.explanation.margin, inAnswer: ev.explanationInAnswer === true, top: ev.explanation.top.map((c) => ({ ...c })) },
    lineage: lineageOf(ev).map((s) => ({ ...s, rulesApplied: [...s.rulesApplied], metrics: { ...s.metrics } })),
    sourceSystem: ev.lineage.sourceSystem,
    featureContract: ev.features.contract,
    features: ev.features.toRecord(),
  };
}

export function dlqRecord(dl: DeadLetter): Record<string, unknown> {
  return { code: dl.code, field: dl.field, message: dl.message, raw: dl.raw, source: dl.source, receivedAt: dl.receivedAt };
}

/** Confluent wire-format bytes: header + Avro body, in one buffer. */
export function encodeWire(type: avro.Type, schemaId: number, record: Record<string, unknown>): Buffer {
  const body = type.toBuffer(record);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(schemaId, 1);
  body.copy(out, 5);
  return out;
}

/** Splits Confluent wire format into schema id and body, or null if it is not that format. */
export function splitWire(buf: Buffer): { schemaId: number; body: Buffer } | null {
  if (buf.length < 5 || buf[0] !== 0) return null;
  return { schemaId: buf.readUInt32BE(1), body: buf.subarray(5) };
}
