#!/usr/bin/env node
/**
 * The `scoregate` command: a dispatcher. Each subcommand is one module in this folder, loaded
 * only when called (the gateway's dependencies stay unloaded for `keys list`). Exit codes: 0
 * done, 1 failed, 2 usage error (the message names the argument).
 */
import { ConfigError } from '../core/config.js';
import { UsageError } from './args.js';

interface Command {
  summary: string;
  /** Resolves with the exit code, or null when the command keeps running (serve). */
  run: (args: string[]) => Promise<number | null>;
}

const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the gateway (the default)', run: async (a) => (await import('./serve.js')).serveCommand(a) },
  score: { summary: 'score a file of transactions against a gateway or in process', run: async (a) => (await import('./score.js')).scoreCommand(a) },
  features: { summary: 'features replay: transactions through the feature engine into a CSV', run: async (a) => (await import('./features.js')).featuresCommand(a) },
  model: { summary: 'model validate DIR: the gateway\'s checks on a model directory', run: async (a) => (await import('./model.js')).modelCommand(a) },
  keys: { summary: 'keys create|list|revoke: API keys in AUTH_KEYS_FILE', run: async (a) => (await import('./keys.js')).keysCommand(a) },
  skew: { summary: 'served feature vectors against the replay\'s (training/serving skew)', run: async (a) => (await import('./skew.js')).skewCommand(a) },
  synth: { summary: 'write a synthetic labelled transaction stream', run: async (a) => (await import('./synth.js')).synthCommand(a) },
  'config-table': { summary: 'print the settings as README\'s table', run: async (a) => (await import('./config-table.js')).configTableCommand(a) },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: scoregate [command] [options]',
    '',
    'A low-latency fraud-scoring gateway, and the tools around it.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    'scoregate COMMAND --help tells more. Settings are environment variables (scoregate config-table).',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number | null> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(help());
    return 0;
  }
  // No command, or options only: the gateway (its settings come from the environment).
  if (first === undefined) return COMMANDS['serve']!.run([]);
  const cmd = COMMANDS[first];
  if (cmd === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}; valid commands: ${Object.keys(COMMANDS).join(', ')}`);
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`scoregate${err.command === null ? ':' : ''} ${err.message}\n${err.command === null ? 'scoregate --help' : `scoregate ${err.command} --help`} lists what is valid\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`scoregate: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`scoregate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
