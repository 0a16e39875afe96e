import { relayKeys } from '../../src/contract/keys.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { connectRedis, type RedisClient } from '../../src/redis/connect.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { coordinationContract } from './coordination.contract.js';

/** A relay connection as main.ts makes it (not the test helper's plain client). */
async function relayClient(): Promise<RedisClient> {
  return connectRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-test' });
}

coordinationContract('MemoryCoordination', async (now) => {
  const coordination = new MemoryCoordination({ now });
  // Replicas in one process share one instance: that is what the demo and the relay tests do.
  return { coordination, replica: async () => coordination };
});

coordinationContract('RedisCoordination', async (now) => {
  const prefix = uniquePrefix('coordination-contract');
  const keys = relayKeys({ prefix, account: 'default' });
  const clients = [await relayClient()];
  return {
    coordination: new RedisCoordination({ client: clients[0]!, keys, now }),
    // Every replica on a connection of its own, as separate relay processes would be.
    replica: async () => {
      const client = await relayClient();
      clients.push(client);
      return new RedisCoordination({ client, keys, now });
    },
    cleanup: async () => {
      await deletePrefix(clients[0]!, prefix);
      await Promise.all(clients.map(async (client) => client.isOpen && (await client.close())));
    },
  };
});
