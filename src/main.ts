/** Entry point: configuration, the gateway, and a clean exit on SIGTERM / SIGINT. */
import { ConfigError, loadConfig } from './core/config.js';
import { Gateway } from './gateway.js';
import { ModelRejected } from './models/manager.js';
import { ModelLoadError } from './models/mlmodel.js';

export async function runMain(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  let gateway: Gateway;
  try {
    gateway = new Gateway(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const shutdown = (signal: string): void => {
    gateway.log.info('shutting down', { signal });
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
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
