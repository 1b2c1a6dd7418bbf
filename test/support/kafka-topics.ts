/** Kafka topics in tests: fresh names for a gateway's topics, and reading what it wrote. */
import { randomUUID } from 'node:crypto';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka } from 'kafkajs';
import { vi } from 'vitest';

/** Fresh topic names (tagged, random per call) and the settings that point a gateway at them. */
export interface Topics extends Record<string, string> {
  TOPIC_TRANSACTIONS: string;
  TOPIC_USER_EVENTS: string;
  TOPIC_SCORED: string;
  TOPIC_DLQ: string;
  TOPIC_AUDIT: string;
  TOPIC_LABELS: string;
}

export function topicSet(tag: string): Topics {
  const run = `${tag}-${randomUUID().slice(0, 8)}`;
  return {
    TOPIC_TRANSACTIONS: `financial-transactions-${run}`,
    TOPIC_USER_EVENTS: `user-events-${run}`,
    TOPIC_SCORED: `transactions.scored-${run}`,
    TOPIC_DLQ: `transactions.dlq-${run}`,
    TOPIC_AUDIT: `audit-logs-${run}`,
    TOPIC_LABELS: `fraud-labels-${run}`,
  };
}

/**
 * Every record of `topic` from the beginning, decoded, once `done` says so (or at the timeout,
 * with what was read), then `settleMs` more so late duplicates show too.
 */
export async function readTopic(
  kafka: Kafka,
  registryUrl: string,
  topic: string,
  done: (rows: Record<string, unknown>[]) => boolean,
  opts: { timeoutMs?: number; settleMs?: number } = {},
): Promise<Record<string, unknown>[]> {
  const registry = new SchemaRegistry({ host: registryUrl });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const rows: Record<string, unknown>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void rows.push((await registry.decode(message.value!)) as Record<string, unknown>) });
    await vi.waitFor(() => {
      if (!done(rows)) throw new Error(`${rows.length} records of ${topic} so far`);
    }, { timeout: opts.timeoutMs ?? 90_000, interval: 250 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 1000));
  } finally {
    await consumer.disconnect();
  }
  return rows;
}
