import type { Secret } from '../shared/secret.js';
import { isMasterName, parseSentinelNodes, type SentinelSettings } from '../redis/settings.js';
import {
  ACCOUNT_PREFIX,
  accountKey,
  accountView,
  globalView,
  parseAccountVariable,
} from './account-names.js';
import {
  checkAccountVariables,
  readAccount,
  readAccountList,
  withEtna,
  withoutEtna,
  type AccountConfig,
  type SandboxAccountConfig,
} from './accounts.js';
import { deepFreeze, need } from './checked.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { EnvReader, PREFIX_PATTERN, quote } from './reader.js';
import { readSecretFiles } from './secret-files.js';
import { CONFIG_VARIABLES, FILE_SUFFIX } from './variables.js';

/** What every relay is configured with, sandbox or not. */
interface CommonConfig {
  /** `REDIS_URL`. May carry a password: never log it whole. */
  readonly redisUrl: Secret;
  /** `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both, or `undefined` when neither is set. */
  readonly redisSentinel: SentinelSettings | undefined;
  readonly keyPrefix: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
}

/** The operators' Discord bot: `DISCORD_TOKEN`, `DISCORD_API_URL` (the operators are per account). */
export interface DiscordConfig {
  readonly token: Secret;
  /** `DISCORD_API_URL`, discord.js `rest.api`, without a trailing `/`. */
  readonly apiUrl: string;
}

/**
 * A relay for real broker accounts, whose operators are on Discord (`SANDBOX=false`, the default):
 * what every account shares, and each account's own settings (docs/contract.md#several-accounts).
 */
export interface LiveConfig extends CommonConfig {
  readonly sandbox: false;
  readonly discord: DiscordConfig;
  /**
   * The accounts, in the order `RELAY_ACCOUNTS` lists them; without it, the one account
   * `RELAY_ACCOUNT` names, configured by the plain variables.
   */
  readonly accounts: readonly [AccountConfig, ...AccountConfig[]];
}

/**
 * `SANDBOX=true`: the relay against the built-in sandbox broker, with the terminal as the operators'
 * channel. No broker account and no Discord bot: the `ETNA_*` and `DISCORD_*` variables are not read.
 */
export interface SandboxConfig extends CommonConfig {
  readonly sandbox: true;
  readonly discord?: undefined;
  readonly accounts: readonly [SandboxAccountConfig, ...SandboxAccountConfig[]];
}

/** The relay's whole configuration, parsed and frozen. Only the composition root builds one. */
export type Config = LiveConfig | SandboxConfig;

/**
 * Reads the relay's configuration from `env` (the composition root passes `process.env`).
 *
 * Unset and empty variables take their default. Each secret may instead be given as `NAME_FILE`,
 * the path of a file that holds it (Docker secrets): read here, its trailing line break dropped.
 * With `RELAY_ACCOUNTS`, each account reads `ACCOUNT_<NAME>_<VARIABLE>` where it sets one and the
 * plain variable otherwise; every other `ACCOUNT_…` variable is a problem. Every variable is checked
 * before anything is reported, so one start shows every problem at once.
 *
 * @throws ConfigError listing every problem; no secret's value appears in it
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const files = readSecretFiles(globalView(env));
  const reader = new EnvReader(files.env, files);

  const sandbox = reader.boolean('SANDBOX');
  const live = sandbox === false;
  const discordToken = live ? reader.discordToken() : undefined;
  const discordApiUrl = live ? reader.httpUrl('DISCORD_API_URL', 'no-trailing-slash') : undefined;
  const redisUrl = reader.redisUrl();
  const redisSentinel = readRedisSentinel(reader);
  const keyPrefix = reader.name('RELAY_KEY_PREFIX', PREFIX_PATTERN);
  const list = readAccountList(reader, env);
  const httpHost = reader.host('HTTP_HOST');
  const httpPort = reader.integer('HTTP_PORT', 0, 65535);
  const logLevel = reader.logLevel('LOG_LEVEL');

  const problems = [...reader.problems, ...checkAccountVariables(env, list)];
  // Several accounts each read their own view. One account, or a list of which no name could be
  // read, reads the plain variables, so that their problems are still reported.
  const scopes =
    list.several && list.names.length > 0
      ? list.names.map((name) => ({ name, view: accountView(env, name) }))
      : [{ name: list.names[0] ?? '', view: accountView(env, undefined) }];
  const accounts: (AccountConfig | SandboxAccountConfig)[] = [];
  for (const { name, view } of scopes) {
    const read = readAccount(name, view, live);
    if (read.account !== undefined) accounts.push(read.account);
    problems.push(...read.problems);
  }

  if (problems.length > 0) {
    throw new ConfigError(inTableOrder(withoutRepeats(problems), list.several ? list.names : []));
  }
  // Every value below was checked: only a reported problem leaves one undefined.
  const common: CommonConfig = {
    redisUrl: need(redisUrl),
    redisSentinel,
    keyPrefix: need(keyPrefix),
    http: { host: need(httpHost), port: need(httpPort) },
    logLevel: need(logLevel),
  };
  const [first, ...rest] = accounts;
  const config: Config = live
    ? {
        sandbox: false,
        discord: { token: need(discordToken), apiUrl: need(discordApiUrl).href.replace(/\/+$/, '') },
        ...common,
        accounts: [withEtna(need(first)), ...rest.map(withEtna)],
      }
    : { sandbox: true, ...common, accounts: [withoutEtna(need(first)), ...rest.map(withoutEtna)] };
  return deepFreeze(config);
}

/**
 * Each problem once: a plain variable every account falls back to is read, and reported, by each.
 */
function withoutRepeats(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = JSON.stringify([p.variable, p.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Problems in the order of {@link CONFIG_VARIABLES}, whatever order they were checked in; one
 * variable's problems in the order of the accounts, the plain variable's first. A variable that is
 * no listed account's own ranks with `RELAY_ACCOUNTS`.
 */
function inTableOrder(problems: readonly ConfigProblem[], accounts: readonly string[]): ConfigProblem[] {
  const keys = accounts.map(accountKey);
  const rank = (problem: ConfigProblem): [number, number] => {
    let name = problem.variable;
    let account = 0;
    if (name.startsWith(ACCOUNT_PREFIX)) {
      const parsed = parseAccountVariable(name, keys);
      const own =
        parsed.kind === 'variable' &&
        CONFIG_VARIABLES.some((v) => v.name === parsed.variable && v.perAccount);
      name = own ? parsed.variable : 'RELAY_ACCOUNTS';
      account = own ? keys.indexOf(parsed.key) + 1 : 0;
    }
    // A file variable ranks with its secret: ETNA_PASSWORD_FILE where ETNA_PASSWORD stands.
    if (name.endsWith(FILE_SUFFIX)) name = name.slice(0, -FILE_SUFFIX.length);
    return [CONFIG_VARIABLES.findIndex((v) => v.name === name), account];
  };
  return [...problems]
    .map((problem) => ({ problem, rank: rank(problem) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1])
    .map(({ problem }) => problem);
}

/**
 * `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both or neither; with them, the sentinels' own
 * login (`REDIS_SENTINEL_USERNAME`, `REDIS_SENTINEL_PASSWORD`) and `REDIS_SENTINEL_TLS`. `REDIS_URL`
 * then gives only the user, the password and (`rediss://`) TLS to the master: its host and port are
 * not used (see redis/sentinel-proxy.ts).
 */
export function readRedisSentinel(reader: EnvReader): SentinelSettings | undefined {
  const nodesText = reader.text('REDIS_SENTINELS');
  const masterName = reader.text('REDIS_SENTINEL_MASTER');
  const username = reader.text('REDIS_SENTINEL_USERNAME');
  const password = reader.optionalSecret('REDIS_SENTINEL_PASSWORD');
  const tls = reader.flag('REDIS_SENTINEL_TLS');
  if (nodesText === undefined && masterName === undefined) {
    const stray = (
      [
        ['REDIS_SENTINEL_USERNAME', username !== undefined],
        ['REDIS_SENTINEL_PASSWORD', password !== undefined],
        ['REDIS_SENTINEL_TLS', tls === true],
      ] as const
    ).filter(([, set]) => set);
    for (const [name] of stray) reader.bad(name, 'is set but REDIS_SENTINELS is not');
    return undefined;
  }
  if (nodesText === undefined)
    return reader.bad('REDIS_SENTINELS', 'is not set but REDIS_SENTINEL_MASTER is');
  if (masterName === undefined) {
    return reader.bad('REDIS_SENTINEL_MASTER', 'is not set but REDIS_SENTINELS is');
  }
  const nodes = parseSentinelNodes(nodesText);
  if (!nodes.ok) reader.bad('REDIS_SENTINELS', nodes.error);
  const nameOk = isMasterName(masterName);
  if (!nameOk) reader.bad('REDIS_SENTINEL_MASTER', `${quote(masterName)} is not a master name`);
  if (username !== undefined && !/^[!-~]+$/.test(username)) {
    reader.bad('REDIS_SENTINEL_USERNAME', `${quote(username)} is not a user name`);
  }
  if (username !== undefined && password === undefined) {
    reader.bad('REDIS_SENTINEL_USERNAME', 'is set but REDIS_SENTINEL_PASSWORD is not');
  }
  if (!nodes.ok || !nameOk) return undefined;
  return {
    sentinels: nodes.nodes,
    masterName,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === true ? { tls } : {}),
  };
}
