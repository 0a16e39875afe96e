import { relayKeys } from '../contract/keys.js';
import type { RelayEvent } from '../contract/relay-event.js';
import type { RelayKeys } from '../contract/types.js';
import {
  isConnectionName,
  isMasterName,
  parseSentinelNodes,
  type SentinelNode,
  type SentinelSettings,
} from '../redis/settings.js';
import { definedOnly } from '../shared/defaults.js';
import { Secret } from '../shared/secret.js';
import type { TokenInfo } from './token-info.js';
import { MAX_TIMER_DELAY_MS, type TokenWait } from './token-waiters.js';

/**
 * The part of a node-redis (`redis@5`) client that the token client uses. Structural on purpose:
 * the type `createClient()` returns carries generics (modules, RESP version, type mapping) that
 * differ from one application to the next, and every such client fits this interface.
 */
export interface TokenClientRedis {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  /** `options.timeout: 0` turns the connection's command time-out off for this command. */
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>;
  duplicate(overrides: { name: string }): TokenClientRedis;
  subscribe(channels: string, listener: (message: string, channel: string) => unknown): Promise<void>;
  unsubscribe(channels: string): Promise<void>;
  on(event: 'ready' | 'error', listener: (...args: unknown[]) => void): unknown;
  off(event: 'ready' | 'error', listener: (...args: unknown[]) => void): unknown;
}

/**
 * Where the client reports what happens to it. pino's and `console` both fit. Lines carry
 * generations, key names and error names; never a token and never a stored value or message.
 */
export interface TokenClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link TokenClient}. */
export interface TokenClientOptions {
  /**
   * The Redis to connect to (`redis://` or `rediss://`, with user and password if needed). The
   * client opens and closes its connections itself. Not together with `client`.
   */
  redisUrl?: string | undefined;
  /**
   * A node-redis client of the application, used for reads and reports; the client `duplicate()`s
   * it for its subscription. It is connected by `start()` if it is not open yet, and never closed by
   * the token client: its owner closes it (after `close()`). Not together with `redisUrl`.
   */
  client?: TokenClientRedis | undefined;
  /** `RELAY_KEY_PREFIX` of the relay. */
  prefix?: string | undefined;
  /** `RELAY_ACCOUNT` of the relay. */
  account?: string | undefined;
  /** Where problems are logged; nothing is logged when omitted. */
  logger?: TokenClientLogger | undefined;
  /**
   * The name of the connections on the Redis server (`CLIENT SETNAME`): the command connection's
   * when the client opens it itself, and with `:subscriber` the subscription's.
   */
  connectionName?: string | undefined;
  /** How long one connection attempt may take (own connections only). */
  connectTimeoutMs?: number | undefined;
  /**
   * Every command's deadline, from the moment it is issued to its reply (own connections only): a
   * read past it fails and is retried, a report rejects ({@link TokenClientRedisError} caused by
   * `RedisCommandTimeoutError`), and the connection, taken as stalled, is replaced. An idle
   * connection sends `PING` every half of it (at most every second), so a stall is noticed without
   * any command. Also how long a new connection waits for a master during a Sentinel failover.
   */
  commandTimeoutMs?: number | undefined;
  /** The longest wait between two reconnect attempts, or two retries of a failed read. */
  reconnectMaxDelayMs?: number | undefined;
  /**
   * How long {@link TokenClient.waitForToken} waits when the call gives no `timeoutMs`. The default
   * outlasts the longest login (a code is awaited `CODE_TIMEOUT`, at most 10 minutes).
   */
  waitTimeoutMs?: number | undefined;
  /**
   * Redis Sentinel: the sentinels (`[{ host, port }]`, or `REDIS_SENTINELS`' text
   * `host:port,host:port`), together with `sentinelMaster`. The client's own connections then go to
   * the master the sentinels name and follow failovers; `redisUrl` gives only the user and password.
   * Not together with `client`.
   */
  sentinels?: readonly SentinelNode[] | string | undefined;
  /** `REDIS_SENTINEL_MASTER`: the sentinels' master group name, together with `sentinels`. */
  sentinelMaster?: string | undefined;
  /** `REDIS_SENTINEL_USERNAME`: the sentinels' own ACL user, with `sentinelPassword`. */
  sentinelUsername?: string | undefined;
  /** `REDIS_SENTINEL_PASSWORD`: the sentinels' own password (not Redis's: that is in `redisUrl`). */
  sentinelPassword?: string | undefined;
  /**
   * `REDIS_SENTINEL_TLS`: talk TLS to the sentinels (certificates checked against the host names in
   * `sentinels`). The master's TLS follows `redisUrl` (`rediss://`).
   */
  sentinelTls?: boolean | undefined;
  /**
   * Whether the client shares its Redis connections with the other `TokenClient`s of the process
   * that have the same connection settings and account (default `true`): the first one to start
   * opens a command and a subscriber connection, the others use them, each event is read off the
   * socket and parsed once for all, and the clients that hear it share one GET of the key. The last
   * one to close closes the connections. Clients given the same `client` share its subscriber
   * connection the same way. `false` gives the client connections of its own (two, or one
   * `duplicate()` of `client`), as before sharing was the default.
   */
  shareConnections?: boolean | undefined;
}

/** Defaults of {@link TokenClientOptions}. */
export const TOKEN_CLIENT_DEFAULTS = {
  redisUrl: 'redis://127.0.0.1:6379',
  prefix: 'otp-relay',
  account: 'default',
  connectionName: 'otp-relay-client',
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 5_000,
  reconnectMaxDelayMs: 5_000,
  waitTimeoutMs: 900_000,
  shareConnections: true,
} as const satisfies Required<Omit<TokenClientOptions, 'client' | 'logger' | SentinelOption>>;

/** The options that make up {@link TokenClientConfig.sentinel}. */
type SentinelOption =
  'sentinels' | 'sentinelMaster' | 'sentinelUsername' | 'sentinelPassword' | 'sentinelTls';

/** Options of {@link TokenClient.start}. */
export interface TokenClientStartOptions {
  /** Gives up connecting (which otherwise retries until Redis answers), e.g. `AbortSignal.timeout(10_000)`. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link TokenClient.waitForToken}. */
export interface WaitForTokenOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Gives up after this many milliseconds: the promise rejects with
   * {@link TokenClientTimeoutError}. Default: the client's `waitTimeoutMs` (15 minutes). Every wait
   * has one.
   */
  timeoutMs?: number | undefined;
  /**
   * The generation the bot reported with `reportRejected(n)`: the wait ends with a newer token, or
   * with token `n` itself once the relay answers that it still works (`token.checked` with
   * `valid: true`, also when that answer came between the report and this call). Not together with
   * `minGeneration`.
   */
  after?: number | undefined;
  /** Only a token of at least this generation will do. Not together with `after`. */
  minGeneration?: number | undefined;
}

/** Called with the new token, or `undefined` when the token was invalidated, removed or expired. */
export type TokenChangeListener = (token: TokenInfo | undefined) => void;

/** Called with every well-formed event the relay publishes on `P:events:A`. */
export type RelayEventListener = (event: RelayEvent) => void;

/** {@link TokenClientOptions} merged over the defaults. */
export type ClientSettings = {
  readonly [K in keyof typeof TOKEN_CLIENT_DEFAULTS]: (typeof TOKEN_CLIENT_DEFAULTS)[K] extends string
    ? string
    : (typeof TOKEN_CLIENT_DEFAULTS)[K] extends boolean
      ? boolean
      : number;
};

/** {@link TokenClientOptions}, checked and merged over the defaults. */
export interface TokenClientConfig {
  readonly settings: ClientSettings;
  /** The application's client, when it gave one (`client`). */
  readonly providedClient: TokenClientRedis | undefined;
  readonly sentinel: SentinelSettings | undefined;
  readonly logger: TokenClientLogger | undefined;
  readonly keys: RelayKeys;
}

/**
 * Checks {@link TokenClientOptions} and merges them over {@link TOKEN_CLIENT_DEFAULTS}. Throws a
 * `TypeError` or `RangeError` naming the option for what the client cannot use.
 */
export function readTokenClientOptions(options: TokenClientOptions): TokenClientConfig {
  if (options.client !== undefined && options.redisUrl !== undefined) {
    throw new TypeError('Pass either redisUrl or client to TokenClient, not both');
  }
  const {
    client: _client,
    logger: _logger,
    sentinels: _sentinels,
    sentinelMaster: _master,
    sentinelUsername: _username,
    sentinelPassword: _password,
    sentinelTls: _tls,
    ...given
  } = options;
  const sentinel = readSentinelOptions(options);
  if (sentinel !== undefined && options.client !== undefined) {
    throw new TypeError('Pass either sentinels or client to TokenClient, not both');
  }
  const settings: ClientSettings = { ...TOKEN_CLIENT_DEFAULTS, ...definedOnly(given) };
  const { prefix, account, connectionName } = settings;
  for (const [name, value] of Object.entries({ prefix, account })) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`TokenClient option ${name} must be a non-empty string`);
    }
  }
  if (!isTimeout(settings.waitTimeoutMs)) {
    throw new RangeError(
      `TokenClient option waitTimeoutMs must be a number of ms from 1 to ${MAX_TIMER_DELAY_MS}`,
    );
  }
  if (typeof settings.shareConnections !== 'boolean') {
    throw new TypeError('TokenClient option shareConnections must be true or false');
  }
  if (!isConnectionName(connectionName)) {
    // CLIENT SETNAME refuses it, and would fail every connection attempt forever.
    throw new TypeError('TokenClient option connectionName must be printable ASCII without spaces');
  }
  return {
    settings,
    providedClient: options.client,
    sentinel,
    logger: options.logger,
    keys: relayKeys({ prefix, account }),
  };
}

/**
 * The Sentinel settings in {@link TokenClientOptions}: `sentinels` (nodes, or the `REDIS_SENTINELS`
 * text `host:port,host:port`) and `sentinelMaster`, both or neither.
 *
 * @throws TypeError naming the option when only one is given or a value is not valid
 */
export function readSentinelOptions(
  options: Pick<TokenClientOptions, SentinelOption>,
): SentinelSettings | undefined {
  const { sentinels, sentinelMaster, sentinelUsername, sentinelPassword, sentinelTls } = options;
  if (sentinels === undefined && sentinelMaster === undefined) {
    if (sentinelUsername !== undefined || sentinelPassword !== undefined || sentinelTls !== undefined) {
      throw new TypeError(
        'TokenClient options sentinelUsername, sentinelPassword and sentinelTls need sentinels and sentinelMaster',
      );
    }
    return undefined;
  }
  if (sentinels === undefined || sentinelMaster === undefined) {
    throw new TypeError('TokenClient options sentinels and sentinelMaster go together: give both or neither');
  }
  if (typeof sentinelMaster !== 'string' || !isMasterName(sentinelMaster)) {
    throw new TypeError('TokenClient option sentinelMaster must be a master name (letters, digits, - _ .)');
  }
  let nodes: readonly SentinelNode[];
  if (typeof sentinels === 'string') {
    const parsed = parseSentinelNodes(sentinels);
    if (!parsed.ok) throw new TypeError(`TokenClient option sentinels ${parsed.error}`);
    nodes = parsed.nodes;
  } else {
    nodes = sentinels.map((node) => ({ host: node.host, port: node.port }));
    const bad = nodes.some(
      (node) => typeof node.host !== 'string' || node.host === '' || !Number.isInteger(node.port),
    );
    if (nodes.length === 0 || bad) {
      throw new TypeError('TokenClient option sentinels must list at least one { host, port }');
    }
  }
  for (const [name, value] of Object.entries({ sentinelUsername, sentinelPassword })) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new TypeError(`TokenClient option ${name} must be a non-empty string`);
    }
  }
  if (sentinelTls !== undefined && typeof sentinelTls !== 'boolean') {
    throw new TypeError('TokenClient option sentinelTls must be true or false');
  }
  return Object.freeze({
    sentinels: Object.freeze(nodes),
    masterName: sentinelMaster,
    ...(sentinelUsername === undefined ? {} : { username: sentinelUsername }),
    ...(sentinelPassword === undefined ? {} : { password: new Secret(sentinelPassword) }),
    ...(sentinelTls === undefined ? {} : { tls: sentinelTls }),
  });
}

/**
 * {@link WaitForTokenOptions} checked, with `timeoutMs` defaulting to `defaultTimeoutMs`: the wait,
 * or the `TypeError` or `RangeError` that `waitForToken` rejects with.
 */
export function readWaitOptions(options: WaitForTokenOptions, defaultTimeoutMs: number): TokenWait | Error {
  const { signal, after, minGeneration, timeoutMs = defaultTimeoutMs } = options;
  if (after !== undefined && minGeneration !== undefined) {
    return new TypeError('Pass either after or minGeneration to waitForToken, not both');
  }
  for (const [name, value] of Object.entries({ after, minGeneration })) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      return new RangeError(`${name} must be a non-negative integer`);
    }
  }
  if (!isTimeout(timeoutMs)) {
    return new RangeError(`timeoutMs must be a number of ms from 1 to ${MAX_TIMER_DELAY_MS}`);
  }
  return {
    minGeneration: after === undefined ? (minGeneration ?? 0) : after + 1,
    after,
    timeoutMs,
    signal,
  };
}

/** Whether `value` is a time-out `setTimeout` takes as given: a number of ms from 1 to about 24.8 days. */
function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && value >= 1 && value <= MAX_TIMER_DELAY_MS;
}
