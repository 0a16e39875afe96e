import { createClient } from '@redis/client';

/**
 * Runs once before the suite: fails fast, with one clear line, when no Redis answers at REDIS_URL.
 * Tests use real Redis and never a mock of it.
 */
export default async function setup(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch {
    throw new Error(
      `No Redis answers at REDIS_URL (${url.replace(/\/\/[^@]*@/, '//***@')}): start one first.`,
    );
  } finally {
    if (client.isOpen) await client.quit();
  }
}
