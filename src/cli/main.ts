#!/usr/bin/env node
/**
 * scoregate's command line:
 *   serve                  run the gateway (the default)
 *   synth --out F [...]    write a synthetic labelled transaction stream as JSON lines
 *   features --in F --out G  replay a stream through the feature engine into a CSV
 *   config-table           print README's configuration table
 *   keys create|list|revoke  API keys in AUTH_KEYS_FILE (src/auth/keys-cli.ts)
 */
import { parseArgs } from 'node:util';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { configTable } from '../core/config.js';
import { generate, SYNTH_DEFAULTS } from '../synth/generator.js';
import { replayToCsv } from '../features/replay.js';

async function synth(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      users: { type: 'string', default: String(SYNTH_DEFAULTS.users) },
      days: { type: 'string', default: String(SYNTH_DEFAULTS.days) },
      seed: { type: 'string', default: String(SYNTH_DEFAULTS.seed) },
      start: { type: 'string', default: new Date(SYNTH_DEFAULTS.startMs).toISOString() },
    },
  });
  if (values.out === undefined) throw new Error('synth: --out FILE is required');
  const stream = generate({ users: Number(values.users), days: Number(values.days), seed: Number(values.seed), startMs: Date.parse(values.start) });
  const out = createWriteStream(values.out);
  for (const t of stream) if (!out.write(JSON.stringify(t) + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const fraud = stream.reduce((n, t) => n + t.label, 0);
  console.error(`synth: ${stream.length} transactions, ${fraud} fraud, written to ${values.out}`);
}

async function features(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { in: { type: 'string' }, out: { type: 'string' } } });
  if (values.in === undefined || values.out === undefined) throw new Error('features: --in FILE and --out FILE are required');
  const stats = await replayToCsv(values.in, values.out);
  console.error(`features: ${stats.rows} rows (${stats.invalid} invalid, ${stats.duplicates} duplicates skipped) written to ${values.out}`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  switch (cmd) {
    case 'serve': {
      const { runMain } = await import('../main.js');
      await runMain();
      return;
    }
    case 'synth':
      return synth(rest);
    case 'features':
      return features(rest);
    case 'config-table':
      console.log(configTable());
      return;
    case 'keys': {
      const { keysCommand } = await import('../auth/keys-cli.js');
      return keysCommand(rest);
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd)}: use serve, synth, features, config-table or keys`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
