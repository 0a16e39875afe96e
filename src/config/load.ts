import assert from 'node:assert/strict';

import type { CodeDigits } from '../domain/code-digits.js';
import { formatDuration } from '../shared/duration.js';
import type { Secret } from '../shared/secret.js';
import { parseSentinelNodes, type SentinelNode } from '../shared/sentinel-proxy.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { EnvReader, MAX_NAME_LENGTH, NAME_PATTERN, PREFIX_PATTERN, quote } from './reader.js';
import { readSecretFiles } from './secret-files.js';
import { CONFIG_VARIABLES, FILE_SUFFIX } from './variables.js';

/** The broker account: `ETNA_*`. */
export interface EtnaConfig {
  /** `ETNA_API_URL`, always ending in `/`, so `token` resolves under it. */
  readonly apiUrl: URL;
  readonly appKey: Secret;
  readonly username: string;
  readonly password: Secret;
  readonly pin: Secret | undefined;
}

/** The operators' Discord bot: `DISCORD_*`. */
export interface DiscordConfig {
  readonly token: Secret;
  /** Snowflakes, deduplicated, in the order given. */
  readonly operatorIds: readonly string[];
  /** `DISCORD_API_URL`, discord.js `rest.api`, without a trailing `/`. */
  readonly apiUrl: string;
}

/** What every relay is configured with, sandbox or not. */
interface CommonConfig {
  /** `REDIS_URL`. May carry a password: never log it whole. */
  readonly redisUrl: Secret;
  /** `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both, or `undefined` when neither is set. */
  readonly redisSentinel: RedisSentinelConfig | undefined;
  readonly account: string;
  readonly keyPrefix: string;
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
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
}

/** A relay for a real broker account, whose operators are on Discord (`SANDBOX=false`, the default). */
export interface LiveConfig extends CommonConfig {
  readonly sandbox: false;
  readonly etna: EtnaConfig;
  readonly discord: DiscordConfig;
}

/**
 * `SANDBOX=true`: the relay against the built-in sandbox broker, with the terminal as the operators'
 * channel. No broker account and no Discord bot: the `ETNA_*` and `DISCORD_*` variables are not read.
 */
export interface SandboxConfig extends CommonConfig {
  readonly sandbox: true;
  readonly etna?: undefined;
  readonly discord?: undefined;
}

/** The relay's whole configuration, parsed and frozen. Only the composition root builds one. */
export type Config = LiveConfig | SandboxConfig;

/** docs/contract.md#configuration: a login waits at most 10 minutes for its code. */
const MAX_CODE_TIMEOUT_MS = 10 * 60 * 1000;
/** Node timers cannot wait longer than 2^31-1 ms (about 24.8 days): a longer wait fires at once. */
const MAX_TIMER_MS = 24 * 24 * 60 * 60 * 1000;
/** Checking the token more often than this only loads the broker. */
const MIN_VALIDATE_EVERY_MS = 1000;

/**
 * Reads the relay's configuration from `env` (the composition root passes `process.env`).
 *
 * Unset and empty variables take their default. Each secret may instead be given as `NAME_FILE`,
 * the path of a file that holds it (Docker secrets): read here, its trailing line break dropped. Every variable is checked before anything is
 * reported, so one start shows every problem at once.
 *
 * @throws ConfigError listing every problem; no secret's value appears in it
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const files = readSecretFiles(env);
  const reader = new EnvReader(files.env, files);

  const sandbox = reader.boolean('SANDBOX');
  // In the sandbox the broker and the operators' channel are built in: their variables are not
  // read, so a placeholder or a real value there neither stops the start nor is used. A broker URL
  // is refused, though: with it set, the relay would look as if it talked to that broker.
  if (sandbox === true && reader.isSet('ETNA_API_URL')) {
    reader.conflict(
      'ETNA_API_URL',
      'is set, but SANDBOX=true runs against the built-in sandbox broker, never another one; unset ETNA_API_URL, or set SANDBOX=false',
    );
  }
  const live = sandbox === false ? readLive(reader) : undefined;
  const redisUrl = reader.redisUrl();
  const redisSentinel = readRedisSentinel(reader, redisUrl);
  const account = reader.name('RELAY_ACCOUNT', NAME_PATTERN);
  const keyPrefix = reader.name('RELAY_KEY_PREFIX', PREFIX_PATTERN);
  const codeTimeoutMs = reader.duration('CODE_TIMEOUT', 1, MAX_CODE_TIMEOUT_MS);
  const tokenLifetimeMs = reader.duration('TOKEN_LIFETIME', 1, MAX_TIMER_MS);
  const renewBeforeMs = reader.duration('RENEW_BEFORE', 1, MAX_TIMER_MS);
  if (renewBeforeMs !== undefined && tokenLifetimeMs !== undefined && renewBeforeMs >= tokenLifetimeMs) {
    reader.bad(
      'RENEW_BEFORE',
      `${formatDuration(renewBeforeMs)} is not less than TOKEN_LIFETIME (${formatDuration(tokenLifetimeMs)})`,
    );
  }
  const validateEveryMs = reader.duration('VALIDATE_EVERY', MIN_VALIDATE_EVERY_MS, MAX_TIMER_MS);
  const loginScheduleTz = reader.timeZone('LOGIN_SCHEDULE_TZ');
  const loginSchedule = reader.cron('LOGIN_SCHEDULE', loginScheduleTz ?? 'UTC');
  const maxCodeAttempts = reader.integer('MAX_CODE_ATTEMPTS', 1, 10);
  const codeDigits = reader.codeDigits('CODE_DIGITS');
  const maxLoginsPerHour = reader.integer('MAX_LOGINS_PER_HOUR', 1, 60);
  const httpHost = reader.host('HTTP_HOST');
  const httpPort = reader.integer('HTTP_PORT', 0, 65535);
  const logLevel = reader.logLevel('LOG_LEVEL');

  if (reader.problems.length > 0) throw new ConfigError(inTableOrder(reader.problems));
  // Every value below was checked: only a reported problem leaves one undefined.
  const common: CommonConfig = {
    redisUrl: need(redisUrl),
    redisSentinel,
    account: need(account),
    keyPrefix: need(keyPrefix),
    codeTimeoutMs: need(codeTimeoutMs),
    tokenLifetimeMs: need(tokenLifetimeMs),
    renewBeforeMs: need(renewBeforeMs),
    validateEveryMs: need(validateEveryMs),
    loginSchedule,
    loginScheduleTz: need(loginScheduleTz),
    maxCodeAttempts: need(maxCodeAttempts),
    codeDigits: need(codeDigits),
    maxLoginsPerHour: need(maxLoginsPerHour),
    http: { host: need(httpHost), port: need(httpPort) },
    logLevel: need(logLevel),
  };
  const config: Config =
    sandbox === true ? { sandbox: true, ...common } : { sandbox: false, ...need(live)(), ...common };
  return deepFreeze(config);
}

/**
 * Reads the broker account's and Discord's variables (a relay that is not a sandbox needs them);
 * returns how to build them once every variable was read without a problem.
 */
function readLive(reader: EnvReader): () => Pick<LiveConfig, 'etna' | 'discord'> {
  const etnaApiUrl = reader.httpUrl('ETNA_API_URL', 'directory');
  const appKey = reader.headerSecret('ETNA_APP_KEY');
  const username = reader.headerText('ETNA_USERNAME');
  const password = reader.headerSecret('ETNA_PASSWORD');
  const pin = reader.optionalHeaderSecret('ETNA_PIN');
  const discordToken = reader.discordToken();
  const operatorIds = reader.operatorIds();
  const discordApiUrl = reader.httpUrl('DISCORD_API_URL', 'no-trailing-slash');
  return () => ({
    etna: {
      apiUrl: freezeUrl(need(etnaApiUrl)),
      appKey: need(appKey),
      username: need(username),
      password: need(password),
      pin,
    },
    discord: {
      token: need(discordToken),
      operatorIds: need(operatorIds),
      apiUrl: need(discordApiUrl).href.replace(/\/+$/, ''),
    },
  });
}

/** Problems in the order of {@link CONFIG_VARIABLES}, whatever order they were checked in. */
function inTableOrder(problems: readonly ConfigProblem[]): ConfigProblem[] {
  // A file variable ranks with its secret: ETNA_PASSWORD_FILE where ETNA_PASSWORD stands.
  const rank = (problem: ConfigProblem): number => {
    const name = problem.variable.endsWith(FILE_SUFFIX)
      ? problem.variable.slice(0, -FILE_SUFFIX.length)
      : problem.variable;
    return CONFIG_VARIABLES.findIndex((v) => v.name === name);
  };
  return [...problems].sort((a, b) => rank(a) - rank(b));
}

/** Narrows a value {@link loadConfig} has already checked. */
function need<T>(value: T | undefined): T {
  assert(value !== undefined, 'loadConfig: a checked value is missing');
  return value;
}

const URL_PARTS = [
  'hash',
  'host',
  'hostname',
  'href',
  'password',
  'pathname',
  'port',
  'protocol',
  'search',
  'username',
] as const;

/**
 * Makes a URL read-only. `Object.freeze` alone does not: URL's setters change private state. Own
 * read-only properties shadow the setters (assigning throws in strict mode), and `searchParams` is a
 * detached copy, so changing it cannot reach the URL.
 */
function freezeUrl(url: URL): URL {
  for (const part of URL_PARTS) {
    Object.defineProperty(url, part, { value: url[part], writable: false, enumerable: false });
  }
  Object.defineProperty(url, 'searchParams', { value: new URLSearchParams(url.search), enumerable: false });
  return Object.freeze(url);
}

/** Freezes `value` and every plain object and array under it (a Secret or a URL is frozen, not entered). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return Object.freeze(value);
}

/** Redis Sentinel, as `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER` give it. */
export interface RedisSentinelConfig {
  /** The sentinels, in the order given, without duplicates. */
  readonly sentinels: readonly SentinelNode[];
  /** The master group's name. */
  readonly masterName: string;
}

/**
 * `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both or neither. With them, `REDIS_URL` gives only
 * the user and password (its host and port are not used) and must be `redis://`: the connections go
 * through a local proxy that follows the master (see store/sentinel-proxy.ts), where a TLS
 * certificate could not be checked against the master's name.
 */
function readRedisSentinel(reader: EnvReader, redisUrl: Secret | undefined): RedisSentinelConfig | undefined {
  const nodesText = reader.text('REDIS_SENTINELS');
  const masterName = reader.text('REDIS_SENTINEL_MASTER');
  if (nodesText === undefined && masterName === undefined) return undefined;
  if (nodesText === undefined)
    return reader.bad('REDIS_SENTINELS', 'is not set but REDIS_SENTINEL_MASTER is');
  if (masterName === undefined) {
    return reader.bad('REDIS_SENTINEL_MASTER', 'is not set but REDIS_SENTINELS is');
  }
  const nodes = parseSentinelNodes(nodesText);
  if (!nodes.ok) reader.bad('REDIS_SENTINELS', nodes.error);
  const nameOk = masterName.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(masterName);
  if (!nameOk) reader.bad('REDIS_SENTINEL_MASTER', `${quote(masterName)} is not a master name`);
  if (redisUrl !== undefined && redisUrl.reveal().startsWith('rediss:')) {
    reader.bad('REDIS_SENTINELS', 'cannot be used with a rediss:// REDIS_URL yet (TLS through Sentinel)');
    return undefined;
  }
  return nodes.ok && nameOk ? { sentinels: nodes.nodes, masterName } : undefined;
}
