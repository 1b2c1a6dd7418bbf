/**
 * What user-affine shards cost on one machine (issue 12, "Benchmarks"): the forward hop's added
 * latency, and throughput of 1, 2 and 3 gateway instances (CLUSTER_SHARDS=true, one consumer
 * group, a 12-partition transactions topic) on a single-node Kafka and Apicurio on loopback.
 *
 * - Hop: with two instances, one client posts one request at a time to instance A, alternating
 *   users A owns (scored there) and users B owns (A forwards them to B over its kept-alive pool);
 *   p50/p99 of each, and the difference: what the hop adds at no load.
 * - Throughput: --connections closed-loop clients for --seconds (after a warm-up) spread over the
 *   instances round-robin, each request a new transaction of one of 10k users: what clients
 *   that call any instance get (with n instances, (n-1)/n of requests are forwarded); and with 2
 *   and 3 instances the same load sent straight to each user's owner (a client that follows the
 *   routing hint), which has no hop.
 * Owners come from the group itself (DescribeGroups: each member's advertised address in its
 * subscription userData, read by shards.ts' own memberData, its partitions in its assignment) and Kafka's murmur2 partitioner,
 * as the instances compute them (src/cluster/shards.ts, partition.ts).
 *
 * The load generator runs in this process on the same 2 cores as the instances and Kafka: on
 * this machine more instances cannot add throughput, they share the same two cores (the run
 * shows the design's cost, not a scale-out).
 *
 *   npm run build && node dist/loadtest/cluster.js            # writes loadtest/results/cluster.md
 *   node dist/loadtest/cluster.js --quick                      # short, prints only
 *   options: --seconds N --connections N --instances 1,2,3 --out FILE
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'undici';
import { REPO_ROOT } from '../src/core/config.js';
import { partitionOf } from '../src/cluster/partition.js';
import { memberData } from '../src/cluster/shards.js';
import { benchServices, machine } from '../test/support/bench-services.js';
import { startGateway, validTx, type RunningGateway } from '../test/support/gateway.js';
import { percentiles } from './stats.js';

const { AssignerProtocol } = kafkajs;
const argv = process.argv;
const quick = argv.includes('--quick');
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : argv[i + 1]!;
};
const SECONDS = Number(opt('seconds', quick ? '3' : '15'));
const WARMUP_S = quick ? 1 : 3;
const CONNECTIONS = Number(opt('connections', '32'));
const INSTANCES = opt('instances', '1,2,3').split(',').map(Number);
const HOP_REQUESTS = quick ? 200 : 2000;
const OUT = argv.includes('--out') ? opt('out', '') : quick ? null : join(REPO_ROOT, 'loadtest/results/cluster.md');
const PARTITIONS = 12;
const USERS = 10_000;

/** Instances started and not stopped yet: killed if this process ends early. */
const live: RunningGateway[][] = [];
process.once('exit', () => {
  for (const g of live.flat()) if (!g.exited()) g.proc.kill('SIGKILL');
});

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');

interface Group {
  gws: RunningGateway[];
  groupId: string;
  topic: string;
  stop(): Promise<void>;
}

/** partition → owner URL, from the group's members as the instances read it. */
async function owners(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Bounded: kafkajs retries a group without a coordinator for minutes.
    const d = await Promise.race([admin.describeGroups([groupId]), new Promise<never>((_, rej) => setTimeout(rej, 5000, new Error('DescribeGroups took over 5 s')))]);
    const g = d.groups[0];
    const out = new Map<number, string>();
    for (const m of g?.members ?? []) {
      const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
      const asg = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      if (meta === null || asg === null) continue;
      for (const p of asg.assignment[topic] ?? []) out.set(p, memberData(meta.userData).url);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** n instances in one group, ready, every partition owned by one of them; or why not. */
async function startGroup(kafka: Kafka, brokers: string, registryUrl: string, n: number): Promise<Group | string> {
  const run = randomUUID().slice(0, 8);
  const topic = `financial-transactions-${run}`;
  const groupId = `cluster-bench-${run}`;
  const env = (): Record<string, string> => ({
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registryUrl,
    KAFKA_GROUP_ID: groupId,
    CLUSTER_SHARDS: 'true',
    TOPIC_TRANSACTIONS: topic,
    TOPIC_USER_EVENTS: `user-events-${run}`,
    TOPIC_SCORED: `transactions.scored-${run}`,
    TOPIC_DLQ: `transactions.dlq-${run}`,
    TOPIC_AUDIT: `audit-logs-${run}`,
    TOPIC_LABELS: `fraud-labels-${run}`,
    TOPIC_TRANSACTIONS_PARTITIONS: String(PARTITIONS),
    TOPIC_USER_EVENTS_PARTITIONS: String(PARTITIONS),
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-cluster-bench-')),
  });
  const gws: RunningGateway[] = [];
  live.push(gws);
  const stop = async (): Promise<void> => {
    await Promise.all(gws.map((g) => g.stop().catch(() => undefined)));
  };
  try {
    // The first creates the topics; the others join its group.
    gws.push(await startGateway(env()));
    gws.push(...(await Promise.all(Array.from({ length: n - 1 }, () => startGateway(env())))));
    const urls = new Set(gws.map((g) => g.url));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const o = await owners(kafka, groupId, topic).catch(() => new Map<number, string>());
      const by = new Set(o.values());
      if (o.size === PARTITIONS && by.size === n && [...by].every((u) => urls.has(u))) break;
      if (gws.some((g) => g.exited())) throw new Error('an instance exited');
      if (Date.now() > deadline) throw new Error(`ownership not settled: ${o.size} partitions owned by ${[...by].join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Every instance reads the owner map itself every few seconds: let it catch up.
    await new Promise((r) => setTimeout(r, 4000));
    return { gws, groupId, topic, stop };
  } catch (err) {
    const logs = gws.flatMap((g) => g.logs.slice(-5)).join('\n');
    await stop();
    return `${String(err).split('\n').slice(0, 3).join(' ')}${logs === '' ? '' : `\n\nlast log lines:\n\n\`\`\`\n${logs}\n\`\`\``}`;
  }
}

async function post(pool: Pool, body: string): Promise<number> {
  const r = await pool.request({ path: '/v1/score', method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await r.body.dump();
  return r.statusCode;
}

const userId = (i: number): string => `cluster-bench-user-${i}`;

interface Hop {
  local: ReturnType<typeof percentiles>;
  forwarded: ReturnType<typeof percentiles>;
  failed: number;
}

/** One request at a time to instance A, alternating a user it owns and one B owns. */
async function hop(g: Group, kafka: Kafka): Promise<Hop> {
  const o = await owners(kafka, g.groupId, g.topic);
  const a = g.gws[0]!;
  const mine: string[] = [];
  const theirs: string[] = [];
  for (let i = 0; mine.length < 100 || theirs.length < 100; i++) {
    const u = userId(i);
    (o.get(partitionOf(u, PARTITIONS)) === a.url ? mine : theirs).push(u);
  }
  const pool = new Pool(a.url, { connections: 1 });
  const lat = { local: new Float64Array(HOP_REQUESTS), forwarded: new Float64Array(HOP_REQUESTS) };
  let failed = 0;
  for (let i = -100; i < 2 * HOP_REQUESTS; i++) {
    const local = (i & 1) === 0;
    const users = local ? mine : theirs;
    const body = JSON.stringify(validTx({ userId: users[(i + 100) % users.length], transactionId: `hop-${randomUUID()}` }));
    const t0 = performance.now();
    const status = await post(pool, body);
    const ms = performance.now() - t0;
    if (status !== 200) failed++;
    if (i >= 0) (local ? lat.local : lat.forwarded)[i >> 1] = ms;
  }
  await pool.close();
  return { local: percentiles(lat.local), forwarded: percentiles(lat.forwarded), failed };
}

interface Load {
  ok: number;
  other: Map<number, number>;
  rps: number;
  lat: ReturnType<typeof percentiles>;
}

/** CONNECTIONS closed loops for SECONDS after a warm-up; `to(user)` picks the instance. */
async function load(g: Group, to: (user: number, seq: number) => number): Promise<Load> {
  const pools = g.gws.map((gw) => new Pool(gw.url, { connections: CONNECTIONS }));
  const lat: number[] = [];
  const other = new Map<number, number>();
  let ok = 0;
  let seq = 0;
  let measuring = false;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      const n = seq++;
      const u = Math.floor(Math.random() * USERS);
      const body = JSON.stringify(validTx({ userId: userId(u), transactionId: `load-${randomUUID()}` }));
      const t0 = performance.now();
      const status = await post(pools[to(u, n)]!, body).catch(() => 0);
      if (!measuring) continue;
      if (status === 200) {
        ok++;
        lat.push(performance.now() - t0);
      } else other.set(status, (other.get(status) ?? 0) + 1);
    }
  };
  const loops = Array.from({ length: CONNECTIONS }, loop);
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const s = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  await Promise.all(pools.map((p) => p.close()));
  return { ok, other, rps: ok / s, lat: percentiles(Float64Array.from(lat)) };
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const started = new Date();
  const wall0 = performance.now();
  const svc = await benchServices('loadtest-cluster');
  const kafka = new Kafka({ clientId: 'cluster-bench', brokers: svc.brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const rows: string[] = [];
  const failures: string[] = [];
  let hopResult: Hop | null = null;
  try {
    for (const n of INSTANCES) {
      // A group whose instances did not all start (or never settled ownership) is stopped and
      // started again, new topics and group, up to three times; each failure is reported.
      let g: Group | string = '';
      for (let attempt = 1; attempt <= 3; attempt++) {
        console.error(`${n} instance(s): starting (attempt ${attempt})`);
        g = await startGroup(kafka, svc.brokers, svc.registryUrl, n);
        if (typeof g !== 'string') break;
        failures.push(`- ${n} instance(s) with CLUSTER_SHARDS=true, attempt ${attempt}: ${g}`);
        console.error(failures.at(-1));
      }
      if (typeof g === 'string') continue;
      try {
        if (n === 2 && hopResult === null) {
          hopResult = await hop(g, kafka);
          console.error(`hop: local p50 ${fmt(hopResult.local.p50, 2)} ms, forwarded p50 ${fmt(hopResult.forwarded.p50, 2)} ms`);
        }
        const any = await load(g, (_u, seq) => seq % n);
        const row = (how: string, l: Load): string =>
          `| ${n} | ${how} | ${fmt(l.rps)} | ${fmt(l.lat.p50, 2)} | ${fmt(l.lat.p99, 2)} | ${l.other.size === 0 ? '0' : [...l.other].map(([s, c]) => `${c} × ${s === 0 ? 'no answer' : s}`).join(', ')} |`;
        rows.push(row(n === 1 ? 'the one instance' : 'any instance (round-robin)', any));
        console.error(rows.at(-1));
        if (n > 1) {
          const o = await owners(kafka, g.groupId, g.topic);
          const index = new Map(g.gws.map((gw, i) => [gw.url, i]));
          const owner = Array.from({ length: USERS }, (_, u) => index.get(o.get(partitionOf(userId(u), PARTITIONS)) ?? '') ?? 0);
          rows.push(row('to the owner (client follows the hint)', await load(g, (u) => owner[u]!)));
          console.error(rows.at(-1));
        }
      } finally {
        await g.stop();
      }
    }
  } finally {
    await svc.stop();
  }
  const load1 = loadavg();
  const total = (performance.now() - wall0) / 1000;
  const h = hopResult;
  const hopTable =
    h === null
      ? 'Not measured (two instances did not start; see below).'
      : [
          `One client, one request at a time to instance A, ${fmt(HOP_REQUESTS)} requests of each kind alternating (after 100 of warm-up); ${h.failed} not answered 200.`,
          '',
          '| request to A for a user owned by | p50 ms | p90 ms | p99 ms | max ms |',
          '|---|---:|---:|---:|---:|',
          `| A (scored locally) | ${fmt(h.local.p50, 2)} | ${fmt(h.local.p90, 2)} | ${fmt(h.local.p99, 2)} | ${fmt(h.local.max, 2)} |`,
          `| B (forwarded A → B) | ${fmt(h.forwarded.p50, 2)} | ${fmt(h.forwarded.p90, 2)} | ${fmt(h.forwarded.p99, 2)} | ${fmt(h.forwarded.max, 2)} |`,
          `| the hop adds | ${fmt(h.forwarded.p50 - h.local.p50, 2)} | ${fmt(h.forwarded.p90 - h.local.p90, 2)} | ${fmt(h.forwarded.p99 - h.local.p99, 2)} | |`,
        ].join('\n');
  const md = `# Shards on one machine: the forward hop and 1, 2, 3 instances

Issue 12's benchmark of the design's cost. \`npm run build && node dist/loadtest/cluster.js\`
(${fmt(total)} s here). Instances: the built gateway (dist/src/main.js) with CLUSTER_SHARDS=true,
one consumer group, a ${PARTITIONS}-partition transactions topic, the test defaults of
test/support/gateway.ts (one inference worker each); a single-node KRaft Kafka and Apicurio on
loopback (scripts/services).

Machine: ${await machine()}. Started ${started.toISOString()}. Load average (1, 5, 15 min) at
the start: ${load0.map((l) => l.toFixed(2)).join(' ')}; at the end: ${load1.map((l) => l.toFixed(2)).join(' ')}.

## The forward hop (2 instances)

${hopTable}

## Throughput

${CONNECTIONS} closed-loop connections from this process for ${SECONDS} s (after ${WARMUP_S} s of warm-up),
each request a new transaction of one of ${fmt(USERS)} users. "Any instance": what a plain client or
load balancer gets, (n-1)/n of the requests forwarded. "To the owner": the same clients sending each
user to its owner (what a client following the routing hint, or an Envoy consistent-hash route, gets).

| instances | requests to | answers/s | p50 ms | p99 ms | not 200 |
|---|---|---:|---:|---:|---|
${rows.join('\n')}

On ${(await import('node:os')).cpus().length} cores shared by every instance, Kafka, the registry and the load generator, more
instances cannot add throughput: they divide the same CPU, and the forwarded share pays the hop
(a second HTTP parse, JSON and answer per request). This run shows the cost of the design on one
machine, not a scale-out; the gain of shards is memory per instance and machines added.
${failures.length === 0 ? '' : `\n## Starts that failed\n\nA group is started again (new topics, new group) up to three times; a row missing above failed all three.\n\n${failures.join('\n')}\n`}`;
  console.log(md);
  if (OUT !== null) {
    writeFileSync(OUT, md);
    console.error(`wrote ${OUT}`);
  }
}

await main();
process.exit(0);
