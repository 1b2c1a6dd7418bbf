/**
 * Webhook signatures, verified against the raw body bytes with constant-time compares.
 *   MLflow:     X-MLflow-Signature: v1,<base64 HMAC-SHA256(secret, "<delivery id>.<timestamp>.<raw body>")>
 *   Databricks: X-Databricks-Signature: <hex HMAC-SHA256(secret, raw body)>
 * Replays are refused by age (the signed timestamp) and by delivery id (remembered).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Equal-length constant-time compare of two strings' bytes; different lengths are simply unequal. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function mlflowSignature(secret: string, deliveryId: string, timestamp: string, body: Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${deliveryId}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

export function databricksSignature(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** True when the signature header carries a v1 signature equal to ours (headers may list several, space-separated). */
export function verifyMlflow(secret: string, header: string, deliveryId: string, timestamp: string, body: Buffer): boolean {
  if (secret === '' || header === '' || deliveryId === '' || timestamp === '') return false;
  const want = mlflowSignature(secret, deliveryId, timestamp, body);
  let ok = false;
  for (const candidate of header.split(' ')) ok = safeEqual(candidate.trim(), want) || ok; // no early exit
  return ok;
}

export function verifyDatabricks(secret: string, header: string, body: Buffer): boolean {
  if (secret === '' || header === '') return false;
  return safeEqual(header.trim().toLowerCase(), databricksSignature(secret, body));
}

/** Seconds or milliseconds since the epoch, as senders differ; NaN when unusable. */
export function timestampMs(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n)) return Number.NaN;
  return n < 1e12 ? n * 1000 : n;
}

/** Delivery ids already handled, bounded (oldest forgotten first). */
export class DeliveryLog {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 10_000) {}

  delete(id: string): void {
    this.ids.delete(id);
  }

  /** Records the id; false if it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}
