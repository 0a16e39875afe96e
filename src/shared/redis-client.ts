import { createClient, type RedisClientType } from '@redis/client';
import { reconnectDelayMs, type ReconnectDelayOptions } from './sleep.js';

// Only @redis/client and shared/: the bots' client library uses this too, and stays light.

/** Settings of {@link createReconnectingClient}. */
export interface ReconnectingClientSettings {
  /** `redis://` or `rediss://`, possibly with user and password. */
  readonly url: string;
  /** The connection's name (`CLIENT SETNAME`). */
  readonly name: string;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** How long a command may wait for its reply before it rejects. */
  readonly commandTimeoutMs: number;
  /** The reconnect backoff (see {@link reconnectDelayMs}). */
  readonly backoff: ReconnectDelayOptions;
}

/**
 * A node-redis client, not yet connected, as both the relay and the bots' client library open
 * them: it reconnects forever with a bounded, jittered backoff, and rejects commands while
 * disconnected instead of queueing them (a write or a report must fail visibly rather than wait for
 * Redis to come back).
 */
export function createReconnectingClient(settings: ReconnectingClientSettings): RedisClientType {
  const { backoff } = settings;
  return createClient({
    url: settings.url,
    name: settings.name,
    disableOfflineQueue: true,
    commandOptions: { timeout: settings.commandTimeoutMs },
    socket: {
      connectTimeout: settings.connectTimeoutMs,
      reconnectStrategy: (retries: number) => reconnectDelayMs(retries, backoff),
    },
  });
}
