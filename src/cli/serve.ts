/** `scoregate serve` (the default): the gateway, configured by environment variables. */
import { parseCommand, type CommandSpec } from './args.js';

export const SERVE: CommandSpec = {
  name: 'serve',
  usage: '',
  summary:
    'Run the gateway: HTTP and WebSocket on HOST:PORT (127.0.0.1:8080 by default), serving MODEL_DIR.\n' +
    'Every setting is an environment variable (scoregate config-table lists them). Stops cleanly on\n' +
    'SIGTERM or SIGINT. Exit code 2 when a setting is invalid or MODEL_DIR cannot serve.',
  options: {},
  positionals: { min: 0, max: 0, name: '' },
};

export async function serveCommand(args: string[]): Promise<number | null> {
  if (parseCommand(SERVE, args) === null) return 0;
  const { runMain } = await import('../main.js');
  await runMain();
  return null; // the gateway runs until a signal; runMain exits the process
}
