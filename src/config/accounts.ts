import type { CodeDigits } from '../domain/code-digits.js';
import { formatDuration } from '../shared/duration.js';
import type { Secret } from '../shared/secret.js';
import {
  ACCOUNT_PREFIX,
  accountKey,
  accountVariable,
  accountVariablesIn,
  isAccountName,
  isVariableSet,
  parseAccountVariable,
  type AccountView,
} from './account-names.js';
import { freezeUrl, need } from './checked.js';
import type { ConfigProblem } from './errors.js';
import { EnvReader, NAME_PATTERN, quote } from './reader.js';
import { readSecretFiles } from './secret-files.js';
import { CONFIG_VARIABLES } from './variables.js';

/** One account's configuration: what `ACCOUNT_<NAME>_<VARIABLE>`, or the plain variable, gives it. */
export interface AccountConfig {
  /** A name of `RELAY_ACCOUNTS`, or `RELAY_ACCOUNT` when the relay serves one account. */
  readonly name: string;
  readonly etna: {
    /** `ETNA_API_URL`, always ending in `/`, so `token` resolves under it. */
    readonly apiUrl: URL;
    readonly appKey: Secret;
    readonly username: string;
    readonly password: Secret;
    readonly pin: Secret | undefined;
  };
  /** `DISCORD_OPERATOR_IDS`: snowflakes, deduplicated, in the order given. */
  readonly operatorIds: readonly string[];
  readonly codeTimeoutMs: number;
  readonly tokenLifetimeMs: number;
  readonly renewBeforeMs: number;
  readonly validateEveryMs: number;
  readonly loginSchedule: string | undefined;
  readonly loginScheduleTz: string;
  readonly maxCodeAttempts: number;
  /** `CODE_DIGITS`: how many digits a code has, from `minDigits` to `maxDigits`. */
  readonly codeDigits: CodeDigits;
  readonly maxLoginsPerHour: number;
}

/** An account of a `SANDBOX=true` relay: the built-in sandbox broker, the terminal as operators. */
export type SandboxAccountConfig = Omit<AccountConfig, 'etna'> & { readonly etna?: undefined };

/** An account read for a live relay (its `etna` was read): as the type says it is. */
export function withEtna(account: AccountConfig | SandboxAccountConfig): AccountConfig {
  const { etna } = account;
  if (etna === undefined) throw new TypeError('withEtna: an account read without its broker');
  return { ...account, etna };
}

/** An account read for a sandbox relay (no `etna` read). */
export function withoutEtna(account: AccountConfig | SandboxAccountConfig): SandboxAccountConfig {
  const { etna, ...rest } = account;
  if (etna !== undefined) throw new TypeError('withoutEtna: a sandbox account with a broker');
  return rest;
}

/** docs/contract.md#configuration: a login waits at most 10 minutes for its code. */
const MAX_CODE_TIMEOUT_MS = 10 * 60 * 1000;
/** Node timers cannot wait longer than 2^31-1 ms (about 24.8 days): a longer wait fires at once. */
const MAX_TIMER_MS = 24 * 24 * 60 * 60 * 1000;
/** Checking the token more often than this only loads the broker. */
const MIN_VALIDATE_EVERY_MS = 1000;

/** The per-account variables, for messages. */
const PER_ACCOUNT = CONFIG_VARIABLES.filter((v) => v.perAccount).map((v) => v.name);

/** Which accounts the relay serves, as `RELAY_ACCOUNTS` or `RELAY_ACCOUNT` says. */
export interface AccountList {
  /** `RELAY_ACCOUNTS` is set: each account reads its own `ACCOUNT_<NAME>_<VARIABLE>` first. */
  readonly several: boolean;
  /** The names that could be read, in the order given, each once (empty after a problem). */
  readonly names: readonly string[];
  /** Whether the list itself had no problem (only then are `ACCOUNT_…` variables checked against it). */
  readonly ok: boolean;
}

/**
 * `RELAY_ACCOUNTS` (several accounts), or else `RELAY_ACCOUNT` (one), through the global `reader`,
 * which `env` is read by.
 */
export function readAccountList(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
): AccountList {
  const text = reader.text('RELAY_ACCOUNTS');
  if (text === undefined) {
    const name = reader.name('RELAY_ACCOUNT', NAME_PATTERN);
    return { several: false, names: name === undefined ? [] : [name], ok: name !== undefined };
  }
  if (isVariableSet(env, 'RELAY_ACCOUNT')) {
    reader.report(
      'RELAY_ACCOUNTS',
      'RELAY_ACCOUNT and RELAY_ACCOUNTS are both set; set only one of them: RELAY_ACCOUNTS for several accounts, RELAY_ACCOUNT for one',
    );
  }
  const before = reader.problems.length;
  // Empty entries (a trailing comma) are ignored, as in DISCORD_OPERATOR_IDS.
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const invalid = entries.filter((entry) => !isAccountName(entry));
  if (invalid.length > 0) {
    const list = invalid.map(quote).join(', ');
    reader.bad(
      'RELAY_ACCOUNTS',
      `${list} ${invalid.length === 1 ? 'is not an account name' : 'are not account names'}`,
    );
  }
  const names = [...new Set(entries.filter(isAccountName))];
  const repeated = names.filter((name) => entries.filter((entry) => entry === name).length > 1);
  if (repeated.length > 0) {
    reader.bad('RELAY_ACCOUNTS', `lists ${repeated.map(quote).join(', ')} more than once`);
  }
  for (const [key, sharing] of groupByKey(names)) {
    if (sharing.length < 2) continue;
    reader.bad(
      'RELAY_ACCOUNTS',
      `${sharing.map(quote).join(' and ')} would share the variables ${ACCOUNT_PREFIX}${key}_…, as - is written _ there; name them apart by more than - and _`,
    );
  }
  if (entries.length === 0) reader.bad('RELAY_ACCOUNTS', 'lists no account');
  return { several: true, names, ok: reader.problems.length === before };
}

function groupByKey(names: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const key = accountKey(name);
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  return groups;
}

/**
 * Every `ACCOUNT_…` variable `env` sets that is not a listed account's own value of a per-account
 * variable: for an account not listed (a typo must not leave an account on another's credentials),
 * of a global variable, of no variable, or with no `RELAY_ACCOUNTS` at all. Names only, never values.
 */
export function checkAccountVariables(
  env: Readonly<Record<string, string | undefined>>,
  list: AccountList,
): ConfigProblem[] {
  const names = accountVariablesIn(env).sort();
  if (!list.several) {
    return names.map((variable) => ({
      variable,
      message: `RELAY_ACCOUNTS is not set; ${ACCOUNT_PREFIX}<NAME>_<VARIABLE> variables are read only for the accounts RELAY_ACCOUNTS lists`,
    }));
  }
  // A list with a problem cannot tell a misspelt account from a misspelt list.
  if (!list.ok) return [];
  const keys = list.names.map(accountKey);
  const listed = `RELAY_ACCOUNTS lists ${list.names.join(', ')}`;
  const problems: ConfigProblem[] = [];
  for (const variable of names) {
    const parsed = parseAccountVariable(variable, keys);
    const problem = (message: string): void => void problems.push({ variable, message });
    switch (parsed.kind) {
      case 'variable': {
        const shared = CONFIG_VARIABLES.find((v) => v.name === parsed.variable && !v.perAccount);
        if (shared !== undefined) {
          problem(
            `${shared.name} is global, the same for every account: set ${parsed.file ? `${shared.name}_FILE` : shared.name} instead`,
          );
        }
        break;
      }
      case 'unlisted-account':
        problem(`names an account ${parsed.key} that is not listed (${listed}); check the name`);
        break;
      case 'unknown-variable':
        problem(`${parsed.rest} is not a per-account variable; expected one of ${PER_ACCOUNT.join(', ')}`);
        break;
      case 'no-account':
        problem(`names no account; expected ${accountVariable('<name>', parsed.variable)} (${listed})`);
        break;
      case 'unknown':
        problem(
          `is not a setting of one account; expected ${ACCOUNT_PREFIX}<NAME>_<VARIABLE> (${listed}; <NAME> upper-cased, - written _)`,
        );
        break;
    }
  }
  return problems;
}

/**
 * One account's settings, from its view of the environment (see `accountView`): each problem named
 * as the user must write the variable. The account is `undefined` when there is a problem.
 */
export function readAccount(
  name: string,
  view: AccountView,
  live = true,
): {
  readonly account: AccountConfig | SandboxAccountConfig | undefined;
  readonly problems: readonly ConfigProblem[];
} {
  const files = readSecretFiles(view.env, view.shown);
  const reader = new EnvReader(files.env, files, view.shown);

  // The sandbox's broker and operators are built in: their variables are not read, so a placeholder
  // or a real value there neither stops the start nor is used. A broker URL is refused, though:
  // with it set, the relay would look as if it talked to that broker.
  if (!live && reader.isSet('ETNA_API_URL')) {
    reader.conflict(
      'ETNA_API_URL',
      'is set, but SANDBOX=true runs against the built-in sandbox broker, never another one; unset ETNA_API_URL, or set SANDBOX=false',
    );
  }
  const apiUrl = live ? reader.httpUrl('ETNA_API_URL', 'directory') : undefined;
  const appKey = live ? reader.headerSecret('ETNA_APP_KEY') : undefined;
  const username = live ? reader.headerText('ETNA_USERNAME') : undefined;
  const password = live ? reader.headerSecret('ETNA_PASSWORD') : undefined;
  const pin = live ? reader.optionalHeaderSecret('ETNA_PIN') : undefined;
  const operatorIds = live ? reader.operatorIds() : [];
  const codeTimeoutMs = reader.duration('CODE_TIMEOUT', 1, MAX_CODE_TIMEOUT_MS);
  const tokenLifetimeMs = reader.duration('TOKEN_LIFETIME', 1, MAX_TIMER_MS);
  const renewBeforeMs = reader.duration('RENEW_BEFORE', 1, MAX_TIMER_MS);
  if (renewBeforeMs !== undefined && tokenLifetimeMs !== undefined && renewBeforeMs >= tokenLifetimeMs) {
    reader.bad(
      'RENEW_BEFORE',
      `${formatDuration(renewBeforeMs)} is not less than ${reader.shown('TOKEN_LIFETIME')} (${formatDuration(tokenLifetimeMs)})`,
    );
  }
  const validateEveryMs = reader.duration('VALIDATE_EVERY', MIN_VALIDATE_EVERY_MS, MAX_TIMER_MS);
  const loginScheduleTz = reader.timeZone('LOGIN_SCHEDULE_TZ');
  const loginSchedule = reader.cron('LOGIN_SCHEDULE', loginScheduleTz ?? 'UTC');
  const maxCodeAttempts = reader.integer('MAX_CODE_ATTEMPTS', 1, 10);
  const codeDigits = reader.codeDigits('CODE_DIGITS');
  const maxLoginsPerHour = reader.integer('MAX_LOGINS_PER_HOUR', 1, 60);

  if (reader.problems.length > 0) return { account: undefined, problems: reader.problems };
  // Every value below was checked: only a reported problem leaves one undefined.
  const etna = live
    ? {
        apiUrl: freezeUrl(need(apiUrl)),
        appKey: need(appKey),
        username: need(username),
        password: need(password),
        pin,
      }
    : undefined;
  const account: AccountConfig | SandboxAccountConfig = {
    name,
    ...(etna === undefined ? {} : { etna }),
    operatorIds: need(operatorIds),
    codeTimeoutMs: need(codeTimeoutMs),
    tokenLifetimeMs: need(tokenLifetimeMs),
    renewBeforeMs: need(renewBeforeMs),
    validateEveryMs: need(validateEveryMs),
    loginSchedule,
    loginScheduleTz: need(loginScheduleTz),
    maxCodeAttempts: need(maxCodeAttempts),
    codeDigits: need(codeDigits),
    maxLoginsPerHour: need(maxLoginsPerHour),
  };
  return { account, problems: [] };
}
