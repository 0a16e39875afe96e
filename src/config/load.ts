import assert from 'node:assert/strict';

import { Cron } from 'croner';

import { DURATION_FORMAT_HINT, formatDuration, parseDuration } from './shared/duration.js';
import { MAX_CODE_DIGITS, readCodeDigits, type CodeDigits } from './operators/parse-code.js';
import { Secret } from './shared/secret.js';
import { parseSentinelNodes, type SentinelNode } from './shared/sentinel-proxy.js';
import { isLoopbackHost, urlForMessage } from './url-safety.js';

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

/**
 * What `ETNA_API_URL` and `DISCORD_API_URL` accept: the password, the codes and the bot token must
 * never travel in clear text, so plain http only reaches this machine (the sandbox and tests).
 */
const SECURE_URL_FORMAT =
  'an https:// URL (http:// only for a loopback host: 127.0.0.0/8, ::1 or localhost), without user, query or fragment';

/** One environment variable the relay reads. */
export interface ConfigVariable {
  readonly name: string;
  /** The default as it would be written in the environment; `undefined` when there is none. */
  readonly default: string | undefined;
  /** Whether the relay refuses to start without it. */
  readonly required: boolean;
  /** Whether its value is a secret: never echoed, never logged, held in a {@link Secret}. */
  readonly secret: boolean;
  /** What it is for. */
  readonly description: string;
  /** What it accepts; error messages and `.env.example` say the same. */
  readonly format: string;
}

/**
 * Every variable {@link loadConfig} reads, in the order of DESIGN.md's table. The README's table and
 * `.env.example` mirror this list (a test checks `.env.example`).
 */
export const CONFIG_VARIABLES = Object.freeze(
  (
    [
      {
        name: 'ETNA_API_URL',
        default: 'https://pub-api-et-demo-prod.etnasoft.us/api/',
        required: false,
        secret: false,
        description: 'broker base URL; `token` and `v1.0/users/@me/info` are resolved against it',
        format: `${SECURE_URL_FORMAT} (a trailing / is added)`,
      },
      {
        name: 'ETNA_APP_KEY',
        default: undefined,
        required: true,
        secret: true,
        description: 'the broker application key (sent as Et-App-Key)',
        format: 'the key as issued, with no line breaks',
      },
      {
        name: 'ETNA_USERNAME',
        default: undefined,
        required: true,
        secret: false,
        description: "the team account's user name",
        format: 'the user name, with no line breaks',
      },
      {
        name: 'ETNA_PASSWORD',
        default: undefined,
        required: true,
        secret: true,
        description: "the team account's password",
        format: 'the password, with no line breaks',
      },
      {
        name: 'ETNA_PIN',
        default: undefined,
        required: false,
        secret: true,
        description: "the account's security PIN, if its login asks for one",
        format: 'the PIN, with no line breaks',
      },
      {
        name: 'DISCORD_TOKEN',
        default: undefined,
        required: true,
        secret: true,
        description: "the Discord bot's token",
        format: 'the token alone, without a "Bot " prefix',
      },
      {
        name: 'DISCORD_OPERATOR_IDS',
        default: undefined,
        required: true,
        secret: false,
        description: 'Discord user IDs allowed to receive prompts and answer them',
        format: 'comma-separated Discord user IDs (17 to 20 digits each), at least one',
      },
      {
        name: 'DISCORD_API_URL',
        default: 'https://discord.com/api',
        required: false,
        secret: false,
        description: 'Discord REST base (discord.js rest.api); for REST proxies and tests',
        format: `${SECURE_URL_FORMAT} (a trailing / is removed)`,
      },
      {
        name: 'REDIS_URL',
        default: 'redis://127.0.0.1:6379',
        required: false,
        // It may carry a password, so the whole value is treated as one: never echoed, held in a Secret.
        secret: true,
        description: 'the Redis the token is published to',
        format: 'a redis:// or rediss:// URL, with user and password when Redis has ACL users',
      },
      {
        name: 'REDIS_SENTINELS',
        default: undefined,
        required: false,
        secret: false,
        description:
          'Redis Sentinel for high availability: the sentinels to ask for the master (user and password still come from REDIS_URL)',
        format: 'comma-separated host:port of the sentinels, set together with REDIS_SENTINEL_MASTER',
      },
      {
        name: 'REDIS_SENTINEL_MASTER',
        default: undefined,
        required: false,
        secret: false,
        description: "the name of the sentinels' master group (sentinel monitor <name> ...)",
        format: 'letters, digits, -, _ and . (at most 64), set together with REDIS_SENTINELS',
      },
      {
        name: 'RELAY_ACCOUNT',
        default: 'default',
        required: false,
        secret: false,
        description: "the account's name in keys, channels and messages",
        format: 'letters, digits, -, _ and . (at most 64)',
      },
      {
        name: 'RELAY_KEY_PREFIX',
        default: 'otp-relay',
        required: false,
        secret: false,
        description: 'prefix of every Redis key and channel',
        format: 'letters, digits, -, _ and . (at most 64), in parts joined by single colons',
      },
      {
        name: 'CODE_TIMEOUT',
        default: '5m',
        required: false,
        secret: false,
        description: 'how long a login waits for the code',
        format: 'a duration, more than 0 and at most 10m',
      },
      {
        name: 'TOKEN_LIFETIME',
        default: '24h',
        required: false,
        secret: false,
        description: 'how long a token is taken to live after it is obtained',
        format: 'a duration, more than RENEW_BEFORE and at most 24d',
      },
      {
        name: 'RENEW_BEFORE',
        default: '1h',
        required: false,
        secret: false,
        description: 'start the next login this long before the token expires',
        format: 'a duration, more than 0 and less than TOKEN_LIFETIME',
      },
      {
        name: 'VALIDATE_EVERY',
        default: '5m',
        required: false,
        secret: false,
        description: 'how often the relay checks the token with GET v1.0/users/@me/info',
        format: 'a duration, at least 1s and at most 24d',
      },
      {
        name: 'LOGIN_SCHEDULE',
        default: undefined,
        required: false,
        secret: false,
        description: 'cron expression for planned logins, so the SMS comes when someone is awake',
        format: 'a cron expression croner accepts (e.g. 30 8 * * 1-5) that matches some future time',
      },
      {
        name: 'LOGIN_SCHEDULE_TZ',
        default: 'UTC',
        required: false,
        secret: false,
        description: 'time zone of LOGIN_SCHEDULE',
        format: 'an IANA time zone, e.g. UTC or America/New_York',
      },
      {
        name: 'MAX_CODE_ATTEMPTS',
        default: '3',
        required: false,
        secret: false,
        description: 'codes tried for one login before it gives up',
        format: 'an integer from 1 to 10',
      },
      {
        name: 'CODE_DIGITS',
        default: '4-8',
        required: false,
        secret: false,
        description:
          'how many digits a code has; the broker does not document it, so the default takes any one run of 4 to 8 digits',
        format: `one number (6) or a range (4-8), from 1 to ${MAX_CODE_DIGITS}`,
      },
      {
        name: 'MAX_LOGINS_PER_HOUR',
        default: '4',
        required: false,
        secret: false,
        description: 'step-1 calls (so SMS messages) allowed per hour',
        format: 'an integer from 1 to 60',
      },
      {
        name: 'HTTP_HOST',
        default: '127.0.0.1',
        required: false,
        secret: false,
        description: 'address of the health, readiness and metrics server',
        format: 'a host name or IP address, e.g. 127.0.0.1, 0.0.0.0 or ::',
      },
      {
        name: 'HTTP_PORT',
        default: '8080',
        required: false,
        secret: false,
        description: 'port of the health, readiness and metrics server; 0 picks a free one',
        format: 'an integer from 0 to 65535',
      },
      {
        name: 'LOG_LEVEL',
        default: 'info',
        required: false,
        secret: false,
        description: 'pino log level',
        format: 'trace, debug, info, warn, error, fatal or silent',
      },
    ] as const satisfies readonly ConfigVariable[]
  ).map((variable) => Object.freeze(variable)),
);

/** The name of one of the {@link CONFIG_VARIABLES}. */
export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

/** One thing wrong with the configuration. `message` never contains a secret's value. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * The configuration cannot be used. Lists every problem found, one line each, as
 * `VARIABLE: what is wrong and what it accepts`; a secret's value is never part of it.
 */
export class ConfigError extends Error {
  public override readonly name = 'ConfigError';
  public readonly problems: readonly ConfigProblem[];

  public constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(
      `Invalid configuration (${count}):\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

/** DESIGN.md: a login waits at most 10 minutes for its code. */
const MAX_CODE_TIMEOUT_MS = 10 * 60 * 1000;
/** Node timers cannot wait longer than 2^31-1 ms (about 24.8 days): a longer wait fires at once. */
const MAX_TIMER_MS = 24 * 24 * 60 * 60 * 1000;
/** Checking the token more often than this only loads the broker. */
const MIN_VALIDATE_EVERY_MS = 1000;
const MAX_NAME_LENGTH = 64;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Redis-key-safe name: also free of glob characters, so `SCAN MATCH prefix:*` stays exact. */
const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
const PREFIX_PATTERN = /^[A-Za-z0-9._-]+(?::[A-Za-z0-9._-]+)*$/;
/** Discord snowflakes: 17 to 20 digits, never a leading zero, at most 2^64 - 1. */
const SNOWFLAKE_PATTERN = /^[1-9][0-9]{16,19}$/;
const MAX_SNOWFLAKE = 2n ** 64n - 1n;
const INTEGER_PATTERN = /^[0-9]+$/;
/** What `listen()` takes as a host: a name, an IPv4 address or a bare IPv6 address. */
const HOST_PATTERN = /^[A-Za-z0-9.:-]+$/;
/**
 * What undici refuses in a header value (controls, anything beyond Latin-1), plus tab: refused here,
 * at start, rather than at the first login, where the error would come from deep inside a request.
 */
// eslint-disable-next-line no-control-regex
const NOT_HEADER_SAFE = /[\u0000-\u001f\u007f\u0100-\uffff]/;

const DEFAULTS = new Map<string, string | undefined>(CONFIG_VARIABLES.map((v) => [v.name, v.default]));
const FORMATS = new Map<string, string>(CONFIG_VARIABLES.map((v) => [v.name, v.format]));

/**
 * Reads the relay's configuration from `env` (the composition root passes `process.env`).
 *
 * Unset and empty variables take their default. Every variable is checked before anything is
 * reported, so one start shows every problem at once.
 *
 * @throws ConfigError listing every problem; no secret's value appears in it
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const reader = new EnvReader(env);

  const etnaApiUrl = reader.httpUrl('ETNA_API_URL', 'directory');
  const appKey = reader.headerSecret('ETNA_APP_KEY');
  const username = reader.headerText('ETNA_USERNAME');
  const password = reader.headerSecret('ETNA_PASSWORD');
  const pin = reader.optionalHeaderSecret('ETNA_PIN');
  const discordToken = reader.discordToken();
  const operatorIds = reader.operatorIds();
  const discordApiUrl = reader.httpUrl('DISCORD_API_URL', 'no-trailing-slash');
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

/**
 * Reads and checks one variable at a time, collecting problems. Each method returns `undefined`
 * after reporting a problem, and a value otherwise.
 */
class EnvReader {
  public readonly problems: ConfigProblem[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;

  public constructor(env: Readonly<Record<string, string | undefined>>) {
    this.#env = env;
  }

  private report(variable: ConfigVariableName, message: string): undefined {
    this.problems.push({ variable, message });
    return undefined;
  }

  /** The trimmed value, else the default; empty counts as unset. Reports a missing required value. */
  public text(name: ConfigVariableName): string | undefined {
    const value = this.#env[name]?.trim();
    if (value) return value;
    const fallback = DEFAULTS.get(name);
    if (fallback === undefined && isRequired(name)) return this.missing(name);
    return fallback;
  }

  /**
   * An https:// URL, or an http:// one whose host is this machine. Messages show the URL without its
   * user, password, query and fragment ({@link urlForMessage}): any of them may hold a secret.
   */
  public httpUrl(name: ConfigVariableName, slash: 'directory' | 'no-trailing-slash'): URL | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const url = URL.canParse(text) ? new URL(text) : undefined;
    const shown = urlForMessage(text);
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return this.bad(name, `${shown} is not an https:// URL`);
    }
    // Credentials would travel with every request and print with the URL; a query or a fragment is
    // silently dropped when `token` is resolved against the base.
    if (url.username || url.password) return this.bad(name, `${shown} carries a user or password`);
    if (url.search || url.hash) return this.bad(name, `${shown} has a query or fragment (not shown)`);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      return this.bad(
        name,
        `${shown} is plain http:// to another machine, where the password, the codes or the bot token would travel in clear text`,
      );
    }
    if (slash === 'directory' && !url.pathname.endsWith('/')) url.pathname += '/';
    return url;
  }

  /** `CODE_DIGITS`: one number or a range (see {@link readCodeDigits}). */
  public codeDigits(name: ConfigVariableName): CodeDigits | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const digits = readCodeDigits(text);
    if (digits === undefined) return this.bad(name, `${quote(text)} is not a number of digits or a range`);
    return digits;
  }

  /**
   * A required secret sent in an HTTP header, trimmed: HTTP drops whitespace around a header value
   * anyway, so a password's outer spaces could never reach the broker.
   */
  public headerSecret(name: ConfigVariableName): Secret | undefined {
    const value = this.#env[name]?.trim();
    if (!value) return this.missing(name);
    if (NOT_HEADER_SAFE.test(value)) {
      return this.bad(
        name,
        'contains a line break, a control character or a character beyond Latin-1, which an HTTP header cannot carry (value not shown)',
      );
    }
    return new Secret(value);
  }

  public optionalHeaderSecret(name: ConfigVariableName): Secret | undefined {
    if (!this.#env[name]?.trim()) return undefined;
    return this.headerSecret(name);
  }

  public headerText(name: ConfigVariableName): string | undefined {
    const value = this.text(name);
    if (value !== undefined && NOT_HEADER_SAFE.test(value)) {
      return this.bad(
        name,
        `${quote(value)} contains a control character or a character beyond Latin-1, which an HTTP header cannot carry`,
      );
    }
    return value;
  }

  public discordToken(): Secret | undefined {
    const token = this.headerSecret('DISCORD_TOKEN');
    // discord.js adds the prefix itself; a doubled one fails every request with 401.
    if (token && /^bot\s/i.test(token.reveal())) {
      return this.bad('DISCORD_TOKEN', 'starts with "Bot " (value not shown)');
    }
    return token;
  }

  public operatorIds(): readonly string[] | undefined {
    const text = this.text('DISCORD_OPERATOR_IDS');
    if (text === undefined) return undefined;
    // Empty entries (a trailing comma, ", ,") are ignored rather than refused: they carry no ID.
    const entries = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const invalid = entries.filter((entry) => !isSnowflake(entry));
    if (invalid.length > 0) {
      const list = invalid.map(quote).join(', ');
      return this.bad(
        'DISCORD_OPERATOR_IDS',
        `${list} ${invalid.length === 1 ? 'is not a Discord user ID' : 'are not Discord user IDs'}`,
      );
    }
    if (entries.length === 0) return this.bad('DISCORD_OPERATOR_IDS', 'lists no ID');
    return [...new Set(entries)];
  }

  public redisUrl(): Secret | undefined {
    const text = this.text('REDIS_URL');
    if (text === undefined) return undefined;
    // The URL may hold a password: no part of the value is ever quoted back.
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url === undefined) {
      return this.bad(
        'REDIS_URL',
        'is not a URL (value not shown; percent-encode special characters in the password)',
      );
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      return this.bad('REDIS_URL', 'does not start with redis:// or rediss:// (value not shown)');
    }
    if (url.hostname === '') return this.bad('REDIS_URL', 'has no host (value not shown)');
    if (!/^\/?(?:[0-9]+)?$/.test(url.pathname)) {
      return this.bad('REDIS_URL', 'has a path that is not a database number (value not shown)');
    }
    return new Secret(text);
  }

  public name(name: ConfigVariableName, pattern: RegExp): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    if (value.length > MAX_NAME_LENGTH || !pattern.test(value)) {
      return this.bad(name, `${quote(value)} cannot be used in a Redis key`);
    }
    return value;
  }

  public duration(name: ConfigVariableName, minMs: number, maxMs: number): number | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) {
      return this.bad(name, `${quote(text)} is not a duration: ${DURATION_FORMAT_HINT}`);
    }
    if (ms < minMs || ms > maxMs) return this.bad(name, `${quote(text)} is out of range`);
    return ms;
  }

  public timeZone(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    // An IANA name only. Node 24's Intl also takes offsets like `+05:00`, which have no daylight
    // saving: a schedule in one would drift an hour from the operators' clocks twice a year.
    if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(text)) {
      return this.bad(name, `${quote(text)} is not an IANA time zone name`);
    }
    try {
      // Canonical spelling: `america/new_york` becomes `America/New_York`.
      return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
    } catch {
      return this.bad(name, `${quote(text)} is not a time zone`);
    }
  }

  public cron(name: ConfigVariableName, timeZone: string): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    let job: Cron | undefined;
    try {
      // Paused: this only checks the pattern; the relay's scheduler runs its own job.
      job = new Cron(text, { paused: true, timezone: timeZone });
      if (job.nextRun() === null) return this.bad(name, `${quote(text)} never matches a future time`);
      return text;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.bad(name, `${quote(text)} is not a valid cron expression (${reason})`);
    } finally {
      job?.stop();
    }
  }

  public integer(name: ConfigVariableName, min: number, max: number): number | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const value = INTEGER_PATTERN.test(text) ? Number(text) : undefined;
    if (value === undefined || value < min || value > max)
      return this.bad(name, `${quote(text)} is not accepted`);
    return value;
  }

  public host(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    if (!HOST_PATTERN.test(text)) return this.bad(name, `${quote(text)} is not a host name or IP address`);
    return text;
  }

  public logLevel(name: ConfigVariableName): string | undefined {
    const text = this.text(name);
    if (text === undefined) return undefined;
    const level = text.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      return this.bad(name, `${quote(text)} is not a log level`);
    }
    return level;
  }

  /** Reports what is wrong followed by what the variable accepts. */
  public bad(name: ConfigVariableName, what: string): undefined {
    return this.report(name, `${what}; expected ${FORMATS.get(name) ?? 'a valid value'}`);
  }

  private missing(name: ConfigVariableName): undefined {
    return this.report(name, `is required; expected ${FORMATS.get(name) ?? 'a value'}`);
  }
}

/** Problems in the order of {@link CONFIG_VARIABLES}, whatever order they were checked in. */
function inTableOrder(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const rank = (problem: ConfigProblem): number =>
    CONFIG_VARIABLES.findIndex((v) => v.name === problem.variable);
  return [...problems].sort((a, b) => rank(a) - rank(b));
}

function isRequired(name: ConfigVariableName): boolean {
  return CONFIG_VARIABLES.some((v) => v.name === name && v.required);
}

function isSnowflake(text: string): boolean {
  return SNOWFLAKE_PATTERN.test(text) && BigInt(text) <= MAX_SNOWFLAKE;
}

/** Quotes a non-secret value for a message: escaped, and cut short when long. */
function quote(value: string): string {
  const short = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(short);
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
