import assert from 'node:assert/strict';

import type { CodeDigits } from '../domain/code-digits.js';
import { formatDuration } from '../shared/duration.js';
import type { Secret } from '../shared/secret.js';
import { isMasterName, parseSentinelNodes, type SentinelSettings } from '../redis/settings.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { EnvReader, NAME_PATTERN, PREFIX_PATTERN, quote } from './reader.js';
import { readSecretFiles } from './secret-files.js';
import { CONFIG_VARIABLES, FILE_SUFFIX } from './variables.js';

/** The relay's whole configuration, parsed and frozen. Only the composition root builds one. */
export interface Config {
  readonly etna: {
    /** `ETNA_API_URL`, always ending in `/`, so `token` resolves under it. */
    readonly apiUrl: URL;
    readonly appKey: Secret;
    readonly username: string;
    readonly password: Secret;
    readonly pin: Secret | undefined;
  };
  readonly discord: {
    readonly token: Secret;
    /** Snowflakes, deduplicated, in the order given. */
    readonly operatorIds: readonly string[];
    /** `DISCORD_API_URL`, discord.js `rest.api`, without a trailing `/`. */
    readonly apiUrl: string;
  };
  /** `REDIS_URL`. May carry a password: never log it whole. */
  readonly redisUrl: Secret;
  /** `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both, or `undefined` when neither is set. */
  readonly redisSentinel: SentinelSettings | undefined;
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

  const etnaApiUrl = reader.httpUrl('ETNA_API_URL', 'directory');
  const appKey = reader.headerSecret('ETNA_APP_KEY');
  const username = reader.headerText('ETNA_USERNAME');
  const password = reader.headerSecret('ETNA_PASSWORD');
  const pin = reader.optionalHeaderSecret('ETNA_PIN');
  const discordToken = reader.discordToken();
  const operatorIds = reader.operatorIds();
  const discordApiUrl = reader.httpUrl('DISCORD_API_URL', 'no-trailing-slash');
  const redisUrl = reader.redisUrl();
  const redisSentinel = readRedisSentinel(reader);
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
  const config: Config = {
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
  return deepFreeze(config);
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

/**
 * `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: both or neither; with them, the sentinels' own
 * login (`REDIS_SENTINEL_USERNAME`, `REDIS_SENTINEL_PASSWORD`) and `REDIS_SENTINEL_TLS`. `REDIS_URL`
 * then gives only the user, the password and (`rediss://`) TLS to the master: its host and port are
 * not used (see redis/sentinel-proxy.ts).
 */
function readRedisSentinel(reader: EnvReader): SentinelSettings | undefined {
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
