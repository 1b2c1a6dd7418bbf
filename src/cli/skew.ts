/** `scoregate skew --served F --events G`: served (logged) feature vectors against the replay's; exit 1 on any difference. */
import { skewCheck } from '../features/skew.js';
import { parseCommand, required, wholeNumber, type CommandSpec } from './args.js';

export const SKEW: CommandSpec = {
  name: 'skew',
  usage: '',
  summary:
    'Training/serving skew: for a sample of logged events, compare the feature vector the gateway served\n' +
    '(a replay-format CSV, e.g. jobs/delta training-set\'s features.csv) with the one the replay computes from\n' +
    'the same transactions (JSON lines in arrival order). Prints a JSON report; exits 1 on any difference.',
  options: {
    served: { type: 'string', arg: 'FILE', help: 'logged features: transactionId, label, the contract\'s features' },
    events: { type: 'string', arg: 'FILE', help: 'the same transactions, JSON lines in arrival order' },
    sample: { type: 'string', arg: 'N', default: '0', help: 'compare about N rows (0: all)' },
    tolerance: { type: 'string', arg: 'X', default: '0', help: 'largest difference that is not reported' },
  },
  positionals: { min: 0, max: 0, name: '' },
};

export async function skewCommand(args: string[]): Promise<number> {
  const p = parseCommand(SKEW, args);
  if (p === null) return 0;
  const served = required('served', p.str('served'), SKEW.name);
  const events = required('events', p.str('events'), SKEW.name);
  const sample = wholeNumber(SKEW.name, 'sample', p.str('sample'), 0, 0);
  const tolerance = Number(p.str('tolerance') ?? '0');
  const report = await skewCheck(served, events, { sample, tolerance: Number.isFinite(tolerance) ? tolerance : 0 });
  process.stdout.write(JSON.stringify(report) + '\n');
  process.stderr.write(`skew: ${report.compared} of ${report.sampled} sampled rows compared; ${report.mismatchedRows} differ, ${report.missing.length} missing from the replay\n`);
  return report.mismatchedRows + report.missing.length > 0 ? 1 : 0;
}
