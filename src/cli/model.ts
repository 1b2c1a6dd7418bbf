/**
 * `scoregate model validate DIR`: the checks a model passes before the gateway serves it
 * (models/validate.ts, the same function ModelManager runs), each printed as it passes; on a
 * failure, the step and the reason, exit 1.
 */
import { loadConfig } from '../core/config.js';
import { loadGoldenRows } from '../models/golden.js';
import { ValidationFailed, validateCandidate, type ValidationStep } from '../models/validate.js';
import { UsageError, parseCommand, wholeNumber, type CommandSpec } from './args.js';

export const MODEL_VALIDATE: CommandSpec = {
  name: 'model validate',
  usage: 'DIR',
  summary:
    'Check an MLflow model directory as the gateway does before serving it: the MLmodel file has an onnx\n' +
    'flavor and a signature listing the feature contract in order; the model loads and warms; it scores the\n' +
    'golden set it ships (golden.csv) within 1e-5 of its expected scores (a model without one: the fallback rows in [0, 1], with a warning). Prints each check that passed; on a failure, the reason (exit 1).',
  options: {
    workers: { type: 'string', arg: 'N', default: 'INFERENCE_WORKERS', help: 'load it in N worker threads (0: on the main thread)' },
  },
  positionals: { min: 1, max: 1, name: 'DIR (the MLflow model directory)' },
};

const MODEL_HELP = `Usage: scoregate model validate DIR

Subcommands:
  validate  run the gateway's model checks on a directory (scoregate model validate --help)
`;

const STEP_NAMES: Record<ValidationStep, string> = { mlmodel: 'MLmodel and signature', load: 'load and warm', golden: 'golden set' };

export async function modelCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'validate') return validate(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(MODEL_HELP);
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`model: unknown subcommand ${JSON.stringify(sub)}; valid: validate`, 'model');
}

async function validate(args: string[]): Promise<number> {
  const p = parseCommand(MODEL_VALIDATE, args);
  if (p === null) return 0;
  const dir = p.positionals[0]!;
  const config = loadConfig();
  const workers = wholeNumber(MODEL_VALIDATE.name, 'workers', p.str('workers'), config.inferenceWorkers, 0, 64);
  try {
    const pool = await validateCandidate({ dir }, { workers, batchMax: config.inferenceBatchMax, queueMax: config.inferenceQueueMax }, loadGoldenRows(), (step, detail, warning) => {
      process.stdout.write(`${warning === true ? 'warn' : 'ok  '}  ${STEP_NAMES[step]}: ${detail}\n`);
    });
    process.stdout.write(pool.explainer !== null ? `ok    explanations: TreeSHAP over the model's trees\n` : `warn  explanations: unavailable: ${pool.explainUnavailable}\n`);
    await pool.close();
    process.stdout.write(`valid: ${pool.model.name} ${pool.model.version} (${pool.model.dir}) can serve\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ValidationFailed)) throw err;
    process.stdout.write(`FAIL  ${STEP_NAMES[err.step]}: ${err.message}\n`);
    process.stderr.write(`model validate: ${dir} cannot serve: ${err.message}\n`);
    return 1;
  }
}
