import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { RedisRequestSubscriber } from '../../src/store/redis-events.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog } from './log-capture.js';

/** Issue 10, item 14: a failed bot-request handler is logged with `errorFields`, never raw. */
describe('RedisRequestSubscriber logging a failed handler', () => {
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: Awaited<ReturnType<typeof connectRedis>>;

  beforeEach(async () => {
    keys = relayKeys({ prefix: uniquePrefix('events-errors'), account: 'default' });
    client = await connectRelayRedis({
      url: new Secret(TEST_REDIS_URL),
      name: 'otp-relay-events-errors-test',
    });
    plain = await connectRedis();
  });

  afterEach(async () => {
    if (client.isOpen) await client.close();
    if (plain.isOpen) await plain.close();
  });

  it('logs the name and message only: no stack, no cause, nothing the cause carried', async () => {
    const log = captureLog();
    const subscriber = new RedisRequestSubscriber({
      client,
      keys,
      logger: log.logger,
      onRequest: async () => {
        throw new Error('handler broke', { cause: new Error('Bearer cause-held-secret-token') });
      },
    });
    await subscriber.start();
    try {
      await vi.waitFor(
        async () =>
          expect(await plain.publish(keys.requests, '{"type":"token.rejected","generation":4}')).toBe(1),
        { timeout: 5_000, interval: 20 },
      );
      const line = await vi.waitFor(
        () => {
          const found = log.lines().find((entry) => entry.msg === 'Bot request handler failed');
          expect(found).toBeDefined();
          return found!;
        },
        { timeout: 5_000, interval: 20 },
      );
      expect(line.err).toMatchObject({ name: 'Error', message: 'handler broke', stack: '' });
      expect(line.generation).toBe(4);
      expect(log.text()).not.toContain('cause-held-secret-token');
      expect(log.text()).not.toContain('redis-events-errors.test.ts');
    } finally {
      await subscriber.close();
    }
  });
});
