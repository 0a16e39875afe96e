import { createClient, type RedisClientType } from '@redis/client';
import { definedOnly } from '../shared/defaults.js';
import { reconnectDelayMs } from '../shared/sleep.js';
import { CommandDeadlines, RedisCommandTimeoutError } from './deadline.js';
import { describeRedisError, redactRedisUrl } from './redact.js';
import {
  masterLoginOf,
  SentinelMasterProxy,
  sentinelLogLine,
  throughProxy,
  type LogLine,
  type SentinelProxyEvent,
} from './sentinel-proxy.js';
import { defaultPingIntervalMs, isConnectionName, REDIS_DEFAULTS, type RedisSettings } from './settings.js';

/** The node-redis client every Redis adapter of the relay takes. */
export type RedisClient = RedisClientType;

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions extends RedisSettings {
  /** Told what the Sentinel proxy sees (a new master, a sentinel that does not answer). */
  onSentinelEvent?: ((event: SentinelProxyEvent) => void) | undefined;
}

/** What {@link createRedisClient} makes. */
export interface CreatedRedisClient {
  /** The client, not connected yet. */
  readonly client: RedisClient;
  /**
   * Closes the Sentinel proxy the client's connections go through (nothing to do without Sentinel).
   * It closes by itself once the client has ended; this is for a client that never connected.
   */
  readonly closeProxy: () => Promise<void>;
}

/**
 * A node-redis client, not yet connected, made as every Redis connection of the relay and of the
 * client library is: named, reconnecting forever with a bounded, jittered backoff, and rejecting
 * commands while disconnected instead of queueing them (a write or a report must fail visibly
 * rather than wait for Redis to come back).
 *
 * Every command has a deadline of `commandTimeoutMs` from the moment it is issued to its reply
 * (redis/deadline.ts): past it the command rejects with {@link RedisCommandTimeoutError}, the
 * connection refuses every further command, and node-redis replaces its socket once it has been
 * quiet for as long (`socketTimeout`). An idle connection sends `PING` every `pingIntervalMs`
 * (node-redis' `pingInterval`), so a stall is noticed without any caller's command, and a healthy
 * idle connection never looks quiet. The client's `duplicate()`s get the same.
 *
 * With `sentinel`, its connections (and those of its `duplicate()`s) go through a local
 * {@link SentinelMasterProxy} to the master a majority of the sentinels name; this is the one place
 * that wires the proxy.
 *
 * @throws TypeError for a name `CLIENT SETNAME` would refuse (every attempt would fail)
 */
export async function createRedisClient(options: RedisClientOptions): Promise<CreatedRedisClient> {
  const { url: secretUrl, sentinel, onSentinelEvent, pingIntervalMs, ...given } = options;
  const settings = { ...REDIS_DEFAULTS, ...definedOnly(given) };
  checkConnectionName(settings.name);
  let url = secretUrl.reveal();
  let proxy: SentinelMasterProxy | undefined;
  if (sentinel !== undefined) {
    proxy = await SentinelMasterProxy.start({
      ...sentinel,
      masterLogin: masterLoginOf(url),
      onEvent: onSentinelEvent,
    });
    try {
      url = throughProxy(url, proxy.port);
    } catch (error) {
      await proxy.close();
      throw error;
    }
  }
  const backoff = {
    initialDelayMs: settings.reconnectInitialDelayMs,
    maxDelayMs: settings.reconnectMaxDelayMs,
  };
  const client: RedisClient = createClient({
    url,
    name: settings.name,
    disableOfflineQueue: true,
    // Only the wait before the command is written (node-redis 5); the deadline below covers the rest.
    commandOptions: { timeout: settings.commandTimeoutMs },
    pingInterval: pingIntervalMs ?? defaultPingIntervalMs(settings.commandTimeoutMs),
    socket: {
      connectTimeout: settings.connectTimeoutMs,
      // A socket quiet that long is replaced: a stalled connection, once it refuses new commands.
      socketTimeout: settings.commandTimeoutMs,
      reconnectStrategy: (retries: number) => reconnectDelayMs(retries, backoff),
    },
  });
  watchCommands(client, settings.commandTimeoutMs, proxy);
  const opened = proxy;
  if (opened === undefined) return { client, closeProxy: () => Promise.resolve() };
  // node-redis emits 'end' once a client is closed or destroyed (not on a reconnect).
  client.once('end', () => void opened.close());
  return { client, closeProxy: () => opened.close() };
}

/** Where a client's connection stands, as readiness reports it. */
export type RedisConnectionState =
  /** Up, and no command missed its deadline since it (re)connected. */
  | 'connected'
  /** Down, reconnecting (or closed). */
  | 'disconnected'
  /** Up, but a command got no reply in time: it refuses commands until it has been replaced. */
  | 'stalled'
  /** Sentinel: no majority of the sentinels confirms a master; every connection is cut (fail closed). */
  | 'no-sentinel-majority';

interface Watch {
  readonly deadlines: CommandDeadlines;
  readonly proxy: SentinelMasterProxy | undefined;
}

/** The deadlines and Sentinel proxy of each client made by {@link createRedisClient} and its duplicates. */
const watches = new WeakMap<object, Watch>();

/**
 * Where `client` stands. Only `connected` means commands can be expected to succeed: node-redis's
 * `isReady` stays true while a server that stopped answering (SIGSTOP, a frozen VM) still holds the
 * TCP connection, so a client of {@link createRedisClient} also counts a missed deadline. Other
 * clients (an application's) are `connected` when `isReady`.
 */
export function redisConnectionState(client: { readonly isReady: boolean }): RedisConnectionState {
  const watch = watches.get(client);
  if (watch?.proxy?.failedClosed === true) return 'no-sentinel-majority';
  if (!client.isReady) return 'disconnected';
  if (watch?.deadlines.stalled === true) return 'stalled';
  return 'connected';
}

type SendCommand = (args: readonly unknown[], options?: unknown) => Promise<unknown>;
type Duplicate = (overrides?: object) => RedisClient;

/**
 * Puts every command `client` sends through `sendCommand` (every command method, scripts,
 * node-redis's own `PING`) under one {@link CommandDeadlines}, and does the same to each of its
 * `duplicate()`s. Transactions and pipelines do not go through `sendCommand` (the relay and the
 * client library use neither); a stall still ends them with the socket's time-out.
 */
function watchCommands(client: RedisClient, timeoutMs: number, proxy: SentinelMasterProxy | undefined): void {
  const deadlines = new CommandDeadlines({
    timeoutMs,
    // Told as a connection error, where every other connection problem is (logs, the client library).
    onStall: (error) => {
      if (client.listenerCount('error') > 0) client.emit('error', error);
    },
  });
  // createClient() hands out `Object.create(instance)`, and the command methods call `sendCommand`
  // on the instance itself (`_self`): that is where it is replaced, for every view of the client.
  const self = client as unknown as { _self?: object };
  const patched = (self._self ?? client) as { sendCommand: SendCommand; duplicate: Duplicate };
  const send: SendCommand = patched.sendCommand.bind(patched);
  patched.sendCommand = (args, options) =>
    deadlines.run(commandName(args[0]), client.isReady, () => send(args, options));
  const duplicate: Duplicate = patched.duplicate.bind(patched);
  patched.duplicate = (overrides) => {
    const copy = duplicate(overrides);
    watchCommands(copy, timeoutMs, proxy);
    return copy;
  };
  // First listener on 'ready': the deadlines take commands again before anyone else hears it.
  client.on('ready', () => deadlines.replaced());
  client.on('end', () => deadlines.stop());
  watches.set(client, { deadlines, proxy });
}

/** Where the relay's connections log (pino's logger fits). Never a credential. */
export interface RedisLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions extends RedisSettings {
  /** Where connection errors, reconnects and failovers are logged; nothing is logged when omitted. */
  logger?: RedisLogger | undefined;
  /** Aborts the first connection (which otherwise keeps retrying like a reconnect). */
  signal?: AbortSignal | undefined;
}

/**
 * The relay's connection: {@link createRedisClient}, with its events logged (without the URL's
 * secrets), connected. The first connection retries like a reconnect until it succeeds or `signal`
 * aborts; on abort the client is destroyed and the promise rejects with the signal's reason.
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<RedisClient> {
  const { logger, signal, ...settings } = options;
  const failover = { redis: 'sentinel', master: settings.sentinel?.masterName };
  const { client, closeProxy } = await createRedisClient({
    ...settings,
    onSentinelEvent: (event) => log(logger, sentinelLogLine(event), failover),
  });
  attachLogging(client, logger, client.options?.name ?? REDIS_DEFAULTS.name);
  try {
    await connectOrAbort(client, signal);
  } catch (error) {
    await closeProxy();
    throw error;
  }
  return client;
}

/** Options of {@link connectSubscriber}. */
export interface SubscriberConnectionOptions {
  logger?: RedisLogger | undefined;
  /** The subscriber connection's name; the main connection's name with `:subscriber` by default. */
  name?: string;
  signal?: AbortSignal | undefined;
}

/**
 * A second, connected client for pub/sub: a connection in subscriber mode cannot run other
 * commands, so `SUBSCRIBE` gets its own. It is a `duplicate()` of `client` (same URL, backoff and
 * time-outs) with its own error logging; whoever calls this closes it.
 */
export async function connectSubscriber(
  client: RedisClient,
  options: SubscriberConnectionOptions = {},
): Promise<RedisClient> {
  const name = options.name ?? `${client.options?.name ?? REDIS_DEFAULTS.name}:subscriber`;
  checkConnectionName(name);
  const subscriber = client.duplicate({ name });
  attachLogging(subscriber, options.logger, name);
  await connectOrAbort(subscriber, options.signal);
  return subscriber;
}

/** What {@link connectOrAbort} needs of a node-redis client (any version of its generics). */
export interface ConnectableClient {
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  destroy(): void;
}

/**
 * Connects `client`, giving up when `signal` aborts: node-redis retries a failed first connection
 * like a reconnect, forever, so the signal is the only way out. On abort the client is destroyed
 * and the promise rejects with the signal's reason.
 */
export async function connectOrAbort(
  client: ConnectableClient,
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  if (signal === undefined) {
    await client.connect();
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const connecting = client.connect();
  // Once the abort wins the race, a later rejection of connect() has no one left to hear it.
  connecting.catch(() => undefined);
  try {
    await Promise.race([connecting, aborted]);
  } catch (error) {
    // Stops the retry loop; destroy() is a no-op on a client that is already closed.
    if (client.isOpen) client.destroy();
    throw error;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** Closes a connection gracefully when it is up, at once when it is not; never throws. */
export async function closeQuietly(client: {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  close(): Promise<unknown>;
  destroy(): void;
}): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    // Reconnecting: close() would wait for a connection that may never come back.
    client.destroy();
    return;
  }
  try {
    await client.close();
  } catch {
    client.destroy();
  }
}

/** A command's first word, upper-case (a string or a Buffer). */
function commandName(first: unknown): string {
  if (typeof first === 'string') return first.toUpperCase();
  if (first instanceof Uint8Array) return Buffer.from(first).toString('latin1').toUpperCase();
  return 'COMMAND';
}

/** Logs a client's connection events, never its URL's secrets. */
function attachLogging(client: RedisClient, logger: RedisLogger | undefined, name: string): void {
  const url = client.options?.url ?? '';
  // Without an 'error' listener node-redis would crash the process on the first dropped connection.
  client.on('error', (error: unknown) => {
    // Refused while the connection is replaced: the missed deadline was logged once already.
    if (error instanceof RedisCommandTimeoutError && error.refused) return;
    logger?.warn({ redis: name, err: describeRedisError(error, url) }, 'Redis connection error');
  });
  client.on('reconnecting', () => logger?.debug({ redis: name }, 'Redis reconnecting'));
  client.on('ready', () => logger?.info({ redis: name, url: redactRedisUrl(url) }, 'Redis connection ready'));
}

function log(logger: RedisLogger | undefined, line: LogLine, fields: Record<string, unknown>): void {
  logger?.[line.level]({ ...fields, ...line.fields }, line.message);
}

/** `CLIENT SETNAME` refuses spaces: a bad name would fail every connection attempt, forever. */
function checkConnectionName(name: string): void {
  if (!isConnectionName(name)) {
    throw new TypeError(
      `Redis connection name ${JSON.stringify(name)} must be printable ASCII without spaces`,
    );
  }
}
