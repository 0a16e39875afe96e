import { MemoryAuditTrail } from '../../src/audit/memory-audit-trail.js';
import { RedisAuditTrail } from '../../src/audit/redis-audit-trail.js';
import { relayKeys } from '../../src/contract/keys.js';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis } from '../../src/redis/connect.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { auditTrailContract } from './audit-trail.contract.js';

auditTrailContract('MemoryAuditTrail', async () => ({ trail: new MemoryAuditTrail() }));

auditTrailContract('RedisAuditTrail', async () => {
  const prefix = uniquePrefix('audit-contract');
  const client = await connectRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-audit-test' });
  const trail = new RedisAuditTrail({ client, keys: relayKeys({ prefix, account: 'default' }) });
  return {
    trail,
    cleanup: async () => {
      await deletePrefix(client, prefix);
      await client.close();
    },
  };
});
