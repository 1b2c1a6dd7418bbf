/**
 * The monitoring files against real things. promtool checks the alert rules and runs their unit
 * tests (every alert firing and not firing); then a real Prometheus (Debian's binary) scrapes a
 * real gateway every second while it takes a few hundred requests, good and bad, over HTTP and
 * WebSocket, loads alerts.yml, and answers every dashboard query and every alert's signal with
 * series — or the query is in ALLOWLIST with the reason it has none here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { ROOT, postJson, startGateway, validTx, type RunningGateway } from '../test/support/gateway.js';
import { openClient } from '../test/support/ws.js';

const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
const ALERT_TESTS = join(ROOT, 'deploy/prometheus/alerts.test.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/scoregate.json');
const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
const PROMTOOL = process.env['PROMTOOL_BIN'] ?? 'promtool';

const NEEDS_KAFKA = 'exported only with KAFKA_BROKERS set, once the feed has read a batch (labelled by topic); the feed itself is proved against a real broker in src/kafka/backbone.test.ts, too costly to start here as well';
const NEEDS_CHALLENGER = 'exported only while an MLflow challenger alias serves (labelled by its version); proved in src/models/manager.test.ts';
/** Queries that have no series against a gateway without Kafka or a challenger, and why. */
const ALLOWLIST: Record<string, string> = {
  'panel "Kafka consumer lag by topic" A': NEEDS_KAFKA,
  'panel "Kafka consumed / s by topic and outcome" A': NEEDS_KAFKA,
  'panel "Challenger risk-category disagreement" A': NEEDS_CHALLENGER,
  'panel "Challenger |score − champion score|" A': NEEDS_CHALLENGER,
  'panel "Challenger |score − champion score|" B': NEEDS_CHALLENGER,
  'alert ScoregateKafkaConsumerLagHigh': NEEDS_KAFKA,
};

// ---- the files --------------------------------------------------------------------------

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}
interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos: { h: number; w: number; x: number; y: number };
}

const rules = (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};

/** `<signal> <comparison> <number>`: the shape alerts.yml promises (see its header). */
const ALERT_SHAPE = /^([\s\S]*\S)\s*(==|!=|>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/;

/** One query to run against Prometheus: what it is (the allowlist key) and its PromQL. */
interface Query {
  key: string;
  promql: string;
}

function alertQueries(): Query[] {
  return rules.map((r) => {
    const m = ALERT_SHAPE.exec(r.expr.trim());
    if (m === null) throw new Error(`alert ${r.alert}: expr is not "<signal> <comparison> <number>": ${r.expr}`);
    // `bool` keeps every series of the signal (0 or 1) instead of only those past the threshold.
    return { key: `alert ${r.alert}`, promql: `(${m[1]}) ${m[2]} bool ${m[3]}` };
  });
}

/** Grafana's variables as the dashboard's "All" selection and a short range resolve them. */
function resolveVariables(expr: string): string {
  const out = expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m').replaceAll('$job', '.*').replaceAll('$instance', '.*');
  if (out.includes('$')) throw new Error(`unresolved variable in ${expr}`);
  return out;
}

function panelQueries(): Query[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ key: `panel "${p.title}" ${t.refId}`, promql: resolveVariables(t.expr) })));
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) throw new Error(`${cmd} could not run (${r.error.message}): install Debian's prometheus package, as .ci/run does, or set ${cmd === PROMTOOL ? 'PROMTOOL_BIN' : 'PROMETHEUS_BIN'}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const r = run(PROMTOOL, ['check', 'rules', ALERTS]);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const r = run(PROMTOOL, ['test', 'rules', ALERT_TESTS]);
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('each alert is unit-tested firing and not firing, and says what to do', () => {
    const tests = (parse(readFileSync(ALERT_TESTS, 'utf8')) as { tests: RuleTest[] }).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules) {
      const mine = tests.filter((t) => t.alertname === r.alert);
      expect(mine.some((t) => (t.exp_alerts ?? []).length > 0), `${r.alert} fires in some test`).toBe(true);
      expect(mine.some((t) => (t.exp_alerts ?? []).length === 0), `${r.alert} stays quiet in some test`).toBe(true);
      expect(['critical', 'warning']).toContain(r.labels?.['severity']);
      for (const a of ['summary', 'description', 'runbook']) expect(r.annotations?.[a]?.length ?? 0, `${r.alert} ${a}`).toBeGreaterThan(20);
      expect(ALERT_SHAPE.test(r.expr.trim()), `${r.alert} expr shape`).toBe(true);
    }
  });
});

describe('Grafana dashboard', () => {
  it('takes its Prometheus as a variable and has a query in every panel', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      expect(ids.has(p.id), `panel id ${p.id} unique`).toBe(false);
      ids.add(p.id);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row' || p.type === 'text') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length ?? 0, `${p.title} has a query`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource.uid).toBe('${datasource}');
    }
  });
});

// ---- a real Prometheus scraping a real gateway --------------------------------------------

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface PromAnswer<T> {
  status: string;
  data: T;
  error?: string;
}

describe('against a real Prometheus scraping a real gateway', () => {
  let gw: RunningGateway;
  let prom: ChildProcess | null = null;
  let promUrl = '';
  let promDir = '';
  const promLog: string[] = [];

  async function api<T>(path: string, form?: Record<string, string>): Promise<PromAnswer<T>> {
    const r = await fetch(promUrl + path, form === undefined ? {} : { method: 'POST', body: new URLSearchParams(form) });
    return (await r.json()) as PromAnswer<T>;
  }

  async function query(promql: string): Promise<PromAnswer<{ resultType: string; result: unknown[] }>> {
    return api('/api/v1/query', { query: promql });
  }

  beforeAll(async () => {
    // A small WebSocket payload limit so that one oversized frame is closed (ws_closed_total).
    gw = await startGateway({ WS_MAX_PAYLOAD_BYTES: '1024' });
    promDir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        `rule_files: [${JSON.stringify(ALERTS)}]`,
        'scrape_configs:',
        '  - job_name: scoregate',
        `    static_configs: [{targets: ["127.0.0.1:${gw.port}"]}]`,
        '',
      ].join('\n'),
    );
    // The port is free when chosen and taken by Prometheus a moment later; retry if another
    // process took it in between.
    for (let attempt = 1; prom === null; attempt++) {
      const port = await freePort();
      const p = spawn(PROMETHEUS, [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let exited = false;
      p.once('exit', () => (exited = true));
      p.once('error', (e) => promLog.push(`spawn ${PROMETHEUS}: ${e.message} (install Debian's prometheus package, as .ci/run does, or set PROMETHEUS_BIN)`));
      p.stdout!.on('data', (d: Buffer) => promLog.push(d.toString()));
      p.stderr!.on('data', (d: Buffer) => promLog.push(d.toString()));
      promUrl = `http://127.0.0.1:${port}`;
      try {
        await vi.waitFor(
          async () => {
            if (exited) return;
            const r = await fetch(`${promUrl}/-/ready`);
            if (r.status !== 200) throw new Error(`prometheus /-/ready ${r.status}`);
          },
          { timeout: 60_000, interval: 200 },
        );
      } catch (err) {
        p.kill('SIGKILL');
        throw new Error(`prometheus not ready: ${String(err)}\n${promLog.join('')}`);
      }
      if (!exited) prom = p;
      else if (attempt >= 3) throw new Error(`prometheus exited at start:\n${promLog.join('')}`);
    }
  }, 120_000);

  afterAll(async () => {
    if (prom !== null) {
      const p = prom;
      const exit = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exit;
    }
    if (promDir !== '') rmSync(promDir, { recursive: true, force: true });
    await gw?.stop();
  }, 60_000);

  it('loads alerts.yml without errors and evaluates every rule', async () => {
    await vi.waitFor(
      async () => {
        const r = await api<{ groups: { file: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
        const loaded = r.data.groups.filter((g) => g.file === ALERTS).flatMap((g) => g.rules);
        expect(loaded.map((x) => x.name).sort()).toEqual(rules.map((x) => x.alert).sort());
        for (const x of loaded) expect(`${x.name}: ${x.health} ${x.lastError ?? ''}`.trim()).toBe(`${x.name}: ok`);
      },
      { timeout: 30_000, interval: 500 },
    );
  });

  it('answers every dashboard query and every alert signal with series after load', async () => {
    // ~300 requests over ~10 s: valid singles and batches, retries (idempotent replays), bad
    // transactions (dead letters), wrong routes and media types, WebSocket messages, and one
    // WebSocket frame over the payload limit.
    const ws = await openClient(gw.port);
    let wsSent = 0;
    const statuses = new Map<number, number>();
    const count = (s: number): void => void statuses.set(s, (statuses.get(s) ?? 0) + 1);
    for (let round = 0; round < 25; round++) {
      const user = `mon-user-${round % 7}`;
      const first = validTx({ userId: user, amount: `${10 + round}.50` });
      const sends: Promise<void>[] = [
        ...Array.from({ length: 5 }, () => postJson(`${gw.url}/v1/score`, validTx({ userId: user })).then((r) => count(r.status))),
        postJson(`${gw.url}/v1/score`, first).then(async (r) => {
          count(r.status);
          count((await postJson(`${gw.url}/v1/score`, first)).status); // a retry: replayed
        }),
        postJson(`${gw.url}/v1/score/batch`, [validTx({ userId: user }), validTx({ userId: user, amount: '-1' }), validTx({ userId: user })]).then((r) => count(r.status)),
        postJson(`${gw.url}/v1/score`, validTx({ currency: 'XXX' })).then((r) => count(r.status)),
        postJson(`${gw.url}/v1/score`, '{"transactionId": "broken",').then((r) => count(r.status)),
        postJson(`${gw.url}/v1/score`, { userId: user, amount: '1.00', currency: 'EUR', timestamp: Date.now() }).then((r) => count(r.status)),
        fetch(`${gw.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }).then(async (r) => {
          count(r.status);
          await r.text();
        }),
        fetch(`${gw.url}/v1/nowhere`).then(async (r) => {
          await r.text();
        }),
      ];
      await Promise.all(sends);
      ws.ws.send(JSON.stringify([{ id: wsSent++, transaction: validTx({ userId: user }) }, { id: wsSent++, transaction: validTx({ userId: user, amount: 0 }) }]));
      await new Promise((r) => setTimeout(r, 400));
    }
    await ws.waitFor(wsSent);
    const big = await openClient(gw.port);
    big.ws.send(JSON.stringify({ id: 'big', transaction: validTx({ metadata: { note: 'x'.repeat(2048) } }) }));
    await vi.waitFor(() => expect(big.closed?.code).toBe(1009), { timeout: 10_000 });
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(statuses.get(400)).toBeGreaterThan(0);

    const queries = [...panelQueries(), ...alertQueries()];
    for (const key of Object.keys(ALLOWLIST)) expect(queries.map((q) => q.key), `allowlisted ${key} exists`).toContain(key);
    // Prometheus scrapes every second; wait until what the load made is there, not a fixed time.
    const outcome = new Map<string, string>();
    await vi.waitFor(
      async () => {
        for (const q of queries) {
          if (outcome.get(q.key) === 'data') continue;
          const r = await query(q.promql);
          if (r.status !== 'success') outcome.set(q.key, `error: ${r.error ?? ''}`);
          else outcome.set(q.key, r.data.result.length > 0 ? 'data' : 'empty');
        }
        const missing = queries.filter((q) => outcome.get(q.key) !== 'data' && !(q.key in ALLOWLIST));
        if (missing.length > 0) throw new Error(`no series yet: ${missing.map((q) => q.key).join(', ')}`);
      },
      { timeout: 60_000, interval: 1000 },
    );
    ws.ws.close();
    const report = queries.map((q) => `${q.key}: ${outcome.get(q.key)}`);
    for (const q of queries) {
      const got = outcome.get(q.key)!;
      expect(got.startsWith('error'), `${q.key} runs (${got}): ${q.promql}`).toBe(false);
      // An allowlisted query that has data is a stale entry: the allowlist must stay honest.
      expect(got, `${q.key}: ${q.key in ALLOWLIST ? 'allowlisted but has data' : 'has no series'}\n${report.join('\n')}`).toBe(q.key in ALLOWLIST ? 'empty' : 'data');
    }
  }, 180_000);
});
