/** `scoregate config-table`: README's configuration table, from src/core/config.ts's settings. */
import { configTable } from '../core/config.js';
import { parseCommand, type CommandSpec } from './args.js';

export const CONFIG_TABLE: CommandSpec = {
  name: 'config-table',
  usage: '',
  summary: 'Print every setting (environment variable, default, meaning) as the Markdown table in README.',
  options: {},
  positionals: { min: 0, max: 0, name: '' },
};

export async function configTableCommand(args: string[]): Promise<number> {
  if (parseCommand(CONFIG_TABLE, args) === null) return 0;
  process.stdout.write(configTable() + '\n');
  return 0;
}
