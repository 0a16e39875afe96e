import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';

/** The Redis every test talks to. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test uses, so tests never touch each other's keys. */
export function uniquePrefix(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

/** A connected plain node-redis client for assertions. */
export async function connectRedis(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: TEST_REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Deletes every key under `prefix:` (and only those). */
export async function deletePrefix(client: RedisClientType, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
    if (keys.length > 0) await client.del(keys);
  }
}
