/**
 * Logging: pino, JSON lines on stderr, one object per line, `level` as its name. Every string a
 * log line carries passes through the privacy masking (src/privacy maskText), so a card number,
 * a CVV or an e-mail address that reaches a message or a field — an error quoting a payload, a
 * key name — is masked in the log too; paths stay (logs are the operator's, not the client's).
 *
 * The call shape stays `log.info(msg, fields)` across the codebase.
 */
import pino, { type Logger as Pino } from 'pino';
import { maskText } from '../privacy/text.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Masks every string in a log object, recursing into plain objects and arrays (bounded depth). */
function scrub(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return maskText(v);
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  if (v instanceof Error) return maskText(String(v));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[maskText(k)] = scrub(x, depth + 1);
  return out;
}

export class Logger {
  private readonly p: Pino;
  constructor(level: LogLevel = 'info', destination: pino.DestinationStream = pino.destination({ fd: 2, sync: true })) {
    this.p = pino(
      {
        level,
        base: undefined, // no pid/hostname on every line
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {
          level: (label) => ({ level: label }),
          log: (obj) => scrub(obj, 0) as Record<string, unknown>,
        },
        hooks: {
          // The message is masked like the fields.
          logMethod(args, method) {
            const a = args as unknown[];
            if (typeof a[1] === 'string') a[1] = maskText(a[1]);
            else if (typeof a[0] === 'string') a[0] = maskText(a[0]);
            return method.apply(this, args);
          },
        },
      },
      destination,
    );
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.p.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.p.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.p.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.p.error(fields ?? {}, msg);
  }
}
