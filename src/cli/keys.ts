/** `scoregate keys create|list|revoke`: API keys in AUTH_KEYS_FILE (what they do: src/auth/keys-cli.ts). */
import { createKey, listKeys, revokeKey } from '../auth/keys-cli.js';
import { isRole, ROLES, type Role } from '../auth/roles.js';
import { UsageError, parseCommand, wholeNumber, type CommandSpec } from './args.js';

const FILE = { type: 'string', arg: 'FILE', default: 'AUTH_KEYS_FILE', help: 'the keys file' } as const;

export const KEYS_CREATE: CommandSpec = {
  name: 'keys create',
  usage: '',
  summary: 'Create an API key: printed once on stdout; the keys file keeps only its SHA-256 digest.',
  options: {
    role: { type: 'string', multiple: true, arg: 'ROLE', help: `a role the key holds (${ROLES.join(', ')}); comma-separated or repeated` },
    name: { type: 'string', arg: 'NAME', help: 'who the key is for' },
    rate: { type: 'string', arg: 'N', help: 'requests per second for this key (default: AUTH_RATE_PER_S)' },
    burst: { type: 'string', arg: 'N', help: 'token bucket size for this key (default: AUTH_RATE_BURST)' },
    file: FILE,
  },
  positionals: { min: 0, max: 0, name: '' },
};

export const KEYS_LIST: CommandSpec = {
  name: 'keys list',
  usage: '',
  summary: 'List the keys without secrets: id, name, roles, created, status.',
  options: { json: { type: 'boolean', help: 'as a JSON array' }, file: FILE },
  positionals: { min: 0, max: 0, name: '' },
};

export const KEYS_REVOKE: CommandSpec = {
  name: 'keys revoke',
  usage: 'ID',
  summary: 'Revoke a key (see keys list for ids); a running gateway drops it within a second.',
  options: { file: FILE },
  positionals: { min: 1, max: 1, name: 'ID (see keys list)' },
};

const KEYS_HELP = `Usage: scoregate keys create|list|revoke [options]

API keys in the file AUTH_KEYS_FILE names (or --file).

Subcommands:
  create    create a key (printed once)         scoregate keys create --help
  list      list keys without secrets           scoregate keys list --help
  revoke    revoke a key by id                  scoregate keys revoke --help
`;

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest);
    case 'list': {
      const p = parseCommand(KEYS_LIST, rest);
      if (p !== null) listKeys(p.str('file'), p.flag('json'));
      return 0;
    }
    case 'revoke': {
      const p = parseCommand(KEYS_REVOKE, rest);
      if (p !== null) revokeKey(p.str('file'), p.positionals[0]!);
      return 0;
    }
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(KEYS_HELP);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`keys: unknown subcommand ${JSON.stringify(sub)}; use keys create --role R --name NAME, keys list or keys revoke ID`, 'keys');
  }
}

function create(args: string[]): number {
  const p = parseCommand(KEYS_CREATE, args);
  if (p === null) return 0;
  const roles = p
    .list('role').flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '');
  if (roles.length === 0) throw new UsageError(`keys create: --role is required (${ROLES.join(', ')})`, KEYS_CREATE.name);
  for (const r of roles) if (!isRole(r)) throw new UsageError(`keys create: unknown role ${JSON.stringify(r)} for --role (${ROLES.join(', ')})`, KEYS_CREATE.name);
  const name = (p.str('name') ?? '').trim();
  if (name === '') throw new UsageError('keys create: --name NAME is required (who the key is for)', KEYS_CREATE.name);
  const rate = p.str('rate');
  const burst = p.str('burst');
  createKey({
    file: p.str('file'),
    name,
    roles: roles as Role[],
    ...(rate === undefined ? {} : { ratePerS: wholeNumber(KEYS_CREATE.name, 'rate', rate, 0, 0) }),
    ...(burst === undefined ? {} : { burst: wholeNumber(KEYS_CREATE.name, 'burst', burst, 0, 0) }),
  });
  return 0;
}
