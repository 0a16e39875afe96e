import type { Secret } from './secret.js';

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
  readonly account: string;
  readonly keyPrefix: string;
  readonly codeTimeoutMs: number;
  readonly tokenLifetimeMs: number;
  readonly renewBeforeMs: number;
  readonly validateEveryMs: number;
  readonly loginSchedule: string | undefined;
  readonly loginScheduleTz: string;
  readonly maxCodeAttempts: number;
  readonly maxLoginsPerHour: number;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
}

// TODO(config helper): loadConfig(env) and its ConfigError.
