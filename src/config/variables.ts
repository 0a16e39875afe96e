import { MAX_CODE_DIGITS } from '../domain/code-digits.js';

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
  /**
   * Whether each account may have its own value, as `ACCOUNT_<NAME>_<VARIABLE>` (with
   * `RELAY_ACCOUNTS`; see docs/contract.md#several-accounts). The others are global only: the same
   * for every account, and an `ACCOUNT_<NAME>_` form of one stops the start.
   */
  readonly perAccount: boolean;
  /** What it is for. */
  readonly description: string;
  /** What it accepts; error messages and `.env.example` say the same. */
  readonly format: string;
}

/**
 * Every variable {@link loadConfig} reads, in the order of the table in docs/contract.md#configuration.
 * That table and `.env.example` mirror this list (tests check both).
 */
export const CONFIG_VARIABLES = Object.freeze(
  (
    [
      {
        name: 'SANDBOX',
        default: 'false',
        required: false,
        secret: false,
        description:
          "true: a try-out with no accounts, against the built-in sandbox broker, with the terminal as the operators' channel; the ETNA_* and DISCORD_* variables are then neither needed nor used, and ETNA_API_URL must not be set",
        format: 'true or false',
        perAccount: false,
      },
      {
        name: 'ETNA_API_URL',
        default: 'https://pub-api-et-demo-prod.etnasoft.us/api/',
        required: false,
        secret: false,
        perAccount: true,
        description: 'broker base URL; `token` and `v1.0/users/@me/info` are resolved against it',
        format: `${SECURE_URL_FORMAT} (a trailing / is added)`,
      },
      {
        name: 'ETNA_APP_KEY',
        default: undefined,
        required: true,
        secret: true,
        perAccount: true,
        description: 'the broker application key (sent as Et-App-Key)',
        format: 'the key as issued, with no line breaks',
      },
      {
        name: 'ETNA_USERNAME',
        default: undefined,
        required: true,
        secret: false,
        perAccount: true,
        description: "the team account's user name",
        format: 'the user name, with no line breaks',
      },
      {
        name: 'ETNA_PASSWORD',
        default: undefined,
        required: true,
        secret: true,
        perAccount: true,
        description: "the team account's password",
        format: 'the password, with no line breaks',
      },
      {
        name: 'ETNA_PIN',
        default: undefined,
        required: false,
        secret: true,
        perAccount: true,
        description: "the account's security PIN, if its login asks for one",
        format: 'the PIN, with no line breaks',
      },
      {
        name: 'DISCORD_TOKEN',
        default: undefined,
        required: true,
        secret: true,
        perAccount: false,
        description: "the Discord bot's token",
        format: 'the token alone, without a "Bot " prefix',
      },
      {
        name: 'DISCORD_OPERATOR_IDS',
        default: undefined,
        required: true,
        secret: false,
        perAccount: true,
        description: 'Discord user IDs allowed to receive prompts and answer them',
        format: 'comma-separated Discord user IDs (17 to 20 digits each), at least one',
      },
      {
        name: 'DISCORD_API_URL',
        default: 'https://discord.com/api',
        required: false,
        secret: false,
        perAccount: false,
        description: 'Discord REST base (discord.js rest.api); for REST proxies and tests',
        format: `${SECURE_URL_FORMAT} (a trailing / is removed)`,
      },
      {
        name: 'REDIS_URL',
        default: 'redis://127.0.0.1:6379',
        required: false,
        // It may carry a password, so the whole value is treated as one: never echoed, held in a Secret.
        secret: true,
        perAccount: false,
        description: 'the Redis the token is published to',
        format: 'a redis:// or rediss:// URL, with user and password when Redis has ACL users',
      },
      {
        name: 'REDIS_SENTINELS',
        default: undefined,
        required: false,
        secret: false,
        perAccount: false,
        description:
          'Redis Sentinel for high availability: the sentinels to ask for the master (user and password still come from REDIS_URL)',
        format: 'comma-separated host:port of the sentinels, set together with REDIS_SENTINEL_MASTER',
      },
      {
        name: 'REDIS_SENTINEL_MASTER',
        default: undefined,
        required: false,
        secret: false,
        perAccount: false,
        description: "the name of the sentinels' master group (sentinel monitor <name> ...)",
        format: 'letters, digits, -, _ and . (at most 64), set together with REDIS_SENTINELS',
      },
      {
        name: 'REDIS_SENTINEL_USERNAME',
        default: undefined,
        required: false,
        secret: false,
        description:
          "the sentinels' own ACL user, with REDIS_SENTINEL_PASSWORD (not Redis's: that is in REDIS_URL)",
        format: 'a user name without spaces, with REDIS_SENTINELS and REDIS_SENTINEL_PASSWORD',
        perAccount: false,
      },
      {
        name: 'REDIS_SENTINEL_PASSWORD',
        default: undefined,
        required: false,
        secret: true,
        description: "the sentinels' own password (requirepass or their ACL user's)",
        format: 'the password, with no line breaks, with REDIS_SENTINELS',
        perAccount: false,
      },
      {
        name: 'REDIS_SENTINEL_TLS',
        default: 'false',
        required: false,
        secret: false,
        description:
          "talk TLS to the sentinels, each certificate checked against its host name in REDIS_SENTINELS; the master's TLS follows REDIS_URL's scheme",
        format: 'true or false',
        perAccount: false,
      },
      {
        name: 'RELAY_KEY_PREFIX',
        default: 'otp-relay',
        required: false,
        secret: false,
        perAccount: false,
        description: 'prefix of every Redis key and channel',
        format: 'letters, digits, -, _ and . (at most 64), in parts joined by single colons',
      },
      {
        name: 'RELAY_ACCOUNT',
        default: 'default',
        required: false,
        secret: false,
        perAccount: false,
        description:
          "the account's name in keys, channels and messages, when the relay serves one (no RELAY_ACCOUNTS)",
        format: 'letters, digits, -, _ and . (at most 64)',
      },
      {
        name: 'RELAY_ACCOUNTS',
        default: undefined,
        required: false,
        secret: false,
        perAccount: false,
        description:
          'several accounts in one relay: their names, each with its own ACCOUNT_<NAME>_<VARIABLE> settings; replaces RELAY_ACCOUNT',
        format: 'comma-separated names of 1 to 32 characters of a-z, 0-9, - and _, each once',
      },
      {
        name: 'CODE_TIMEOUT',
        default: '5m',
        required: false,
        secret: false,
        perAccount: true,
        description: 'how long a login waits for the code',
        format: 'a duration, more than 0 and at most 10m',
      },
      {
        name: 'TOKEN_LIFETIME',
        default: '24h',
        required: false,
        secret: false,
        perAccount: true,
        description: 'how long a token is taken to live after it is obtained',
        format: 'a duration, more than RENEW_BEFORE and at most 24d',
      },
      {
        name: 'RENEW_BEFORE',
        default: '1h',
        required: false,
        secret: false,
        perAccount: true,
        description: 'start the next login this long before the token expires',
        format: 'a duration, more than 0 and less than TOKEN_LIFETIME',
      },
      {
        name: 'VALIDATE_EVERY',
        default: '5m',
        required: false,
        secret: false,
        perAccount: true,
        description: 'how often the relay checks the token with GET v1.0/users/@me/info',
        format: 'a duration, at least 1s and at most 24d',
      },
      {
        name: 'LOGIN_SCHEDULE',
        default: undefined,
        required: false,
        secret: false,
        perAccount: true,
        description: 'cron expression for planned logins, so the SMS comes when someone is awake',
        format: 'a cron expression croner accepts (e.g. 30 8 * * 1-5) that matches some future time',
      },
      {
        name: 'LOGIN_SCHEDULE_TZ',
        default: 'UTC',
        required: false,
        secret: false,
        perAccount: true,
        description: 'time zone of LOGIN_SCHEDULE',
        format: 'an IANA time zone, e.g. UTC or America/New_York',
      },
      {
        name: 'MAX_CODE_ATTEMPTS',
        default: '3',
        required: false,
        secret: false,
        perAccount: true,
        description: 'codes tried for one login before it gives up',
        format: 'an integer from 1 to 10',
      },
      {
        name: 'CODE_DIGITS',
        default: '4-8',
        required: false,
        secret: false,
        perAccount: true,
        description:
          'how many digits a code has; the broker does not document it, so the default takes any one run of 4 to 8 digits',
        format: `one number (6) or a range (4-8), from 1 to ${MAX_CODE_DIGITS}`,
      },
      {
        name: 'MAX_LOGINS_PER_HOUR',
        default: '4',
        required: false,
        secret: false,
        perAccount: true,
        description: 'step-1 calls (so SMS messages) allowed per hour',
        format: 'an integer from 1 to 60',
      },
      {
        name: 'HTTP_HOST',
        default: '127.0.0.1',
        required: false,
        secret: false,
        perAccount: false,
        description: 'address of the health, readiness and metrics server',
        format: 'a host name or IP address, e.g. 127.0.0.1, 0.0.0.0 or ::',
      },
      {
        name: 'HTTP_PORT',
        default: '8080',
        required: false,
        secret: false,
        perAccount: false,
        description: 'port of the health, readiness and metrics server; 0 picks a free one',
        format: 'an integer from 0 to 65535',
      },
      {
        name: 'LOG_LEVEL',
        default: 'info',
        required: false,
        secret: false,
        perAccount: false,
        description: 'pino log level',
        format: 'trace, debug, info, warn, error, fatal or silent',
      },
    ] as const satisfies readonly ConfigVariable[]
  ).map((variable) => Object.freeze(variable)),
);

/** The name of one of the {@link CONFIG_VARIABLES}. */
export type ConfigVariableName = (typeof CONFIG_VARIABLES)[number]['name'];

/** The suffix of a secret's file variant: `ETNA_PASSWORD_FILE` names a file that holds `ETNA_PASSWORD`. */
export const FILE_SUFFIX = '_FILE';

/** A variable that names a file holding a secret's value, as Docker and Kubernetes secrets are mounted. */
export interface SecretFileVariable {
  /** `<secret>_FILE`. */
  readonly name: `${ConfigVariableName}${typeof FILE_SUFFIX}`;
  /** The secret whose value the file holds. */
  readonly secret: ConfigVariableName;
}

/**
 * The `*_FILE` variant of every secret in {@link CONFIG_VARIABLES}, in the same order: set either the
 * variable or its file variant, never both.
 */
export const SECRET_FILE_VARIABLES: readonly SecretFileVariable[] = Object.freeze(
  CONFIG_VARIABLES.filter((v) => v.secret).map((v) =>
    Object.freeze({ name: `${v.name}${FILE_SUFFIX}` as const, secret: v.name }),
  ),
);
