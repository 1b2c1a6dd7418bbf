/** `scoregate synth --out F`: a synthetic labelled transaction stream with fraud patterns (src/synth/). */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { generate, SYNTH_DEFAULTS } from '../synth/generator.js';
import { UsageError, parseCommand, required, wholeNumber, type CommandSpec } from './args.js';

export const SYNTH: CommandSpec = {
  name: 'synth',
  usage: '',
  summary: 'Write a synthetic labelled transaction stream (JSON lines, with fraud patterns): the model pipeline\'s input.',
  options: {
    out: { type: 'string', short: 'o', arg: 'FILE', help: 'where to write the stream' },
    users: { type: 'string', arg: 'N', default: String(SYNTH_DEFAULTS.users), help: 'users' },
    days: { type: 'string', arg: 'N', default: String(SYNTH_DEFAULTS.days), help: 'days of traffic' },
    seed: { type: 'string', arg: 'N', default: String(SYNTH_DEFAULTS.seed), help: 'random seed (the same seed gives the same stream)' },
    start: { type: 'string', arg: 'ISO', default: new Date(SYNTH_DEFAULTS.startMs).toISOString(), help: 'time of the first day' },
  },
  positionals: { min: 0, max: 0, name: '' },
};

export async function synthCommand(args: string[]): Promise<number> {
  const p = parseCommand(SYNTH, args);
  if (p === null) return 0;
  const outPath = required('out', p.str('out'), SYNTH.name);
  const start = p.str('start');
  const startMs = start === undefined ? SYNTH_DEFAULTS.startMs : Date.parse(start);
  if (Number.isNaN(startMs)) throw new UsageError(`synth: --start must be an ISO-8601 date-time, got ${JSON.stringify(start)}`, SYNTH.name);
  const stream = generate({
    users: wholeNumber(SYNTH.name, 'users', p.str('users'), SYNTH_DEFAULTS.users),
    days: wholeNumber(SYNTH.name, 'days', p.str('days'), SYNTH_DEFAULTS.days),
    seed: wholeNumber(SYNTH.name, 'seed', p.str('seed'), SYNTH_DEFAULTS.seed, 0),
    startMs,
  });
  const out = createWriteStream(outPath);
  for (const t of stream) if (!out.write(JSON.stringify(t) + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const fraud = stream.reduce((n, t) => n + t.label, 0);
  process.stderr.write(`synth: ${stream.length} transactions, ${fraud} fraud, written to ${outPath}\n`);
  return 0;
}
