import { parseArgs } from 'node:util';
import { parseDuration } from '../shared/duration.js';

/** How long `otp-relay code` waits for the relay's answer by default. */
export const DEFAULT_TIMEOUT_MS = 30_000;
const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 10 * 60_000;

/** The command line's help. Printed for `--help`, and after a usage error. */
export const USAGE = `Usage: otp-relay code <CODE> [--account NAME] [--timeout 30s]

Enters an SMS code for the login that waits, exactly as an operator's DM reply would, and
prints what became of it: the way in when Discord is down. It talks only to Redis, with the
relay's own settings, from the environment or a .env file: REDIS_URL (or REDIS_URL_FILE),
REDIS_SENTINELS and REDIS_SENTINEL_MASTER, RELAY_KEY_PREFIX, RELAY_ACCOUNT (or RELAY_ACCOUNTS)
and CODE_DIGITS.

  --account NAME   the account whose login waits, in place of RELAY_ACCOUNT; needed
                   when RELAY_ACCOUNTS lists several
  --timeout 30s    how long to wait for the relay's answer, 1s to 10m (default 30s)
  -h, --help       this text

Exit status: 0 the code was taken and the login succeeded; 1 the code was refused or the
login failed; 2 a usage or configuration error; 3 no relay answered (the code was not used).`;

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'code';
      /** The code as given (several words are joined by single spaces: `code 123 456`). A secret. */
      readonly text: string;
      readonly account: string | undefined;
      readonly timeoutMs: number;
    };

/** What {@link parseCliArgs} found: a command, or what is wrong (never quoting an argument). */
export type ParsedCliArgs =
  { readonly ok: true; readonly command: CliCommand } | { readonly ok: false; readonly message: string };

/**
 * Reads the arguments after `otp-relay` (`process.argv.slice(2)`). Never throws. A usage error's
 * message quotes no argument, since any of them may be the code.
 */
export function parseCliArgs(argv: readonly string[]): ParsedCliArgs {
  let values: { account?: string | undefined; timeout?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        account: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { ok: false, message: parseArgsProblem(error) };
  }
  if (values.help === true) return { ok: true, command: { kind: 'help' } };
  const [command, ...words] = positionals;
  if (command === undefined) return { ok: false, message: 'no command given (the only one is "code")' };
  if (command === 'help') return { ok: true, command: { kind: 'help' } };
  if (command !== 'code') return { ok: false, message: 'unknown command (the only one is "code")' };
  const text = words.join(' ');
  if (text.trim() === '') return { ok: false, message: 'the code is missing: otp-relay code <CODE>' };
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    const parsed = parseDuration(values.timeout);
    if (parsed === undefined || parsed < MIN_TIMEOUT_MS || parsed > MAX_TIMEOUT_MS) {
      return { ok: false, message: '--timeout takes a duration from 1s to 10m, such as 30s or 2m' };
    }
    timeoutMs = parsed;
  }
  return {
    ok: true,
    command: { kind: 'code', text, account: values.account, timeoutMs },
  };
}

/** node:util's parse error, told without the argument it quotes. */
function parseArgsProblem(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return 'unknown option (the options are --account, --timeout and --help; a code never starts with -)';
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return '--account and --timeout each take a value, and --help none';
    default:
      return 'the arguments cannot be read';
  }
}
