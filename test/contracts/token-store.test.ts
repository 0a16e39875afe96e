import { relayKeys } from '../../src/contract/keys.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import { connectRedis } from '../../src/redis/connect.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { tokenStoreContract } from './token-store.contract.js';

const ACCOUNT = 'default';

tokenStoreContract('MemoryTokenStore', async () => ({
  store: new MemoryTokenStore({ account: ACCOUNT }),
  account: ACCOUNT,
  // A store in memory loses everything only with its process: the restarted one is a new store.
  loseAll: async () => new MemoryTokenStore({ account: ACCOUNT }),
}));

tokenStoreContract('RedisTokenStore', async () => {
  const prefix = uniquePrefix('token-contract');
  // A relay connection as main.ts makes it (not the test helper's plain client).
  const client = await connectRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-test' });
  const keys = relayKeys({ prefix, account: ACCOUNT });
  const store = new RedisTokenStore({ client, keys, account: ACCOUNT });
  return {
    store,
    account: ACCOUNT,
    // A Redis restarted empty: the token and the generation counter are gone.
    loseAll: async () => {
      await client.del([keys.token, keys.generation]);
      return store;
    },
    cleanup: async () => {
      await deletePrefix(client, prefix);
      if (client.isOpen) await client.close();
    },
  };
});
