import type { CodeDigits } from '../domain/code-digits.js';
import type { SentinelSettings } from '../redis/settings.js';
import type { Secret } from '../shared/secret.js';
import { accountView, isVariableSet } from './account-names.js';
import { readAccountList } from './accounts.js';
import { deepFreeze, need } from './checked.js';
import { ConfigError } from './errors.js';
import { readRedisSentinel } from './load.js';
import { EnvReader, MAX_NAME_LENGTH, NAME_PATTERN, PREFIX_PATTERN, quote } from './reader.js';
import { readSecretFiles } from './secret-files.js';

/**
 * What `otp-relay code` needs of the relay's configuration: how to reach the relay's Redis, and
 * which account's channels to use. Nothing else is read, so the CLI runs with the relay's
 * environment whatever else it holds, and with only these variables set too.
 */
export interface RedisAccess {
  /** `REDIS_URL` (or `REDIS_URL_FILE`). May carry a password: never log it whole. */
  readonly redisUrl: Secret;
  /** `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`, or `undefined` when neither is set. */
  readonly redisSentinel: SentinelSettings | undefined;
  /** `RELAY_KEY_PREFIX`. */
  readonly keyPrefix: string;
  /** The account: `--account`, else `RELAY_ACCOUNT`, else the one `RELAY_ACCOUNTS` lists. */
  readonly account: string;
  /** The account's `CODE_DIGITS` (its `ACCOUNT_<NAME>_CODE_DIGITS` with `RELAY_ACCOUNTS`). */
  readonly codeDigits: CodeDigits;
}

/**
 * Reads {@link RedisAccess} from `env`, as the relay reads the same variables (same defaults, same
 * checks, `REDIS_URL_FILE` included). `account` (the CLI's `--account`) names the account, in
 * place of `RELAY_ACCOUNT`; with `RELAY_ACCOUNTS`, it must be one of those listed, and is needed
 * when they are several.
 *
 * @throws ConfigError listing every problem; no secret's value appears in it
 */
export function readRedisAccess(
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly account?: string | undefined } = {},
): RedisAccess {
  const redisOnly = { REDIS_URL: env.REDIS_URL, REDIS_URL_FILE: env.REDIS_URL_FILE };
  const files = readSecretFiles(redisOnly);
  const reader = new EnvReader({ ...env, ...files.env }, files);
  const redisUrl = reader.redisUrl();
  const redisSentinel = readRedisSentinel(reader);
  const keyPrefix = reader.name('RELAY_KEY_PREFIX', PREFIX_PATTERN);
  const account = readAccount(reader, env, options.account);
  const several = isVariableSet(env, 'RELAY_ACCOUNTS');
  let codeDigits: CodeDigits | undefined;
  if (account !== undefined) {
    const view = accountView(env, several ? account : undefined);
    const accountReader = new EnvReader(view.env, undefined, view.shown);
    codeDigits = accountReader.codeDigits('CODE_DIGITS');
    reader.problems.push(...accountReader.problems);
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return deepFreeze({
    redisUrl: need(redisUrl),
    redisSentinel,
    keyPrefix: need(keyPrefix),
    account: need(account),
    codeDigits: need(codeDigits),
  });
}

/** The account, as the relay would name it; `given` is `--account`. */
function readAccount(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  given: string | undefined,
): string | undefined {
  if (given !== undefined && (given.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(given))) {
    // Not a variable: the problem names the option.
    reader.problems.push({ variable: '--account', message: `${quote(given)} is not an account name` });
    return undefined;
  }
  if (!isVariableSet(env, 'RELAY_ACCOUNTS')) return given ?? reader.name('RELAY_ACCOUNT', NAME_PATTERN);
  const list = readAccountList(reader, env);
  if (!list.ok) return undefined;
  if (given !== undefined) {
    if (list.names.includes(given)) return given;
    reader.problems.push({
      variable: '--account',
      message: `${quote(given)} is not listed in RELAY_ACCOUNTS (${list.names.join(', ')})`,
    });
    return undefined;
  }
  if (list.names.length === 1) return list.names[0];
  reader.problems.push({
    variable: '--account',
    message: `RELAY_ACCOUNTS lists ${list.names.join(', ')}: name one with --account`,
  });
  return undefined;
}
