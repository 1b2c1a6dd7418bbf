/**
 * `scoregate score FILE.jsonl`: scores a file of transactions, one JSON object per line, against
 * a running gateway (--url) or the scoring pipeline in this process (--in-process), and writes
 * one answer line per input line, in input order:
 *
 *   {"line":1,"result":{…the gateway's answer…}}
 *   {"line":2,"result":{…},"replayed":true}          a retry of an answered transactionId
 *   {"line":3,"transactionId":"t-9","error":{"code":"INVALID_AMOUNT","message":…,"field":"amount"}}
 *   {"line":4,"error":{"code":"INVALID_JSON","message":"line 4 is not JSON: …"}}
 *
 * At most --concurrency requests (or --batch-sized batches) are in flight, and at most that many
 * are waiting to be written, so memory stays bounded whatever the file's size. Lines of one user
 * are sent one after another in file order, because a transaction's features come from the
 * user's earlier ones. Transient refusals (OVERLOADED, NOT_READY, SINK_FULL, RATE_LIMITED, no
 * connection, timeouts) are retried with the same transactionId: the gateway treats it as an
 * idempotency key, so a retry of something already scored replays its answer.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../core/config.js';
import { Logger } from '../core/log.js';
import { UsageError, parseCommand, wholeNumber, type CommandSpec } from './args.js';
import { Progress } from './progress.js';
import { HttpTarget } from './score-http.js';
import { LocalTarget } from './score-local.js';
import { ScoreSummary } from './score-summary.js';
import { retryable, type Item, type LineError, type Reply, type Target } from './score-target.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

export const SCORE: CommandSpec = {
  name: 'score',
  usage: 'FILE.jsonl',
  summary:
    'Score a file of transactions (one JSON object per line; - for stdin) against a running gateway or in this\n' +
    'process. Writes one JSON line per input line, in order: {"line", "result"} (plus "replayed": true for a\n' +
    'retried transactionId) or {"line", "error": {code, message}}. A summary goes to stderr at the end.',
  options: {
    url: { type: 'string', arg: 'URL', default: DEFAULT_URL, help: 'the gateway to score against' },
    'in-process': { type: 'boolean', help: 'score with the gateway\'s pipeline in this process (MODEL_DIR and the other settings from the environment), no HTTP' },
    concurrency: { type: 'string', short: 'c', arg: 'N', default: '8', help: 'requests (or batches) in flight at once' },
    batch: { type: 'string', short: 'b', arg: 'N', default: '1', help: 'transactions per request; above 1, POST /v1/score/batch (--url only)' },
    'api-key': { type: 'string', arg: 'KEY', help: 'API key sent as Authorization: Bearer (or SCOREGATE_API_KEY)' },
    token: { type: 'string', arg: 'JWT', help: 'JWT sent as Authorization: Bearer (or SCOREGATE_TOKEN)' },
    out: { type: 'string', short: 'o', arg: 'FILE', default: 'stdout', help: 'where the answer lines go' },
    retries: { type: 'string', arg: 'N', default: '5', help: 'retries of a transient refusal (OVERLOADED, NOT_READY, SINK_FULL, RATE_LIMITED, connection, timeout)' },
    'timeout-ms': { type: 'string', arg: 'MS', default: '30000', help: 'longest wait for one answer before it counts as TIMEOUT (and is retried)' },
    'json-summary': { type: 'boolean', help: 'print the summary as one JSON object instead of text' },
  },
  positionals: { min: 1, max: 1, name: 'FILE.jsonl (the transactions; - for stdin)' },
  details:
    'Exit codes: 0 every line was answered (a line may still be an error line), 1 the run could not finish\n' +
    '(gateway unreachable, model not servable), 2 usage error.\n' +
    'Error lines use the gateway\'s codes, and the command\'s own: INVALID_JSON (the line is not JSON; it is not\n' +
    'sent), UNREACHABLE, TIMEOUT, BAD_RESPONSE.',
};

interface Unit {
  /** Lines in this unit: an item to send, or an error already known (not JSON). */
  lines: Array<{ line: number; item: Item | null; error: LineError | null; txId: string | null }>;
  done: Promise<Reply[]>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function keyOf(v: unknown, name: string): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const x = (v as Record<string, unknown>)[name];
  return typeof x === 'string' ? x : null;
}

function answerLine(line: number, txId: string | null, r: Reply): string {
  if (r.ok) return `{"line":${line},"result":${r.body}${r.replayed ? ',"replayed":true' : ''}}\n`;
  const { code, message, field } = r.error;
  const error: LineError = field === undefined ? { code, message } : { code, message, field };
  return JSON.stringify(txId === null ? { line, error } : { line, transactionId: txId, error }) + '\n';
}

class Runner {
  private readonly window: Unit[] = [];
  /** The last unit sent for each user still in the window: the next one of theirs waits for it. */
  private readonly lastOfUser = new Map<string, Promise<unknown>>();
  /** Set once the gateway stopped answering after every retry: later lines are not sent. */
  unreachable: LineError | null = null;
  bytes = 0;

  constructor(
    private readonly target: Target,
    private readonly out: Writable,
    private readonly summary: ScoreSummary,
    private readonly progress: Progress,
    private readonly opts: { concurrency: number; retries: number },
  ) {}

  /** Starts `unit` once there is room, after the user's earlier units. */
  async submit(lines: Unit['lines']): Promise<void> {
    while (this.window.length >= this.opts.concurrency) await this.writeHead();
    const items = lines.flatMap((l) => (l.item === null ? [] : [l.item]));
    const users = new Set(items.map((i) => keyOf(i.value, 'userId')).filter((u): u is string => u !== null));
    const before = [...users].map((u) => this.lastOfUser.get(u)).filter((p) => p !== undefined);
    const done = (before.length === 0 ? Promise.resolve() : Promise.all(before)).then(() => this.sendWithRetries(items));
    for (const u of users) this.lastOfUser.set(u, done);
    void done.finally(() => {
      for (const u of users) if (this.lastOfUser.get(u) === done) this.lastOfUser.delete(u);
    });
    this.window.push({ lines, done });
  }

  private async sendWithRetries(items: Item[]): Promise<Reply[]> {
    if (items.length === 0) return [];
    if (this.unreachable !== null) return items.map(() => ({ ok: false, error: this.unreachable! }));
    const replies = new Array<Reply>(items.length);
    let todo = items.map((_, i) => i);
    for (let attempt = 0; ; attempt++) {
      const got = await this.target.send(todo.map((i) => items[i]!));
      const again: number[] = [];
      let wait = 0;
      got.forEach((r, k) => {
        const i = todo[k]!;
        replies[i] = r;
        if (!r.ok && retryable(r.error) && attempt < this.opts.retries) {
          again.push(i);
          wait = Math.max(wait, r.error.retryAfterMs ?? 0);
        }
      });
      if (again.length === 0) break;
      // Exponential backoff with jitter, or the gateway's Retry-After when it is longer.
      await sleep(Math.max(wait, Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)));
      todo = again;
    }
    for (const r of replies) if (!r.ok && r.error.code === 'UNREACHABLE') this.unreachable ??= r.error;
    return replies;
  }

  /** Writes the oldest unit's answer lines once it is done. */
  private async writeHead(): Promise<void> {
    const u = this.window.shift()!;
    const replies = await u.done;
    let k = 0;
    let text = '';
    for (const l of u.lines) {
      const r: Reply = l.item === null ? { ok: false, error: l.error! } : replies[k++]!;
      if (r.ok) this.summary.result(r.body, r.replayed);
      else this.summary.error(r.error);
      text += answerLine(l.line, l.txId, r);
    }
    if (!this.out.write(text)) await once(this.out, 'drain');
    this.progress.update({ done: this.summary.done, errors: this.summary.outcomes.error, bytes: this.bytes });
  }

  async drain(): Promise<void> {
    while (this.window.length > 0) await this.writeHead();
  }
}

async function openTarget(v: { url?: string; inProcess: boolean; concurrency: number; batch: number; token: string | null; timeoutMs: number }): Promise<Target> {
  if (v.inProcess) {
    let config;
    try {
      config = loadConfig();
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`score --in-process: ${err.message}`, 'score');
      throw err;
    }
    const level = process.env['LOG_LEVEL'] === undefined ? 'warn' : config.logLevel;
    return LocalTarget.open(config, new Logger(level));
  }
  let url: URL;
  try {
    url = new URL(v.url ?? DEFAULT_URL);
  } catch {
    throw new UsageError(`score: --url must be an http:// or https:// URL, got ${JSON.stringify(v.url)}`, 'score');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`score: --url must be an http:// or https:// URL, got ${JSON.stringify(v.url)}`, 'score');
  const t = new HttpTarget({ url, concurrency: v.concurrency, batch: v.batch, token: v.token, timeoutMs: v.timeoutMs });
  await t.probe();
  return t;
}

export async function scoreCommand(args: string[]): Promise<number> {
  const p = parseCommand(SCORE, args);
  if (p === null) return 0;
  const str = (k: string): string | undefined => p.str(k);
  const concurrency = wholeNumber('score', 'concurrency', str('concurrency'), 8, 1, 4096);
  const batch = wholeNumber('score', 'batch', str('batch'), 1, 1, 100_000);
  const retries = wholeNumber('score', 'retries', str('retries'), 5, 0, 100);
  const timeoutMs = wholeNumber('score', 'timeout-ms', str('timeout-ms'), 30_000, 1);
  const inProcess = p.flag('in-process');
  if (inProcess && str('url') !== undefined) throw new UsageError('score: give --url or --in-process, not both', 'score');
  if (inProcess && batch > 1) throw new UsageError('score: --batch applies to --url (in process, lines scored together share inference runs anyway)', 'score');
  const fromEnv = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);
  const apiKey = str('api-key') ?? fromEnv('SCOREGATE_API_KEY');
  const jwt = str('token') ?? fromEnv('SCOREGATE_TOKEN');
  if (str('api-key') !== undefined && str('token') !== undefined) throw new UsageError('score: give --api-key or --token, not both (each is sent as Authorization: Bearer)', 'score');
  const token = apiKey ?? jwt ?? null;
  const file = p.positionals[0]!;
  if (file !== '-') {
    try {
      await access(file, constants.R_OK);
    } catch {
      throw new UsageError(`score: cannot read FILE.jsonl ${JSON.stringify(file)}`, 'score');
    }
  }

  const target = await openTarget({ url: str('url'), inProcess, concurrency, batch, token, timeoutMs });
  const outPath = str('out');
  const out: Writable = outPath === undefined || outPath === '-' ? process.stdout : createWriteStream(outPath);
  const summary = new ScoreSummary();
  const progress = new Progress('score', await Progress.sizeOf(file));
  const runner = new Runner(target, out, summary, progress, { concurrency, retries });
  try {
    const input = file === '-' ? process.stdin : createReadStream(file);
    input.on('data', (c: Buffer | string) => (runner.bytes += c.length));
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    let unit: Unit['lines'] = [];
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        // Sent alone, in order, so its error line sits where the line was.
        if (unit.length > 0) await runner.submit(unit);
        unit = [];
        await runner.submit([{ line: n, item: null, error: { code: 'INVALID_JSON', message: `line ${n} is not JSON: ${(err as Error).message}` }, txId: null }]);
        continue;
      }
      unit.push({ line: n, item: { line: n, value, text }, error: null, txId: keyOf(value, 'transactionId') });
      if (unit.length >= batch) {
        await runner.submit(unit);
        unit = [];
      }
    }
    if (unit.length > 0) await runner.submit(unit);
    await runner.drain();
  } finally {
    progress.finish();
    await target.close();
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
    }
  }
  process.stderr.write((p.flag('json-summary') ? JSON.stringify(summary.json()) : summary.text()) + '\n');
  if (runner.unreachable !== null) {
    process.stderr.write(`score: the gateway stopped answering (${runner.unreachable.message}); lines after that were not sent\n`);
    return 1;
  }
  return 0;
}
