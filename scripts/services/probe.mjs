// Readiness probes used by the start scripts (plain ESM, no build step).
//   node probe.mjs kafka    <host:port> <timeoutSeconds> <pid> [brokers]
//   node probe.mjs registry <baseUrl>   <timeoutSeconds> <pid>
// Polls until the service really answers (Kafka: and sees [brokers] brokers, default 1); exits 0 when ready, 1 on timeout or
// if <pid> dies meanwhile.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const [kind, target, timeoutArg, pidArg, brokersArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg ?? '60') * 1000;
const pid = Number(pidArg ?? '0');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive() {
  if (!pid) return true;
  try {
    // field 3 of /proc/<pid>/stat is the state; a zombie (Z) has exited
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function probeKafka() {
  let kafkajs;
  try {
    kafkajs = await import('kafkajs');
  } catch {
    console.error('[services] kafkajs not found: run `npm ci` in the repo first');
    process.exit(2);
  }
  const { Kafka, logLevel } = kafkajs.default ?? kafkajs;
  const kafka = new Kafka({
    clientId: 'services-probe',
    brokers: [target],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  return async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.listTopics();
      return cluster.brokers.length >= Number(brokersArg ?? '1');
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };
}

async function probeRegistry() {
  return async () => {
    const res = await fetch(`${target}/subjects`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  };
}

const check = kind === 'kafka' ? await probeKafka() : await probeRegistry();
let lastErr = '';
while (Date.now() < deadline) {
  if (!alive()) {
    console.error(`[services] ${kind} process ${pid} exited during startup`);
    process.exit(1);
  }
  try {
    if (await check()) process.exit(0);
  } catch (e) {
    lastErr = e instanceof Error ? e.message : String(e);
  }
  await sleep(250);
}
console.error(`[services] ${kind} at ${target} not ready before timeout (${lastErr})`);
process.exit(1);
