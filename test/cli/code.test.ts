import type { RedisClientType } from '@redis/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enterCode, type EnterCodeOptions } from '../../src/cli/code.js';
import type { RedisAccess } from '../../src/config/index.js';
import { cliChannels } from '../../src/contract/keys.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The CLI's side of `otp-relay code` (src/cli/code.ts) against real Redis, with a stand-in for the
 * relays: a subscriber of `P:cli:A` that answers as a test says.
 */

interface Relay {
  /** The code messages it heard, parsed. */
  readonly heard: Record<string, string>[];
  close(): Promise<void>;
}

describe('enterCode', () => {
  let prefix: string;
  let redis: RedisClientType;
  const closing: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('cli-code');
    redis = await connectRedis();
  });
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
    await redis.quit();
  });

  const access = (overrides: Partial<RedisAccess> = {}): RedisAccess => ({
    redisUrl: new Secret(TEST_REDIS_URL),
    redisSentinel: undefined,
    keyPrefix: prefix,
    account: 'default',
    codeDigits: DEFAULT_CODE_DIGITS,
    ...overrides,
  });

  /** A relay stand-in: answers each code with `answers` (kind and text), on the code's reply channel. */
  async function relay(answers: readonly (readonly [string, string])[], delayMs = 0): Promise<Relay> {
    const subscriber = redis.duplicate();
    await subscriber.connect();
    const heard: Record<string, string>[] = [];
    const channels = cliChannels({ prefix, account: 'default' });
    await subscriber.subscribe(channels.inputs, (message) => {
      const parsed = JSON.parse(message) as Record<string, string>;
      heard.push(parsed);
      setTimeout(() => {
        for (const [kind, text] of answers) {
          void redis.publish(channels.replies(parsed.inputId!), JSON.stringify({ kind, text }));
        }
      }, delayMs);
    });
    const stub = {
      heard,
      close: async () => {
        if (subscriber.isOpen) await subscriber.quit();
      },
    };
    closing.push(stub.close);
    return stub;
  }

  async function run(text: string, options: Partial<EnterCodeOptions> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const started = Date.now();
    const status = await enterCode({
      access: access(),
      text,
      timeoutMs: 1_000,
      user: 'ops',
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      ...options,
    });
    return { status, out, err, ms: Date.now() - started };
  }

  it("sends the code as a DM's parser reads it, with who and when, once subscribed to its answers", async () => {
    const stub = await relay([
      ['received', 'A relay received the code.'],
      ['logged-in', 'Logged in.'],
    ]);
    const before = new Date();
    const result = await run('123 456');
    expect(result).toMatchObject({ status: 0, out: ['A relay received the code.', 'Logged in.'], err: [] });
    expect(stub.heard).toHaveLength(1);
    const [message] = stub.heard;
    expect(message).toEqual({
      type: 'code',
      inputId: expect.stringMatching(/^cli-[0-9a-f]{24}$/),
      code: '123456',
      sentAt: expect.any(String),
      user: 'ops',
    });
    expect(Date.parse(message!.sentAt!)).toBeGreaterThanOrEqual(before.getTime());
  });

  it('prints one "received" of the several relays that each say it, then their outcome', async () => {
    await relay([['received', 'A relay received the code.']]);
    // The second answers once the first has: its "received" comes second.
    await relay(
      [
        ['received', 'A relay received the code.'],
        ['checking', 'Code received, checking it with the broker…'],
        ['some-new-kind', 'Something a newer relay says.'],
        ['code-rejected', 'The broker refused that code.'],
      ],
      200,
    );
    const result = await run('123456');
    expect(result.status).toBe(1);
    expect(result.out).toEqual([
      'A relay received the code.',
      'Code received, checking it with the broker…',
      'Something a newer relay says.',
      'The broker refused that code.',
    ]);
  });

  it("adds this machine's clock to a stale-code answer", async () => {
    await relay([['stale-code', 'That code was written before…']]);
    const result = await run('123456', { now: () => new Date('2030-01-01T10:20:30.000Z') });
    expect(result.status).toBe(1);
    expect(result.out[1]).toContain("This machine's clock read 10:20:30 UTC when the code was sent");
  });

  it('says at once that no relay listens: status 3', async () => {
    const result = await run('123456', { timeoutMs: 30_000 });
    expect(result.status).toBe(3);
    expect(result.err).toEqual([
      `otp-relay: no relay answered: none listens on ${prefix}:cli:default (is one running, with the same REDIS_URL and RELAY_KEY_PREFIX, for account default?). The code was not used.`,
    ]);
    expect(result.ms).toBeLessThan(3_000);
  });

  it('tells "no relay answered" from "no outcome" when the time is up', async () => {
    const silent = await relay([]);
    const none = await run('123456');
    expect(none.status).toBe(3);
    expect(none.err).toEqual([
      'otp-relay: no relay answered within 1 s (is one running, with the same REDIS_URL and RELAY_KEY_PREFIX?). The code was not used.',
    ]);
    await silent.close();
    await relay([['received', 'A relay received the code.']]);
    const slow = await run('123456');
    expect(slow.status).toBe(1);
    expect(slow.err[0]).toMatch(/^otp-relay: a relay received the code but told no outcome within 1 s/);
  });

  it('refuses what is not clearly one code before connecting: status 2, nothing sent', async () => {
    const stub = await relay([['logged-in', 'Logged in.']]);
    for (const text of ['12', '123456 654321', 'code 123456', '']) {
      const result = await run(text);
      expect(result.status).toBe(2);
      expect(result.err[0]).toContain(
        'that is not clearly one code (4 to 8 digits, CODE_DIGITS), so nothing was sent',
      );
    }
    expect(stub.heard).toEqual([]);
  });

  it('says why Redis could not be used, without the password, and sends nothing', async () => {
    const refused = await run('123456', {
      access: access({ redisUrl: new Secret('redis://nobody:hunter2-secret@127.0.0.1:6379') }),
    });
    expect(refused.status).toBe(2);
    expect(refused.err[0]).toMatch(
      /^otp-relay: cannot use Redis \(.*WRONGPASS.*\), so the code was not sent/,
    );
    expect(refused.err.join('\n')).not.toContain('hunter2');
    const unreachable = await run('123456', {
      access: access({ redisUrl: new Secret('redis://127.0.0.1:1') }),
    });
    expect(unreachable.status).toBe(3);
    expect(unreachable.err[0]).toMatch(/^otp-relay: cannot use Redis \(.*ECONNREFUSED.*\)/);
  });

  it('never prints the code', async () => {
    await relay([['code-rejected', 'The broker refused that code.']]);
    const results = [await run('987654'), await run('98765'), await run('9876 5432 1')];
    for (const result of results) expect([...result.out, ...result.err].join('\n')).not.toMatch(/98765/);
  });
});
