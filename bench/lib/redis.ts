import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';

/** The Redis every benchmark talks to. */
export const BENCH_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every prefix handed out, so that an interrupted run can still delete its keys. */
export const prefixesInUse = new Set<string>();

/** A key prefix of this run only (`bench-<name>-<id>`): the bench deletes exactly these keys. */
export function benchPrefix(name: string): string {
  const prefix = `bench-${name}-${randomUUID().slice(0, 8)}`;
  prefixesInUse.add(prefix);
  return prefix;
}

/** A connected plain node-redis client. */
export async function connectBenchRedis(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: BENCH_REDIS_URL });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Deletes every key under `prefix:` (and only those). */
export async function deletePrefix(prefix: string): Promise<void> {
  const client = await connectBenchRedis();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
    prefixesInUse.delete(prefix);
  } finally {
    await client.close();
  }
}

/** Redis' version and the settings that bound the fan-out benchmark. */
export async function redisFacts(): Promise<{ version: string; maxclients: number }> {
  const client = await connectBenchRedis();
  try {
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const config: Record<string, string> = await client.configGet('maxclients').catch(() => ({}));
    return { version, maxclients: Number(config.maxclients ?? Number.NaN) };
  } finally {
    await client.close();
  }
}
