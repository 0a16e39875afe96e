import { closeQuietly, connectSubscriber, type RedisClient, type RedisLogger } from './connect.js';
import { REDIS_DEFAULTS } from './settings.js';

/**
 * One subscriber connection that several subscriptions share: with many accounts in one process,
 * each account's request, event and `otp-relay code` subscriptions would otherwise open one
 * connection each (three per account). node-redis takes any number of `subscribe(channel,
 * listener)` calls on one connection and subscribes again to all of them after a reconnect.
 *
 * Whoever opened it ({@link openSharedSubscriber}) closes it, once every component that subscribes
 * on it has stopped; the components only subscribe and unsubscribe.
 */
export interface SharedSubscriber {
  /**
   * The connection, to hand to each component (`subscriber` option) and to readiness
   * (`redisConnectionState`). Never closed but by {@link SharedSubscriber.close}.
   */
  readonly connection: RedisClient;
  /** Closes the connection, with every subscription still on it. Safe to call more than once. */
  close(): Promise<void>;
}

/** Options of {@link openSharedSubscriber}. */
export interface SharedSubscriberOptions {
  /** Where its connection errors and reconnects are logged. */
  logger?: RedisLogger | undefined;
  /** Its connection's name; the main connection's name with `:subscriber` by default. */
  name?: string | undefined;
  /** Gives up the first connection (which otherwise retries until Redis answers). */
  signal?: AbortSignal | undefined;
}

/**
 * Opens the one subscriber connection of a process that serves several accounts: a `duplicate()`
 * of `client` (same URL, Sentinel proxy, backoff, command deadlines and ping), with its own error
 * logging, connected. The caller owns it: it closes it after every component that subscribes on it.
 */
export async function openSharedSubscriber(
  client: RedisClient,
  options: SharedSubscriberOptions = {},
): Promise<SharedSubscriber> {
  const connection = await connectSubscriber(client, {
    logger: options.logger,
    signal: options.signal,
    name: options.name ?? `${client.options?.name ?? REDIS_DEFAULTS.name}:subscriber`,
  });
  return { connection, close: () => closeQuietly(connection) };
}

/** One component's subscription to one channel; `close()` ends it and whatever it opened for it. */
export interface ChannelSubscription {
  /**
   * Unsubscribes; closes the connection only when the subscription opened it. Never throws, and
   * from its call on the listener hears nothing more. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** Options of {@link subscribeChannel}. */
export interface SubscribeChannelOptions {
  /** The relay's connected client: without `shared`, the subscription opens a `duplicate()` of it. */
  readonly client: RedisClient;
  /**
   * A connected subscriber connection shared with other subscriptions ({@link SharedSubscriber}):
   * subscribed and unsubscribed on, never closed. Without it, the subscription opens a connection
   * of its own and closes it on `close()`.
   */
  readonly shared?: RedisClient | undefined;
  readonly channel: string;
  /** Every message of `channel`, as text, until `close()`. */
  readonly listener: (message: string) => void;
  /** The name of the connection it opens (not used with `shared`). */
  readonly name?: string | undefined;
  /** Where the connection it opens logs (not used with `shared`). */
  readonly logger?: RedisLogger | undefined;
  /** Gives up connecting or subscribing: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Subscribes `listener` to `channel`, on `shared` when given, else on a connection of its own;
 * resolves once Redis confirmed the subscription.
 */
export async function subscribeChannel(options: SubscribeChannelOptions): Promise<ChannelSubscription> {
  return options.shared === undefined ? subscribeOwn(options) : subscribeShared(options, options.shared);
}

/** On a connection of its own, which `close()` closes. */
async function subscribeOwn(options: SubscribeChannelOptions): Promise<ChannelSubscription> {
  const { client, channel, listener, name, logger, signal } = options;
  const connection = await connectSubscriber(client, {
    logger,
    signal,
    ...(name === undefined ? {} : { name }),
  });
  try {
    await connection.subscribe(channel, listener);
  } catch (error) {
    connection.destroy();
    throw error;
  }
  let closed = false;
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      if (!connection.isOpen) return;
      try {
        await connection.unsubscribe(channel);
        await connection.close();
      } catch {
        // The connection is down: nothing left to unsubscribe from.
        connection.destroy();
      }
    },
  };
}

/** On `shared`: this listener only is added and removed; the connection is left as it is. */
async function subscribeShared(
  options: SubscribeChannelOptions,
  shared: RedisClient,
): Promise<ChannelSubscription> {
  const { channel, listener, signal } = options;
  signal?.throwIfAborted();
  let closed = false;
  // A listener of its own (node-redis removes listeners by identity): another subscription to the
  // same channel keeps its own. Silent once closed, since an UNSUBSCRIBE that waits for a reconnect
  // leaves the listener in place until then.
  const own = (message: string): void => {
    if (!closed) listener(message);
  };
  const unsubscribe = async (): Promise<void> => {
    // A closed connection has no subscription left, and would never answer.
    if (!shared.isOpen) return;
    const done = shared.unsubscribe(channel, own).catch(() => undefined);
    // While the connection is down, node-redis sends the UNSUBSCRIBE after it reconnects: not
    // awaited, so that a shutdown does not wait for Redis to come back.
    if (shared.isReady) await done;
  };
  // Pub/sub commands wait for a reconnect rather than fail: the signal is the way out.
  const subscribed = shared.subscribe(channel, own);
  try {
    await raceAbort(subscribed, signal);
  } catch (error) {
    closed = true;
    // Subscribed after all, later: undone then.
    void subscribed.then(unsubscribe, () => undefined);
    throw error;
  }
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await unsubscribe();
    },
  };
}

/** `work`, or the signal's reason if it aborts first. */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}
