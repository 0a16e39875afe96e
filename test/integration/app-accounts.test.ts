import { describe, expect, it } from 'vitest';
import { startRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/shared/log.js';
import { REQUIRED } from '../helpers/config.js';

/**
 * Issue 19, item 1: the configuration reads several accounts, but this build serves one. Until the
 * composition for several lands, a relay given more than one must say so and stop, before it
 * connects to anything (the Redis and Discord addresses below lead nowhere).
 */
describe('startRelay with several accounts', () => {
  it('stops the start, naming the accounts, before connecting to anything', async () => {
    const config = loadConfig({
      ...REQUIRED,
      RELAY_ACCOUNTS: 'live,paper',
      REDIS_URL: 'redis://127.0.0.1:1',
      DISCORD_API_URL: 'http://127.0.0.1:1/api',
      HTTP_PORT: '0',
    });
    const started = Date.now();
    await expect(startRelay(config, createLogger({ level: 'silent' }))).rejects.toThrow(
      /^several accounts: not supported by this build yet \(RELAY_ACCOUNTS lists live, paper\)/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
