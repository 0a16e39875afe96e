import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError, readRedisAccess } from '../../src/config/index.js';

/** The problems of a refused environment, one `VARIABLE: message` line each. */
function problemsOf(env: Record<string, string>, account?: string): string[] {
  try {
    readRedisAccess(env, { account });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.message}`);
    throw error;
  }
  throw new Error('accepted');
}

describe('readRedisAccess (what otp-relay code reads of the relay configuration)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-redis-access-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the relay's defaults, and needs nothing else of its configuration", () => {
    const access = readRedisAccess({});
    expect(access.redisUrl.reveal()).toBe('redis://127.0.0.1:6379');
    expect(access).toMatchObject({
      redisSentinel: undefined,
      keyPrefix: 'otp-relay',
      account: 'default',
      codeDigits: { minDigits: 4, maxDigits: 8 },
    });
  });

  it('ignores what it does not read, even when the relay would refuse it', () => {
    const env = { DISCORD_TOKEN: 'Bot x', LOG_LEVEL: 'loud', DISCORD_TOKEN_FILE: '/nowhere', HTTP_PORT: 'x' };
    expect(readRedisAccess(env).account).toBe('default');
  });

  it('reads REDIS_URL_FILE, the sentinels, the prefix, the account and CODE_DIGITS as the relay does', async () => {
    const path = join(dir, 'redis_url');
    await writeFile(path, 'redis://relay:secret-password@redis:6379\n');
    const access = readRedisAccess({
      REDIS_URL_FILE: path,
      REDIS_SENTINELS: 'a:26379,b:26379',
      REDIS_SENTINEL_MASTER: 'main',
      RELAY_KEY_PREFIX: 'team:relay',
      RELAY_ACCOUNT: 'live',
      CODE_DIGITS: '6',
    });
    expect(access.redisUrl.reveal()).toBe('redis://relay:secret-password@redis:6379');
    expect(access).toMatchObject({
      redisSentinel: {
        masterName: 'main',
        sentinels: [
          { host: 'a', port: 26379 },
          { host: 'b', port: 26379 },
        ],
      },
      keyPrefix: 'team:relay',
      account: 'live',
      codeDigits: { minDigits: 6, maxDigits: 6 },
    });
  });

  it('takes --account in place of RELAY_ACCOUNT', () => {
    expect(readRedisAccess({ RELAY_ACCOUNT: 'live' }, { account: 'paper' }).account).toBe('paper');
  });

  it("with RELAY_ACCOUNTS: the one listed, or the one --account names, with that account's CODE_DIGITS", () => {
    expect(readRedisAccess({ RELAY_ACCOUNTS: 'live' }).account).toBe('live');
    const env = { RELAY_ACCOUNTS: 'live,paper', CODE_DIGITS: '6', ACCOUNT_PAPER_CODE_DIGITS: '8' };
    expect(readRedisAccess(env, { account: 'paper' })).toMatchObject({
      account: 'paper',
      codeDigits: { minDigits: 8, maxDigits: 8 },
    });
    expect(readRedisAccess(env, { account: 'live' }).codeDigits).toEqual({ minDigits: 6, maxDigits: 6 });
    expect(problemsOf(env)).toEqual(['--account: RELAY_ACCOUNTS lists live, paper: name one with --account']);
    expect(problemsOf(env, 'demo')).toEqual([
      '--account: "demo" is not listed in RELAY_ACCOUNTS (live, paper)',
    ]);
  });

  it('refuses what the relay refuses, naming the variable and never a secret', () => {
    const problems = problemsOf(
      { REDIS_URL: 'http://user:hunter2@redis', RELAY_KEY_PREFIX: 'a b', CODE_DIGITS: '0' },
      'a:b',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^REDIS_URL: does not start with redis:\/\//),
      expect.stringMatching(/^RELAY_KEY_PREFIX: "a b" cannot be used in a Redis key/),
      '--account: "a:b" is not an account name',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
