/** `scoregate features replay --in F --out G`: the training data, from the gateway's own feature engine. */
import { access, constants } from 'node:fs/promises';
import { replayToCsv } from '../features/replay.js';
import { UsageError, parseCommand, required, type CommandSpec } from './args.js';
import { Progress } from './progress.js';

export const FEATURES_REPLAY: CommandSpec = {
  name: 'features replay',
  usage: '',
  summary:
    'Replay a stream of transactions (JSON lines, in file order) through the feature engine as the gateway\n' +
    'does, and write one CSV row per transaction: transactionId, label, then the features in contract order.\n' +
    'Invalid and duplicate transactions are skipped and counted.',
  options: {
    in: { type: 'string', short: 'i', arg: 'FILE', help: 'the transactions (JSON lines), e.g. from scoregate synth' },
    out: { type: 'string', short: 'o', arg: 'FILE', help: 'the CSV to write' },
  },
  positionals: { min: 0, max: 0, name: '' },
};

const FEATURES_HELP = `Usage: scoregate features replay --in FILE --out FILE

Subcommands:
  replay    replay transactions through the feature engine into a CSV (scoregate features replay --help)
`;

export async function featuresCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  // `features --in F --out G` was the form before subcommands (models/build.sh used it): still a replay.
  if (sub !== undefined && sub.startsWith('--') && sub !== '--help') return replay(args);
  if (sub === 'replay') return replay(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(FEATURES_HELP);
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`features: unknown subcommand ${JSON.stringify(sub)}; valid: replay`, 'features');
}

async function replay(args: string[]): Promise<number> {
  const p = parseCommand(FEATURES_REPLAY, args);
  if (p === null) return 0;
  const inPath = required('in', p.str('in'), FEATURES_REPLAY.name);
  const outPath = required('out', p.str('out'), FEATURES_REPLAY.name);
  try {
    await access(inPath, constants.R_OK);
  } catch {
    throw new UsageError(`features replay: cannot read --in ${JSON.stringify(inPath)}`, FEATURES_REPLAY.name);
  }
  const progress = new Progress('features replay', await Progress.sizeOf(inPath));
  let stats;
  try {
    stats = await replayToCsv(inPath, outPath, undefined, (s, bytes) => progress.update({ done: s.rows + s.invalid + s.duplicates, errors: s.invalid, bytes }));
  } finally {
    progress.finish();
  }
  process.stderr.write(`features: ${stats.rows} rows (${stats.invalid} invalid, ${stats.duplicates} duplicates skipped) written to ${outPath}\n`);
  return 0;
}
