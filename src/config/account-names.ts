import type { ShownName } from './reader.js';
import { CONFIG_VARIABLES, FILE_SUFFIX, type ConfigVariableName } from './variables.js';

/**
 * Names for several accounts (docs/contract.md#several-accounts): an account's name in
 * `RELAY_ACCOUNTS`, its `<NAME>` in `ACCOUNT_<NAME>_<VARIABLE>`, and the environment one account
 * reads, its own variables in place of the plain ones. No I/O, no problem reported here.
 */

/** What every one account's variable starts with. */
export const ACCOUNT_PREFIX = 'ACCOUNT_';

/** The longest account name `RELAY_ACCOUNTS` takes. */
export const MAX_ACCOUNT_NAME_LENGTH = 32;

/** An account name of `RELAY_ACCOUNTS`: lower-case, so that `<NAME>` (upper-cased) maps back to it. */
export const ACCOUNT_NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

/** Whether `name` can be listed in `RELAY_ACCOUNTS`. */
export function isAccountName(name: string): boolean {
  return ACCOUNT_NAME_PATTERN.test(name);
}

/**
 * The `<NAME>` of an account's variables: the name upper-cased, `-` written `_` (a variable name
 * cannot hold `-`). Two names that differ only in `-` and `_` share it, so `RELAY_ACCOUNTS` refuses
 * them together.
 */
export function accountKey(account: string): string {
  return account.toUpperCase().replaceAll('-', '_');
}

/** The name of one account's own `variable`: `ACCOUNT_<NAME>_<variable>`. */
export function accountVariable(account: string, variable: string): string {
  return `${ACCOUNT_PREFIX}${accountKey(account)}_${variable}`;
}

/** Every variable, and every secret's file variant, by the name written in the environment. */
const VARIABLES_BY_NAME = new Map<string, { readonly variable: ConfigVariableName; readonly file: boolean }>(
  CONFIG_VARIABLES.flatMap((v) => {
    const entries: [string, { variable: ConfigVariableName; file: boolean }][] = [
      [v.name, { variable: v.name, file: false }],
    ];
    if (v.secret) entries.push([`${v.name}${FILE_SUFFIX}`, { variable: v.name, file: true }]);
    return entries;
  }),
);

/** Longest first, so that a name ending in `ETNA_PASSWORD_FILE` is not taken for one in `FILE`. */
const NAMES_LONGEST_FIRST = [...VARIABLES_BY_NAME.keys()].sort((a, b) => b.length - a.length);

/** What an `ACCOUNT_…` variable's name says, given the `<NAME>`s of the accounts listed. */
export type AccountVariableName =
  /** A listed account's own value of a variable, or of its file variant (`file`). */
  | {
      readonly kind: 'variable';
      readonly key: string;
      readonly variable: ConfigVariableName;
      readonly file: boolean;
    }
  /** A known variable after a `<NAME>` no listed account has. */
  | { readonly kind: 'unlisted-account'; readonly key: string; readonly variable: string }
  /** A listed account's `<NAME>`, then no variable the relay knows. */
  | { readonly kind: 'unknown-variable'; readonly key: string; readonly rest: string }
  /** `ACCOUNT_` and a variable, no `<NAME>` between them. */
  | { readonly kind: 'no-account'; readonly variable: string }
  /** Neither. */
  | { readonly kind: 'unknown' };

/**
 * Reads `ACCOUNT_<NAME>_<VARIABLE>` back into `<NAME>` and `<VARIABLE>`. Unambiguous because no
 * variable's name ends in `_` and another's (a test keeps it so), even when one `<NAME>` starts
 * with another (`A` and `A_B`).
 *
 * @param keys the `<NAME>` of every account listed
 */
export function parseAccountVariable(name: string, keys: readonly string[]): AccountVariableName {
  if (!name.startsWith(ACCOUNT_PREFIX)) return { kind: 'unknown' };
  const rest = name.slice(ACCOUNT_PREFIX.length);
  for (const key of keys) {
    const known = rest.startsWith(`${key}_`) ? VARIABLES_BY_NAME.get(rest.slice(key.length + 1)) : undefined;
    if (known !== undefined) return { kind: 'variable', key, ...known };
  }
  const variable = NAMES_LONGEST_FIRST.find(
    (candidate) => rest.length > candidate.length + 1 && rest.endsWith(`_${candidate}`),
  );
  if (variable !== undefined) {
    return { kind: 'unlisted-account', key: rest.slice(0, -variable.length - 1), variable };
  }
  const key = [...keys].sort((a, b) => b.length - a.length).find((k) => rest.startsWith(`${k}_`));
  if (key !== undefined) return { kind: 'unknown-variable', key, rest: rest.slice(key.length + 1) };
  if (VARIABLES_BY_NAME.has(rest)) return { kind: 'no-account', variable: rest };
  return { kind: 'unknown' };
}

/** What one account reads: its variables under their plain names, and how problems name them. */
export interface AccountView {
  /** Every per-account variable (and secret file variant), as this account takes it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The name a problem of a variable gives: the one that was set, or the one to set. */
  readonly shown: ShownName;
}

/** Set to something other than blanks: unset and empty variables are the same. */
function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}

/** Whether `env` sets `variable`, or its file variant when it is a secret, under `prefix`. */
function setsVariable(
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
  variable: { readonly name: string; readonly secret: boolean },
): boolean {
  return (
    isSet(env[`${prefix}${variable.name}`]) ||
    (variable.secret && isSet(env[`${prefix}${variable.name}${FILE_SUFFIX}`]))
  );
}

/**
 * The environment as one account reads it: the per-account variables under their plain names.
 *
 * With `account` (several accounts), each is the account's own `ACCOUNT_<NAME>_<VARIABLE>` where it
 * sets it (or its `_FILE`), and the plain variable otherwise; a secret and its file variant always
 * come from the same side, so an account's own file is never set against a plain value. Problems
 * name the variable that was set, or the account's own one when neither was.
 *
 * Without `account` (one account, no `RELAY_ACCOUNTS`), the plain variables, as they are.
 */
export function accountView(
  env: Readonly<Record<string, string | undefined>>,
  account: string | undefined,
): AccountView {
  const view: Record<string, string | undefined> = {};
  const shownNames = new Map<string, string>();
  const prefix = account === undefined ? '' : `${ACCOUNT_PREFIX}${accountKey(account)}_`;
  for (const variable of CONFIG_VARIABLES) {
    if (!variable.perAccount) continue;
    const own = prefix !== '' && setsVariable(env, prefix, variable);
    const from = own ? prefix : '';
    view[variable.name] = env[`${from}${variable.name}`];
    if (variable.secret) {
      const file = `${variable.name}${FILE_SUFFIX}`;
      view[file] = env[`${from}${file}`];
    }
    const named = own || !setsVariable(env, '', variable) ? prefix : '';
    shownNames.set(variable.name, `${named}${variable.name}`);
  }
  return { env: view, shown: (variable) => shownNames.get(variable) ?? variable };
}

/** The global variables of `env` (and their file variants): what every account shares. */
export function globalView(
  env: Readonly<Record<string, string | undefined>>,
): Readonly<Record<string, string | undefined>> {
  const view: Record<string, string | undefined> = {};
  for (const variable of CONFIG_VARIABLES) {
    if (variable.perAccount) continue;
    view[variable.name] = env[variable.name];
    if (variable.secret) view[`${variable.name}${FILE_SUFFIX}`] = env[`${variable.name}${FILE_SUFFIX}`];
  }
  return view;
}

/** The names in `env` that start with `ACCOUNT_` and are set: each must belong to a listed account. */
export function accountVariablesIn(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((name) => name.startsWith(ACCOUNT_PREFIX) && isSet(env[name]));
}

/** Whether `env` sets `name` to something other than blanks. */
export function isVariableSet(env: Readonly<Record<string, string | undefined>>, name: string): boolean {
  return isSet(env[name]);
}
