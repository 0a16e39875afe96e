import { connectOrAbort } from '../shared/connect-or-abort.js';
import type { RedisClientType } from '@redis/client';
import type { Logger } from '../shared/log.js';
import type { Secret } from '../shared/secret.js';
import { routeThroughSentinel, type RedisSentinelSettings } from './redis-sentinel.js';
import { createReconnectingClient } from '../shared/redis-client.js';

/** The node-redis client every Redis adapter of the relay takes. */
export type RedisClient = RedisClientType;

/** Options of {@link createRedisClient} and {@link connectRedis}. */
export interface RedisConnectionOptions {
  /** `REDIS_URL`: `redis://` or `rediss://`, possibly with user and password. */
  url: Secret;
  /** Where connection errors and reconnects are logged; nothing is logged when omitted. */
  logger?: Logger | undefined;
  /** The connection's name: `CLIENT SETNAME` on the server and a field of every log line. */
  name?: string;
  /** How long one connection attempt may take. */
  connectTimeoutMs?: number;
  /** How long a command may wait for its reply (queued or sent) before it rejects. */
  commandTimeoutMs?: number;
  /** Delay before the first reconnect attempt; it doubles with every failed attempt… */
  reconnectInitialDelayMs?: number;
  /** …up to this bound. Reconnecting never stops. */
  reconnectMaxDelayMs?: number;
  /** Aborts the first connection (which otherwise keeps retrying like a reconnect). */
  signal?: AbortSignal | undefined;
  /**
   * Redis Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER`): connect to the master the
   * sentinels name, and follow failovers; `url` then gives only the user and password. Only
   * {@link connectRedis} makes such a connection.
   */
  sentinel?: RedisSentinelSettings | undefined;
}

/** Defaults of {@link RedisConnectionOptions}. */
export const REDIS_CONNECTION_DEFAULTS = {
  name: 'otp-relay',
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 10_000,
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 10_000,
} as const satisfies Required<Omit<RedisConnectionOptions, 'url' | 'logger' | 'signal' | 'sentinel'>>;

export { reconnectDelayMs, type ReconnectDelayOptions } from '../shared/sleep.js';

/**
 * A Redis URL fit for a log line: the password (and a user name, which can be a secret too) become
 * `***`. An unparsable URL is not echoed at all.
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparsable url]';
  }
  if (parsed.username !== '') parsed.username = '***';
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** The fields of a connection error worth logging, with any trace of the URL's secrets removed. */
function describeError(error: unknown, secrets: readonly string[]): Record<string, unknown> {
  const scrub = (text: string): string =>
    secrets.reduce((result, secret) => (secret === '' ? result : result.split(secret).join('***')), text);
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  const code = (error as { code?: unknown }).code;
  // Not `code`: the redaction backstop censors every `*.code` (it is meant for SMS codes).
  return {
    name: error.name,
    message: scrub(error.message),
    ...(typeof code === 'string' ? { errorCode: code } : {}),
  };
}

/** What to scrub from error messages: the whole URL and its password, raw and decoded. */
function urlSecrets(url: string): string[] {
  const secrets = [url];
  try {
    const { password } = new URL(url);
    secrets.push(password);
    try {
      secrets.push(decodeURIComponent(password));
    } catch {
      // Not valid percent-encoding: the raw form is already listed.
    }
  } catch {
    // Unparsable: the whole URL, already listed, is all there is to scrub.
  }
  return secrets.filter((secret) => secret.length > 0);
}

/** Logs a client's connection events, never its URL's secrets. */
function attachLogging(client: RedisClient, logger: Logger | undefined, name: string, url: string): void {
  const secrets = urlSecrets(url);
  // Without an 'error' listener node-redis would crash the process on the first dropped connection.
  client.on('error', (error: unknown) => {
    logger?.warn({ redis: name, err: describeError(error, secrets) }, 'Redis connection error');
  });
  client.on('reconnecting', () => logger?.debug({ redis: name }, 'Redis reconnecting'));
  client.on('ready', () => logger?.info({ redis: name, url: redactRedisUrl(url) }, 'Redis connection ready'));
}

/**
 * Creates (without connecting) a node-redis client for the relay: it reconnects forever with a
 * bounded exponential backoff, rejects commands while disconnected instead of queueing them (a
 * write must fail visibly rather than wait for Redis to come back), and logs connection errors
 * without the URL's password.
 */
export function createRedisClient(options: RedisConnectionOptions): RedisClient {
  if (options.sentinel !== undefined) throw new TypeError('A Sentinel connection is made by connectRedis()');
  const settings = { ...REDIS_CONNECTION_DEFAULTS, ...withoutUndefined(options) };
  checkConnectionName(settings.name);
  const url = options.url.reveal();
  const client: RedisClient = createReconnectingClient({
    url,
    name: settings.name,
    connectTimeoutMs: settings.connectTimeoutMs,
    commandTimeoutMs: settings.commandTimeoutMs,
    backoff: { initialDelayMs: settings.reconnectInitialDelayMs, maxDelayMs: settings.reconnectMaxDelayMs },
  });
  attachLogging(client, options.logger, settings.name, url);
  return client;
}

/**
 * Creates a client (see {@link createRedisClient}) and connects it. The first connection retries
 * like a reconnect until it succeeds or `signal` aborts; on abort the client is destroyed and the
 * promise rejects with the signal's reason.
 */
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisClient> {
  if (options.sentinel !== undefined) {
    // Through a local proxy that follows the master: see store/redis-sentinel.ts.
    const route = await routeThroughSentinel({
      url: options.url,
      sentinel: options.sentinel,
      logger: options.logger,
    });
    const client = createRedisClient({ ...options, url: route.url, sentinel: undefined });
    route.closeWith(client);
    await connectOrAbort(client, options.signal);
    return client;
  }
  const client = createRedisClient(options);
  await connectOrAbort(client, options.signal);
  return client;
}

/** Options of {@link connectSubscriber}. */
export interface SubscriberConnectionOptions {
  logger?: Logger | undefined;
  /** The subscriber connection's name; the main connection's name with `:subscriber` by default. */
  name?: string;
  signal?: AbortSignal | undefined;
}

/**
 * A second, connected client for pub/sub: a connection in subscriber mode cannot run other
 * commands, so `SUBSCRIBE` gets its own. It is a `duplicate()` of `client` (same URL, backoff and
 * timeouts) with its own error logging; whoever calls this closes it.
 */
export async function connectSubscriber(
  client: RedisClient,
  options: SubscriberConnectionOptions = {},
): Promise<RedisClient> {
  const name = options.name ?? `${client.options?.name ?? REDIS_CONNECTION_DEFAULTS.name}:subscriber`;
  const subscriber = client.duplicate({ name });
  checkConnectionName(name);
  attachLogging(subscriber, options.logger, name, client.options?.url ?? '');
  await connectOrAbort(subscriber, options.signal);
  return subscriber;
}

/**
 * `CLIENT SETNAME` refuses spaces: a bad name would fail every connection attempt, forever, so it
 * is refused up front.
 */
function checkConnectionName(name: string): void {
  if (!/^[!-~]+$/.test(name)) {
    throw new TypeError(
      `Redis connection name ${JSON.stringify(name)} must be printable ASCII without spaces`,
    );
  }
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
