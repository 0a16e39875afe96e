import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { watchTokenEvents, type TokenEventWatch } from '../../src/store/redis-event-watch.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

describe('watchTokenEvents', () => {
  let client: RedisClient | undefined;
  let watch: TokenEventWatch | undefined;
  afterEach(async () => {
    await watch?.close();
    await client?.close();
  });

  it('calls back on token events only, and ignores what is not an event', async () => {
    const keys = relayKeys({ prefix: uniquePrefix('watch'), account: 'default' });
    client = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL) });
    let calls = 0;
    watch = await watchTokenEvents({ client, keys, onTokenEvent: () => (calls += 1) });
    const publisher = await connectRedis();
    const others = [
      'not json',
      '{"type":"login.started","reason":"startup"}',
      '[]',
      'null',
      // The answer to a bot's report changes no token.
      '{"type":"token.checked","generation":2,"valid":true}',
    ];
    for (const message of others) {
      await publisher.publish(keys.events, message);
    }
    await publisher.publish(
      keys.events,
      JSON.stringify({ type: 'token.updated', generation: 2, expiresAt: 'x' }),
    );
    await publisher.publish(
      keys.events,
      JSON.stringify({ type: 'token.invalidated', generation: 2, reason: 'x' }),
    );
    await publisher.publish(keys.events, 'not json either');
    await publisher.quit();
    await expect.poll(() => calls).toBe(2);
  });
});
