import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/shared/log.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 19 with `SANDBOX=true`: two accounts on the terminal. The terminal's one operator is every
 * account's: a code typed while both wait is asked about, and the account typed next gets it.
 */

const input = new PassThrough();
const output = new PassThrough();
let written = '';
output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
let running: RunningRelay;
let prefix: string;
let redis: Awaited<ReturnType<typeof connectRedis>>;

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let waitedMs = 0; !predicate(); waitedMs += 10) {
    if (waitedMs > 10_000) throw new Error(`timed out waiting for ${what}; the terminal shows:\n${written}`);
    await delay(10);
  }
}

/** The code of the sandbox SMS to `account`'s phone. */
function smsCode(account: string): string | undefined {
  return new RegExp(`SMS to account ${account}'s phone\\] Your ETNA verification code: (\\d+)`).exec(
    written,
  )?.[1];
}

beforeAll(async () => {
  redis = await connectRedis();
  prefix = uniquePrefix('app-sandbox-accounts');
  const config = loadConfig({
    SANDBOX: 'true',
    RELAY_ACCOUNTS: 'live,paper',
    REDIS_URL: TEST_REDIS_URL,
    RELAY_KEY_PREFIX: prefix,
    HTTP_PORT: '0',
  });
  running = await startRelay(config, createLogger({ level: 'silent' }), {
    terminal: { input, output },
    returnStartMemory: false,
  });
});

afterAll(async () => {
  await running?.stop();
  await deletePrefix(redis, prefix);
  await redis.close();
});

describe('SANDBOX=true with two accounts', () => {
  it('asks which account a typed code is for, and logs in only the one typed', async () => {
    await until(
      () =>
        written.includes('SMS code needed for account "live"') &&
        written.includes('SMS code needed for account "paper"'),
      'both prompts',
    );
    input.write(`${smsCode('paper')!}\n`);
    await until(() => written.includes('Several accounts wait for a code'), 'the question');
    expect(written).not.toContain('has a new token');
    input.write('paper\n');
    await until(() => written.includes('account "paper" has a new token'), 'paper logged in');
    expect(written).not.toContain('account "live" has a new token');
    expect(await redis.exists(`${prefix}:token:paper`)).toBe(1);
    expect(await redis.exists(`${prefix}:token:live`)).toBe(0);
  });
});
