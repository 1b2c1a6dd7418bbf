/**
 * The canonical fingerprint of a transaction, for telling a retry (same transaction, same id)
 * from a reused id (different transaction, same id). It is taken from the parsed transaction,
 * so what the parser normalises does not matter: field order, amount as a number or a string
 * ("42.1" = 42.10), timestamp as epoch ms or ISO-8601, metadata key order.
 *
 * SHA-256 over a length-delimited canonical string, truncated to 128 bits (base64url, 22
 * characters): collisions are out of reach, and the scored event can carry it without carrying
 * anything readable.
 */
import { hash } from 'node:crypto';
import type { Transaction } from '../quality/transaction.js';

function part(s: string | null): string {
  // Length-prefixed, so no value can forge a boundary; null differs from "".
  return s === null ? '-;' : `${s.length}:${s};`;
}

export function fingerprint(tx: Transaction): string {
  let text = part(tx.transactionId) + part(tx.userId) + part(tx.amountText) + part(tx.currency) + part(String(tx.timestamp)) + part(tx.merchantId) + part(tx.channel);
  const keys = Object.keys(tx.metadata);
  if (keys.length > 1) keys.sort();
  for (const k of keys) text += part(k) + part(tx.metadata[k]!);
  return hash('sha256', text, 'base64url').slice(0, 22);
}
