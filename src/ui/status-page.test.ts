/**
 * The status page in a real browser (Debian's chromium, driven by playwright-core) against the
 * real gateway process: it loads with no console errors and nothing fetched from outside the
 * gateway, and under load its numbers follow the gateway's own (/v1/status, /v1/models).
 * Timings never decide: every check waits for its condition, with generous bounds.
 *
 * UPDATE_SCREENSHOT=1 rewrites docs/status-page.png from this run; otherwise the screenshot goes
 * to a temporary folder, so CI never changes tracked files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, postJson, startGateway, type RunningGateway } from '../../test/support/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 30_000, polling: 100 } as const;

let gw: RunningGateway;
let profile: string;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
const foreign: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  gw = await startGateway();
  profile = mkdtempSync(join(tmpdir(), 'scoregate-chromium-'));
  // launchPersistentContext is how playwright passes --user-data-dir: a new empty profile.
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1360, height: 800 }, timeout: 60_000 });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(gw.url + '/')) foreign.push(r.url());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
});

afterAll(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  expect(await gw?.stop()).toBe(0);
});

const textOf = (id: string): Promise<string> => page.locator(`#${id}`).innerText();
const numberOf = async (id: string): Promise<number> => Number((await textOf(id)).replace(/[^0-9.]/g, ''));
const polls = (): Promise<number> => page.evaluate(() => Number(document.body.dataset['polls'] ?? 0));

/** A run of transactions for one user, amounts climbing fast: the model scores most HIGH. */
function burst(prefix: string, n: number): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({ transactionId: `${prefix}-${i}`, userId: prefix, amount: `${50 + i * 300}.00`, currency: 'USD', timestamp: now + i, merchantId: `${prefix}-m${i}` }));
}

/** Ordinary traffic, some of it flagged (stale timestamps) and some refused (bad amounts). */
function ordinary(prefix: string, n: number): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    transactionId: `${prefix}-${i}`,
    userId: `${prefix}-u${i % 40}`,
    amount: i % 50 === 7 ? '-5.00' : `${(20 + ((i * 37) % 90)).toFixed(2)}`,
    currency: 'EUR',
    timestamp: i % 25 === 3 ? now - 2 * 86_400_000 : now - (n - i),
    merchantId: `m-${i % 7}`,
    channel: 'web',
  }));
}

/** Sends each list in order, `lanes` lists at a time; returns the statuses. */
async function send(lists: Record<string, unknown>[][], lanes: number): Promise<number[]> {
  const statuses: number[] = [];
  const queue = [...lists];
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let list = queue.shift(); list !== undefined; list = queue.shift()) {
        for (const tx of list) statuses.push((await postJson(`${gw.url}/v1/score`, tx)).status);
      }
    }),
  );
  return statuses;
}

describe('GET /ui', () => {
  it('loads with no console errors, fetches only from the gateway, and names the model /v1/models names', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.waitForFunction(() => Number(document.body.dataset['polls'] ?? 0) >= 2, undefined, WAIT);
    expect(await textOf('ready')).toBe('ready');
    const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as { active: { name: string; version: string } };
    expect(await textOf('model-name')).toBe(models.active.name);
    expect(await textOf('model-version')).toBe(models.active.version);
    expect(await textOf('model-serving')).toBe(`${models.active.name} ${models.active.version}`);
    expect(await page.locator('#model-history tbody tr').count()).toBeGreaterThanOrEqual(1);
    expect(await textOf('kafka')).toContain('not configured');
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('follows load: throughput above zero, the scored count rising to the gateway’s, risk categories, quality failures, rejections', async () => {
    const before = await numberOf('scored');
    const tag = `ui-${process.pid}-${Date.now().toString(36)}`;
    const lists = [...Array.from({ length: 6 }, (_, k) => burst(`${tag}-burst${k}`, 15)), ...Array.from({ length: 4 }, (_, k) => ordinary(`${tag}-ord${k}`, 75))];
    const statuses = await send(lists, 6);
    expect(statuses.length).toBe(390);
    const ok = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 400).length;
    expect(ok + refused).toBe(statuses.length);
    expect(refused).toBeGreaterThan(0);

    // The page catches up with what was sent: the count, then the rest drawn from the same poll.
    await page.waitForFunction((n) => Number(document.getElementById('scored')!.textContent!.replace(/[^0-9]/g, '')) === n, before + ok, WAIT);
    const status = (await (await fetch(`${gw.url}/v1/status`)).json()) as { transactions: Record<string, number>; risk: Record<string, number>; quality: Record<string, { fail: number }> };
    expect(status.transactions['scored']).toBe(before + ok);

    expect(await numberOf('throughput-peak')).toBeGreaterThan(0);
    expect(await page.locator('#chart-throughput path.line').count()).toBe(1);
    expect(await page.locator('#chart-latency path.line').count()).toBeGreaterThanOrEqual(1);

    const risk: Record<string, number> = {};
    for (const c of ['LOW', 'MEDIUM', 'HIGH']) risk[c] = Number((await textOf(`risk-${c}`)).split('·')[0]!.replace(/[^0-9]/g, ''));
    expect(risk['LOW']! + risk['MEDIUM']! + risk['HIGH']!).toBe(before + ok);
    expect(risk['LOW']).toBeGreaterThan(0);
    expect(risk['HIGH']).toBeGreaterThan(0);
    expect(risk).toEqual({ LOW: status.risk['LOW'] ?? 0, MEDIUM: status.risk['MEDIUM'] ?? 0, HIGH: status.risk['HIGH'] ?? 0 });

    const validityRow = page.locator('#quality tbody tr', { hasText: 'validity' });
    expect(Number((await validityRow.locator('td').nth(2).innerText()).replace(/[^0-9]/g, ''))).toBe(status.quality['validity']!.fail);
    expect(status.quality['validity']!.fail).toBeGreaterThan(refused); // the stale timestamps, flagged
    await expect.poll(() => page.locator('#outcomes tbody tr', { hasText: 'INVALID_AMOUNT' }).innerText(), { timeout: 30_000 }).toContain(String(refused));

    const bars = page.locator('#chart-scores rect');
    expect(await bars.count()).toBe(20);
    expect(await page.locator('#chart-scores rect.bin-high').count()).toBe(4);

    // Throughput shown as a live figure too: more load until a poll sees it (bounded).
    for (let round = 0; round < 20 && (await numberOf('throughput')) === 0; round++) {
      const seen = await polls();
      const trickle = send([ordinary(`${tag}-more${round}`, 30)], 1);
      await page.waitForFunction((n) => Number(document.body.dataset['polls'] ?? 0) > n, seen, WAIT);
      await trickle;
    }
    expect(await numberOf('throughput')).toBeGreaterThan(0);

    const update = process.env['UPDATE_SCREENSHOT'] === '1';
    // For the committed picture only: a minute of uneven traffic, so the charts have a history.
    for (let round = 0; update && round < 60; round++) {
      const seen = await polls();
      const trickle = send([ordinary(`${tag}-doc${round}`, 20 + Math.round(15 * Math.sin(round / 6)))], 1);
      if (round % 9 === 4) await send([burst(`${tag}-docburst${round}`, 8)], 1);
      await page.waitForFunction((n) => Number(document.body.dataset['polls'] ?? 0) > n, seen, WAIT);
      await trickle;
    }
    const shot = update ? join(ROOT, 'docs/status-page.png') : join(mkdtempSync(join(tmpdir(), 'scoregate-shot-')), 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  }, 240_000);

  it('serves its files from memory with their content types and caching', async () => {
    const html = await fetch(`${gw.url}/ui`);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    const body = await html.text();
    const again = await fetch(`${gw.url}/ui/`, { headers: { 'if-none-match': html.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const script = /src="(\/ui\/status\.js\?v=[0-9a-f]{16})"/.exec(body);
    expect(script).not.toBeNull();
    const js = await fetch(gw.url + script![1]!);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toMatch(/from '\.\/stats\.js\?v=[0-9a-f]{16}'/);
    expect((await fetch(`${gw.url}/ui/status.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${gw.url}/ui/favicon.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    const missing = await fetch(`${gw.url}/ui/routes.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${gw.url}/ui`, { method: 'POST' })).status).toBe(405);
    const status = await fetch(`${gw.url}/v1/status`);
    expect(status.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${gw.url}/v1/status`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('GET /v1/status with AUTH_METRICS=protected', () => {
  it('asks for the metrics role as /metrics does, and the page sends the token given in its address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregate-ui-auth-'));
    const keysFile = join(dir, 'keys.json');
    const made = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'keys', 'create', '--role', 'metrics', '--name', 'dashboard'], { env: { ...process.env, AUTH_KEYS_FILE: keysFile }, encoding: 'utf8', timeout: 30_000 });
    expect(made.status, made.stderr).toBe(0);
    const key = made.stdout.trim();
    const locked = await startGateway({ AUTH_KEYS_FILE: keysFile, AUTH_METRICS: 'protected' });
    const tab = await context.newPage();
    try {
      expect((await fetch(`${locked.url}/v1/status`)).status).toBe(401);
      expect((await fetch(`${locked.url}/v1/status`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      expect((await fetch(`${locked.url}/ui`)).status).toBe(200); // the page itself holds no figures

      await tab.goto(`${locked.url}/ui`);
      await tab.waitForFunction(() => document.getElementById('ready')!.textContent!.includes('metrics role'), undefined, WAIT);
      await tab.goto('about:blank'); // a fragment-only change would not load the page again
      await tab.goto(`${locked.url}/ui#token=${encodeURIComponent(key)}`);
      await tab.waitForFunction(() => Number(document.body.dataset['polls'] ?? 0) >= 1, undefined, WAIT);
      expect(await tab.locator('#ready').innerText()).toBe('ready');
      expect(new URL(tab.url()).hash).toBe(''); // the token left the address bar
    } finally {
      await tab.close();
      expect(await locked.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
