/**
 * Entry point: configuration, the heap limit, the gateway, and a clean exit on SIGTERM / SIGINT.
 *
 * The V8 heap gets a limit derived from the settings (src/core/memory-budget.ts): node takes
 * --max-old-space-size only at start, so unless one was given (on the command line or in
 * NODE_OPTIONS) this process starts the gateway again as its child with the computed limit and
 * stays as a thin supervisor: it forwards SIGTERM, SIGINT and SIGHUP, exits with the child's
 * code, and the child exits at once if the supervisor disappears (it was killed). The child is
 * marked by SCOREGATE_HEAP_LIMIT_MIB, so it never re-executes itself.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import v8 from 'node:v8';
import { ConfigError, loadConfig, type Config } from './core/config.js';
import { hasHeapLimitFlag, memoryBudget } from './core/memory-budget.js';

/** Set in the supervised child's environment: the heap limit it was started with (MiB). */
export const HEAP_LIMIT_ENV = 'SCOREGATE_HEAP_LIMIT_MIB';

const MiB = 1_048_576;

function supervise(heapLimitMiB: number): void {
  const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${heapLimitMiB}`, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [HEAP_LIMIT_ENV]: String(heapLimitMiB) },
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.once('error', (err) => {
    console.error(`cannot start the gateway process: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal !== null ? constants.signals[signal] : 0)));
}

/** In the supervised child: a supervisor that is gone was killed; so is its gateway. */
function watchSupervisor(): void {
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref();
}

export async function runMain(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const budget = memoryBudget(config);
  const supervised = process.env[HEAP_LIMIT_ENV] !== undefined;
  if (!supervised && !hasHeapLimitFlag(process.execArgv, process.env['NODE_OPTIONS'])) {
    supervise(budget.heapLimitMiB);
    return;
  }
  if (supervised && process.send !== undefined) watchSupervisor();
  // Loaded only here, so the supervisor never loads uWS or onnxruntime.
  const [{ Gateway }, { ModelRejected }, { ModelLoadError }] = await Promise.all([import('./gateway.js'), import('./models/manager.js'), import('./models/mlmodel.js')]);
  let gateway: InstanceType<typeof Gateway>;
  try {
    gateway = new Gateway(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  gateway.log.info('memory budget', {
    pid: process.pid,
    heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / MiB),
    oldSpaceLimitMiB: budget.heapLimitMiB,
    rssBoundMiB: Math.round(budget.rssBoundBytes / MiB),
    windowsMiB: Math.round(budget.windowsBytes / MiB),
    seenIdsMiB: Math.round(budget.seenIdsBytes / MiB),
    answersMiB: Math.round(budget.answersBytes / MiB),
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    // A terminal's Ctrl-C reaches both the supervisor (which forwards it) and this process.
    if (stopping) return;
    stopping = true;
    gateway.log.info('shutting down', { signal });
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => gateway.log.error('unhandled rejection', { reason: String(reason) }));
  try {
    await gateway.start();
  } catch (err) {
    const msg =
      err instanceof ModelLoadError || err instanceof ModelRejected
        ? `invalid configuration: MODEL_DIR ${config.modelDir} cannot serve: ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
    console.error(msg);
    process.exit(2);
  }
}

// Run when executed directly (node dist/src/main.js), not when imported by the CLI.
if (import.meta.url === `file://${process.argv[1]}`) {
  void runMain();
}
