/**
 * Arguments for every subcommand, on node's util.parseArgs: one spec per command gives the
 * options, their help lines and how many positionals it takes; `parseCommand` answers `--help`
 * from the spec and turns every mistake into a UsageError that names the argument (exit 2).
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: the message names the argument; exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    /** The command whose --help would help ("score", "model validate"). */
    readonly command: string | null = null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help for a string option: FILE, N, URL. */
  arg?: string;
  /** Shown in help; applied by the caller (so "given or not" stays visible). */
  default?: string;
  help: string;
}

export interface CommandSpec {
  /** As typed after `scoregate`: "score", "model validate". */
  name: string;
  /** Positionals as shown in help: "FILE.jsonl", "DIR", "". */
  usage: string;
  summary: string;
  /** Further paragraphs of help (environment, exit codes). */
  details?: string;
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number; name: string };
}

/** Parsed arguments; read them with str(), flag() and list(), which match the spec's types. */
export class Parsed {
  constructor(
    private readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>,
    readonly positionals: string[],
  ) {}

  /** A string option's value, or undefined when not given. */
  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** A boolean option: given or not. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** A repeatable string option's values. */
  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

function optionLabel(name: string, o: OptionSpec): string {
  const long = `--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`;
}

export function helpText(spec: CommandSpec): string {
  const all: Record<string, OptionSpec> = { ...spec.options, help: HELP };
  const labels = Object.entries(all).map(([n, o]) => optionLabel(n, o));
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  const lines = Object.entries(all).map(([n, o], i) => {
    const extra = (o.default !== undefined ? ` (default: ${o.default})` : '') + (o.multiple === true ? ' (repeatable)' : '');
    return `  ${labels[i]!.padEnd(width)}${o.help}${extra}`;
  });
  const usage = `scoregate ${spec.name}${spec.usage === '' ? '' : ' ' + spec.usage} [options]`;
  return [`Usage: ${usage}`, '', spec.summary, '', 'Options:', ...lines, ...(spec.details === undefined ? [] : ['', spec.details]), ''].join('\n');
}

function validNames(all: Record<string, OptionSpec>): string {
  return Object.keys(all)
    .map((n) => `--${n}`)
    .join(', ');
}

/**
 * Parses `args` for `spec`. Returns null when --help was asked (the help is printed on stdout).
 * Unknown options, missing values and wrong positional counts throw UsageError.
 */
export function parseCommand(spec: CommandSpec, args: string[]): Parsed | null {
  const all: Record<string, OptionSpec> = { ...spec.options, help: HELP };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [n, o] of Object.entries(all)) {
    options[n] = { type: o.type };
    if (o.short !== undefined) options[n].short = o.short;
    if (o.multiple === true) options[n].multiple = true;
  }
  // Not strict: every token comes back, so each mistake can be named exactly here.
  const { values, positionals, tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  if (values['help'] === true) {
    process.stdout.write(helpText(spec));
    return null;
  }
  const fail = (msg: string): never => {
    throw new UsageError(`${spec.name}: ${msg}`, spec.name);
  };
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const o = all[t.name];
    if (o === undefined) fail(`unknown option ${t.rawName}; valid options: ${validNames(all)}`);
    else if (o.type === 'string' && t.value === undefined) fail(`${t.rawName} needs a value (${o.arg ?? 'VALUE'})`);
    else if (o.type === 'boolean' && t.inlineValue === true) fail(`${t.rawName} takes no value`);
  }
  const p = spec.positionals;
  if (positionals.length < p.min) fail(`missing ${p.name}`);
  if (positionals.length > p.max) {
    const extra = positionals.slice(p.max).map((s) => JSON.stringify(s)).join(' ');
    fail(p.max === 0 ? `takes no arguments, got ${extra}` : `unexpected argument ${extra} (takes ${p.name})`);
  }
  return new Parsed(values, positionals);
}

/** A whole number ≥ min from option `name` of `command`, or the default when not given. */
export function wholeNumber(command: string, name: string, v: string | undefined, def: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min)) throw new UsageError(`${command}: --${name} must be a whole number ≥ ${min}, got ${JSON.stringify(v)}`, command);
  if (n > max) throw new UsageError(`${command}: --${name} must be at most ${max}, got ${JSON.stringify(v)}`, command);
  return n;
}

/** The value of a required string option. */
export function required(name: string, v: string | undefined, command: string): string {
  if (v === undefined || v === '') throw new UsageError(`${command}: --${name} is required`, command);
  return v;
}
