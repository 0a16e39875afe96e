import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenClient, TokenClientRedisError } from '../../src/client/index.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis } from '../../src/redis/connect.js';
import { RedisCommandTimeoutError } from '../../src/redis/deadline.js';
import { Secret } from '../../src/shared/secret.js';
import { RedisEventPublisher } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { startRedisServer } from '../ops/redis-server.js';

// Issue 18, item 1, the bots' side: a Redis that stops answering (SIGSTOP) fails a bot's command
// within the client's deadline instead of leaving it waiting, the client says it is not connected,
// and it is back (reconnected, subscribed, the token read again) once Redis answers again.

const BOUND_MS = 15_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('TokenClient on a Redis that stops answering', () => {
  it('fails a report with the deadline, is not connected meanwhile, and hears the next token once Redis is back', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const keys = relayKeys({ prefix: 'stall-test', account: 'default' });
    const relayRedis = await connectRedis({ url: new Secret(redis.url), name: 'stall-test-relay' });
    cleanups.push(async () => relayRedis.isOpen && relayRedis.destroy());
    const store = new RedisTokenStore({ client: relayRedis, keys, account: 'default' });
    const events = new RedisEventPublisher({ client: relayRedis, keys });
    const publish = async (token: string) => {
      const record = await store.publish({
        token: new Secret(token),
        obtainedAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
      });
      await events.publish({
        type: 'token.updated',
        generation: record.generation,
        expiresAt: record.expiresAt,
      });
      return record;
    };
    const first = await publish('token-before-stall');

    const client = new TokenClient({
      redisUrl: redis.url,
      prefix: 'stall-test',
      commandTimeoutMs: 300,
      reconnectMaxDelayMs: 200,
      shareConnections: false,
    });
    cleanups.push(() => client.close());
    await client.start({ signal: AbortSignal.timeout(BOUND_MS) });
    expect(client.getToken()?.generation).toBe(first.generation);

    redis.pause();
    const report = client.reportRejected(first.generation);
    const failed = await Promise.race([
      report.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), BOUND_MS)),
    ]);
    expect(failed).toBeInstanceOf(TokenClientRedisError);
    expect((failed as TokenClientRedisError).cause).toBeInstanceOf(RedisCommandTimeoutError);
    await vi.waitFor(() => expect(client.connected).toBe(false), { timeout: BOUND_MS, interval: 20 });

    redis.resume();
    await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: BOUND_MS, interval: 20 });
    const next = await vi.waitFor(() => publish('token-after-stall'), { timeout: BOUND_MS, interval: 50 });
    const heard = await client.waitForToken({ minGeneration: next.generation, timeoutMs: BOUND_MS });
    expect(heard.token).toBe('token-after-stall');
  });
});
