/**
 * Kafka and the schema registry for the benchmarks, which run as built JavaScript
 * (dist/bench, dist/loadtest) and so cannot import scripts/services/services.ts: the pair in
 * KAFKA_BROKERS and SCHEMA_REGISTRY_URL when both are set, else a fresh pair from the same
 * scripts services.ts drives (scripts/services/up.sh, down.sh --clean at the end or at exit).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../src/core/config.js';

const run = promisify(execFile);

export interface BenchServices {
  brokers: string;
  registryUrl: string;
  stop(): Promise<void>;
}

export async function benchServices(name: string, kafkaHeap = '-Xms512m -Xmx1g'): Promise<BenchServices> {
  const brokers = process.env['KAFKA_BROKERS'];
  const registryUrl = process.env['SCHEMA_REGISTRY_URL'];
  if (brokers && registryUrl) return { brokers, registryUrl, stop: async () => undefined };
  const dir = join(REPO_ROOT, '.cache/services', `${name}-${process.pid}`);
  const env = { ...process.env, SERVICES_DIR: dir, SERVICES_FRESH: '1', KAFKA_HEAP_OPTS: kafkaHeap };
  const script = (s: string, ...args: string[]) => run('bash', [join(REPO_ROOT, 'scripts/services', s), ...args], { cwd: REPO_ROOT, env, maxBuffer: 1 << 24 });
  const kill = (): void => {
    // Never leave the JVMs behind if the process ends early.
    try {
      execFileSync('bash', [join(REPO_ROOT, 'scripts/services/down.sh'), '--clean'], { cwd: REPO_ROOT, env, stdio: 'ignore' });
    } catch {
      // already down
    }
  };
  process.once('exit', kill);
  // A signal ends the process without 'exit' handlers unless it exits itself.
  const quit = (): void => process.exit(130);
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  await script('up.sh');
  const vars = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m !== null) vars.set(m[1]!, m[2]!);
  }
  return {
    brokers: vars.get('KAFKA_BROKERS')!,
    registryUrl: vars.get('SCHEMA_REGISTRY_URL')!,
    stop: async () => {
      await script('down.sh', '--clean');
      process.removeListener('exit', kill);
    },
  };
}

/** The machine, for a results file: CPU, cores, memory, OS, Node. */
export async function machine(): Promise<string> {
  const os = await import('node:os');
  const cpu = os.cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}
