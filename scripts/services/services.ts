// Test helper: start a real Kafka (KRaft, single node) and a real
// Confluent-compatible schema registry (Apicurio) via the shell scripts in this
// directory.
//
//   import { startServices } from '../scripts/services/services.js';
//   const svc = await startServices();
//   // svc.kafkaBrokers = '127.0.0.1:PORT', svc.registryUrl = 'http://127.0.0.1:PORT/apis/ccompat/v7'
//   await svc.killKafka();    // SIGKILL the broker (outage)
//   await svc.restartKafka(); // same port, same data dir; resolves once it answers again
//   await svc.stop();
// With kafkaNodes: 3 (see kafka-cluster.ts), three KRaft nodes: kafkaBrokers lists them all,
// and killKafka(n) / restartKafka(n) act on node n only.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(SCRIPT_DIR, '..', '..');

export interface StartServicesOptions {
  /**
   * State dir (data, logs, pid files, env). Relative paths are relative to the
   * repo root. Default: a new dir `.cache/services/test-<pid>-<time>`, removed by stop().
   */
  servicesDir?: string;
  /** Wipe servicesDir before starting (new ports, empty data). Default true. */
  fresh?: boolean;
  /** Remove servicesDir in stop(). Default: true when servicesDir was not given. */
  cleanOnStop?: boolean;
  /** Kill the JVMs if this Node process exits without calling stop(). Default true. */
  killOnExit?: boolean;
  /** Combined broker+controller nodes (1 to 9). Default 1; with more, replication factor 3 (or the count) and min.insync.replicas 2. */
  kafkaNodes?: number;
  /** Extra environment for the scripts (e.g. KAFKA_START_TIMEOUT, KAFKA_HEAP_OPTS). */
  env?: Record<string, string>;
  /** Receives the scripts' stderr/stdout after each call. Default: silent. */
  log?: (text: string) => void;
  /**
   * A second Kafka listener, SASL_SSL on its own port (Services.kafkaSaslSslBrokers): the
   * broker's PKCS12 keystore (key and chain) and its password, and users (name → password),
   * each a PLAIN user and SCRAM-SHA-256/512 credentials. Names and passwords: letters, digits, . _ -
   */
  saslSsl?: { keystore: string; keystorePassword: string; users: Record<string, string> };
}

export interface Services {
  /** host:port of every node, comma separated. */
  kafkaBrokers: string;
  kafkaNodes: number;
  /** host:port of the SASL_SSL listener, with the saslSsl option. */
  kafkaSaslSslBrokers: string | undefined;
  registryUrl: string;
  servicesDir: string;
  /** Node `node`'s pid (default node 1). */
  kafkaPid(node?: number): number | undefined;
  registryPid(): number | undefined;
  /** Stop both services (graceful, waits for exit). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL Kafka (node `node` only, when given) and wait until the process is gone. */
  killKafka(node?: number): Promise<void>;
  /** Graceful SIGTERM stop of Kafka, or of node `node` (waits for exit). */
  stopKafka(node?: number): Promise<void>;
  /** Start Kafka (or node `node`) again on the same ports and data; resolves when it answers and sees every node. */
  restartKafka(node?: number): Promise<void>;
}

interface ScriptResult {
  stdout: string;
  stderr: string;
}

function runScript(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  log: ((text: string) => void) | undefined,
): Promise<ScriptResult> {
  const file = join(SCRIPT_DIR, name);
  return new Promise((resolvePromise, reject) => {
    execFile(
      'bash',
      [file, ...args],
      { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const out = String(stdout);
        const err = String(stderr);
        if (log !== undefined && (out !== '' || err !== '')) log(err + out);
        if (error !== null) {
          reject(new Error(`${name} ${args.join(' ')} failed (${error.message.split('\n')[0] ?? ''}):\n${err}${out}`));
          return;
        }
        resolvePromise({ stdout: out, stderr: err });
      },
    );
  });
}

function parseEnvFile(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m !== null && m[1] !== undefined && m[2] !== undefined) vars.set(m[1], m[2]);
  }
  return vars;
}

function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

let counter = 0;

export async function startServices(opts: StartServicesOptions = {}): Promise<Services> {
  const explicitDir = opts.servicesDir !== undefined;
  const rel = opts.servicesDir ?? join('.cache', 'services', `test-${process.pid}-${Date.now()}-${counter++}`);
  const servicesDir = isAbsolute(rel) ? rel : resolve(REPO_ROOT, rel);
  const cleanOnStop = opts.cleanOnStop ?? !explicitDir;
  const killOnExit = opts.killOnExit ?? true;
  const sasl = opts.saslSsl;
  const saslEnv: Record<string, string> =
    sasl === undefined
      ? {}
      : {
          KAFKA_SASL_SSL_KEYSTORE: sasl.keystore,
          KAFKA_SASL_SSL_KEYSTORE_PASSWORD: sasl.keystorePassword,
          KAFKA_SASL_USERS: Object.entries(sasl.users).map(([name, password]) => `${name}:${password}`).join(','),
        };
  const kafkaNodes = opts.kafkaNodes ?? 1;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, ...saslEnv, SERVICES_DIR: servicesDir, KAFKA_NODES: String(kafkaNodes) };
  const log = opts.log;
  const run = (name: string, ...args: string[]): Promise<ScriptResult> => runScript(name, args, env, log);

  const kafkaPidFile = (node = 1): string => join(servicesDir, node === 1 ? 'kafka.pid' : `kafka-${node}.pid`);
  const registryPidFile = join(servicesDir, 'registry.pid');
  const nodeArgs = (node: number | undefined): string[] => (node === undefined ? [] : ['--node', String(node)]);

  // Best effort: never leave JVMs behind if the test process exits abruptly.
  const onExit = (): void => {
    const kafkaPids = Array.from({ length: kafkaNodes }, (_, i) => readPid(kafkaPidFile(i + 1)));
    for (const pid of [...kafkaPids, readPid(registryPidFile)]) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  if (killOnExit) process.once('exit', onExit);

  try {
    if (opts.fresh ?? true) await run('down.sh', '--clean');
    await run('up.sh');
  } catch (e) {
    await run('down.sh').catch(() => undefined);
    if (killOnExit) process.removeListener('exit', onExit);
    throw e;
  }

  const vars = parseEnvFile(join(servicesDir, 'env'));
  const kafkaBrokers = vars.get('KAFKA_BROKERS');
  const registryUrl = vars.get('SCHEMA_REGISTRY_URL');
  if (kafkaBrokers === undefined || registryUrl === undefined) {
    await run('down.sh').catch(() => undefined);
    throw new Error(`services env file incomplete: ${join(servicesDir, 'env')}`);
  }

  let stopped = false;
  // Serialise lifecycle calls so e.g. stop() during restartKafka() is safe.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const kafkaSaslSslBrokers = vars.get('KAFKA_SASL_SSL_BROKERS');
  if (sasl !== undefined && kafkaSaslSslBrokers === undefined) {
    await run('down.sh').catch(() => undefined);
    throw new Error(`no SASL_SSL listener in ${join(servicesDir, 'env')}`);
  }

  return {
    kafkaBrokers,
    kafkaNodes,
    kafkaSaslSslBrokers,
    registryUrl,
    servicesDir,
    kafkaPid: (node) => readPid(kafkaPidFile(node)),
    registryPid: () => readPid(registryPidFile),
    stop: () =>
      serial(async () => {
        if (stopped) return;
        stopped = true;
        await run('down.sh', ...(cleanOnStop ? ['--clean'] : []));
        if (killOnExit) process.removeListener('exit', onExit);
      }),
    killKafka: (node) =>
      serial(async () => {
        await run('kafka-stop.sh', '--kill', ...nodeArgs(node));
      }),
    stopKafka: (node) =>
      serial(async () => {
        await run('kafka-stop.sh', ...nodeArgs(node));
      }),
    restartKafka: (node) =>
      serial(async () => {
        if (stopped) throw new Error('services already stopped');
        await run('kafka-start.sh', ...nodeArgs(node));
      }),
  };
}
