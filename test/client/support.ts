import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import {
  TokenClient,
  type TokenClientLogger,
  type TokenClientOptions,
  type TokenInfo,
} from '../../src/client/index.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { RedisEventPublisher } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import type { RelayEvent, RelayKeys, TokenRecord } from '../../src/relay/ports/token-store.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

export const ACCOUNT = 'default';

/**
 * The relay's side of Redis, written with the relay's own store and publisher, so that the client
 * tests prove compatibility with what the relay really writes.
 */
export interface RelaySide {
  readonly prefix: string;
  readonly keys: RelayKeys;
  readonly redis: RedisClient;
  readonly store: RedisTokenStore;
  /** Stores a token as the relay does and announces it with `token.updated`. */
  publishToken(token: string, lifetimeMs?: number): Promise<TokenRecord>;
  /** Stores a token as the relay does, without announcing it. */
  storeToken(token: string, lifetimeMs?: number): Promise<TokenRecord>;
  /** Removes the token (if still `generation`) and announces `token.invalidated`. */
  invalidate(generation: number): Promise<void>;
  publishEvent(event: RelayEvent): Promise<void>;
  /** Deletes the test's keys and closes the connection. */
  cleanup(): Promise<void>;
}

export async function relaySide(name: string): Promise<RelaySide> {
  const prefix = uniquePrefix(name);
  const keys = relayKeys({ prefix, account: ACCOUNT });
  const redis = await connectRelayRedis({
    url: new Secret(TEST_REDIS_URL),
    name: 'otp-relay-client-test-relay',
  });
  const store = new RedisTokenStore({ client: redis, keys, account: ACCOUNT });
  const events = new RedisEventPublisher({ client: redis, keys });
  const storeToken = (token: string, lifetimeMs = 60_000): Promise<TokenRecord> => {
    const now = Date.now();
    return store.publish({
      token: new Secret(token),
      obtainedAt: new Date(now),
      expiresAt: new Date(now + lifetimeMs),
    });
  };
  return {
    prefix,
    keys,
    redis,
    store,
    storeToken,
    async publishToken(token, lifetimeMs) {
      const record = await storeToken(token, lifetimeMs);
      await events.publish({
        type: 'token.updated',
        generation: record.generation,
        expiresAt: record.expiresAt,
      });
      return record;
    },
    async invalidate(generation) {
      await store.remove(generation);
      await events.publish({ type: 'token.invalidated', generation, reason: 'rejected-by-broker' });
    },
    publishEvent: (event) => events.publish(event),
    async cleanup() {
      await deletePrefix(redis, prefix);
      if (redis.isOpen) await redis.close();
    },
  };
}

/** A connection name no other test uses, so `CLIENT KILL` and `CLIENT LIST` find only ours. */
export function uniqueConnectionName(): string {
  return `otp-relay-client-test-${randomUUID().slice(0, 8)}`;
}

/** A {@link TokenClientLogger} that keeps every line for assertions. */
export interface RecordingLogger extends TokenClientLogger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[];
  /** Every line as JSON text, to check that a secret appears nowhere. */
  text(): string;
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    debug: at('debug'),
    warn: at('warn'),
    error: at('error'),
    text: () => JSON.stringify(lines),
  };
}

/**
 * Resolves with the first token change that `accept` accepts. Subscribe before the action that
 * causes the change: a change that happened earlier is not replayed.
 */
export function nextChange(
  client: TokenClient,
  accept: (token: TokenInfo | undefined) => boolean,
  timeoutMs = 10_000,
): Promise<TokenInfo | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error('No matching token change arrived in time'));
    }, timeoutMs);
    const unsubscribe = client.onTokenChange((token) => {
      if (!accept(token)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(token);
    });
  });
}

/** The server-side IDs of the connections named `name` (and `name:subscriber`). */
export async function connectionIds(plain: { sendCommand<T>(args: string[]): Promise<T> }, name: string) {
  const list = await plain.sendCommand<string>(['CLIENT', 'LIST']);
  const ids: Record<'command' | 'subscriber', string[]> = { command: [], subscriber: [] };
  for (const line of list.split('\n')) {
    const connectionName = /\bname=(\S*)/.exec(line)?.[1];
    const id = /\bid=(\d+)/.exec(line)?.[1];
    if (id === undefined) continue;
    if (connectionName === name) ids.command.push(id);
    if (connectionName === `${name}:subscriber`) ids.subscriber.push(id);
  }
  return ids;
}

/** What {@link clientTestBed} gives each test: fresh in every `beforeEach`. */
export interface ClientTestBed {
  relay: RelaySide;
  plain: Awaited<ReturnType<typeof connectRedis>>;
  log: RecordingLogger;
  /** A connection name of this test's own (see {@link connectionIds}). */
  connectionName: string;
  /** Clients to close after the test. */
  readonly clients: TokenClient[];
  /** A started client on the test's prefix, account and connection name; closed after the test. */
  readonly startClient: (options?: TokenClientOptions) => Promise<TokenClient>;
}

/**
 * Registers the `beforeEach`/`afterEach` of a client test file: a relay side on a prefix of its
 * own, a plain connection, a recording logger and a connection name; after each test, every client
 * in `clients` is closed and the keys deleted.
 */
export function clientTestBed(name: string): ClientTestBed {
  const bed = {
    clients: [] as TokenClient[],
    startClient: async (options: TokenClientOptions = {}): Promise<TokenClient> => {
      const client = new TokenClient({
        redisUrl: TEST_REDIS_URL,
        prefix: bed.relay.prefix,
        account: ACCOUNT,
        logger: bed.log,
        connectionName: bed.connectionName,
        ...options,
      });
      bed.clients.push(client);
      await client.start({ signal: AbortSignal.timeout(10_000) });
      return client;
    },
  } as ClientTestBed;
  beforeEach(async () => {
    bed.relay = await relaySide(name);
    bed.plain = await connectRedis();
    bed.log = recordingLogger();
    bed.connectionName = uniqueConnectionName();
  });
  afterEach(async () => {
    await Promise.all(bed.clients.splice(0).map((client) => client.close()));
    await bed.relay.cleanup();
    if (bed.plain.isOpen) await bed.plain.close();
  });
  return bed;
}
