/**
 * The memory bound holds for a real gateway process: with a scaled-down budget, a flood of new
 * users (each transaction a new userId and a new transactionId, through POST /v1/score/batch:
 * parse, checks, the engine's ingest, the seen ids and the remembered answers, the same path as
 * every request) keeps the resident set under the bound README documents for that
 * configuration, and the window metric under WINDOW_MAX_BYTES. The loop is bounded by count and
 * samples memory after every batch: nothing depends on timing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { hasHeapLimitFlag, memoryBudget, SUPERVISOR_RSS_BYTES } from './memory-budget.js';
import { startGateway, postJson, type RunningGateway } from '../../test/support/gateway.js';

const MiB = 1_048_576;
const ENV = {
  WINDOW_MAX_BYTES: String(32 * MiB),
  WINDOW_MAX_USERS: '200000',
  SEEN_IDS_MAX: '100000',
  IDEMPOTENCY_MAX_ANSWERS: '20000',
  SINK_FILE_MAX_BYTES: String(4 * MiB),
  BATCH_MAX_ITEMS: '1000',
  LOG_LEVEL: 'info',
};
const USERS = 150_000;
const BATCH = 1000;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no metric ${name}`);
  return Number(m[1]);
}

describe('memory budget', () => {
  it('derives the old-space limit from the budgets, and respects one given on the command line or in NODE_OPTIONS', () => {
    const b = memoryBudget(loadConfig({ ...ENV }));
    expect(b.windowsBytes).toBe(32 * MiB);
    expect(b.heapLimitMiB * MiB).toBeGreaterThan(b.windowsBytes + b.windowSlotsBytes + b.seenIdsBytes + b.answersBytes);
    expect(hasHeapLimitFlag(['--max-old-space-size=512'], undefined)).toBe(true);
    expect(hasHeapLimitFlag([], '--enable-source-maps --max_old_space_size=512')).toBe(true);
    expect(hasHeapLimitFlag(['--max-semi-space-size=16'], '--enable-source-maps')).toBe(false);
  });

  describe('a gateway flooded with new users', () => {
    let gw: RunningGateway;
    let pid: number;
    beforeAll(async () => {
      gw = await startGateway(ENV);
      const line = gw.logs.find((l) => l.includes('"msg":"memory budget"'));
      pid = Number(/"pid":(\d+)/.exec(line ?? '')?.[1]);
    });
    afterAll(async () => {
      expect(await gw.stop()).toBe(0);
    });

    it('stays under the documented RSS bound, and the windows under WINDOW_MAX_BYTES', async () => {
      const budget = memoryBudget(loadConfig({ ...ENV }));
      expect(pid).not.toBe(gw.proc.pid); // the gateway runs as the supervisor's child
      const line = gw.logs.find((l) => l.includes('"msg":"memory budget"'))!;
      // The child runs with the computed old-space limit (plus V8's young generation).
      expect(Number(/"oldSpaceLimitMiB":(\d+)/.exec(line)?.[1])).toBe(budget.heapLimitMiB);
      const bound = budget.rssBoundBytes + SUPERVISOR_RSS_BYTES;
      let maxRss = 0;
      let maxWindow = 0;
      const now = Date.now();
      for (let sent = 0; sent < USERS; sent += BATCH) {
        const batch = Array.from({ length: BATCH }, (_, i) => ({
          transactionId: `flood-tx-${now}-${sent + i}-0123456789abcdef`,
          userId: `flood-user-${now}-${sent + i}-0123456789`,
          amount: '42.10',
          currency: 'EUR',
          timestamp: now,
          merchantId: `merchant-${(sent + i) % 5000}`,
        }));
        const r = await postJson(`${gw.url}/v1/score/batch`, batch);
        expect(r.status).toBe(200);
        maxRss = Math.max(maxRss, rssOf(pid) + rssOf(gw.proc.pid!));
        maxWindow = Math.max(maxWindow, await metric(gw.url, 'scoregate_window_bytes'));
      }
      const users = await metric(gw.url, 'scoregate_window_users');
      const heapUsed = await metric(gw.url, 'scoregate_nodejs_heap_size_used_bytes');
      console.log(`flood: ${USERS} new users; windows kept ${users} users, window metric max ${(maxWindow / MiB).toFixed(1)} MiB; RSS max ${(maxRss / MiB).toFixed(0)} MiB (gateway + supervisor) against the bound ${(bound / MiB).toFixed(0)} MiB; heap used ${(heapUsed / MiB).toFixed(0)} MiB`);
      expect(users).toBeLessThan(USERS); // the byte budget evicted: the flood went past it
      expect(maxWindow).toBeLessThanOrEqual(32 * MiB);
      expect(maxRss).toBeLessThan(bound);
    }, 120_000);
  });
});
