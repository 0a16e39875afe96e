import { describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis, connectSubscriber, createRedisClient } from '../../src/redis/connect.js';
import { redactRedisUrl } from '../../src/redis/redact.js';
import { reconnectDelayMs } from '../../src/shared/sleep.js';
import { connectRedis as connectPlain, TEST_REDIS_URL } from '../helpers/redis.js';
import { captureLog } from '../store/log-capture.js';

describe('reconnectDelayMs', () => {
  const backoff = { initialDelayMs: 100, maxDelayMs: 10_000 };

  it('doubles from the initial delay, with jitter in the upper half', () => {
    expect(reconnectDelayMs(0, backoff, () => 0)).toBe(50);
    expect(reconnectDelayMs(0, backoff, () => 0.999_999)).toBe(100);
    expect(reconnectDelayMs(3, backoff, () => 0.999_999)).toBe(800);
    expect(reconnectDelayMs(3, backoff, () => 0)).toBe(400);
  });

  it('is bounded however many attempts failed, and never stops', () => {
    for (const retries of [7, 8, 50, 1_000, Number.MAX_SAFE_INTEGER]) {
      const delay = reconnectDelayMs(retries, backoff, () => 0.5);
      expect(delay).toBeGreaterThanOrEqual(5_000);
      expect(delay).toBeLessThanOrEqual(10_000);
    }
  });
});

describe('redactRedisUrl', () => {
  it('hides the user and the password', () => {
    expect(redactRedisUrl('redis://relay:s3cr3t@redis.internal:6380/2')).toBe(
      'redis://***:***@redis.internal:6380/2',
    );
    expect(redactRedisUrl('rediss://:only-password@host')).toBe('rediss://:***@host');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });

  it('does not echo what it cannot parse', () => {
    expect(redactRedisUrl('not a url with s3cr3t')).toBe('[unparsable url]');
  });
});

describe('connectRedis', () => {
  it('connects, names the connection, and gives the subscriber connection its own name', async () => {
    const log = captureLog();
    const client = await connectRedis({
      url: new Secret(TEST_REDIS_URL),
      name: 'otp-relay-conn-test',
      logger: log.logger,
    });
    const subscriber = await connectSubscriber(client, { logger: log.logger });
    try {
      const ready = log.lines().filter((line) => line.msg === 'Redis connection ready');
      expect(ready.map((line) => line.redis)).toEqual([
        'otp-relay-conn-test',
        'otp-relay-conn-test:subscriber',
      ]);
      expect(ready[0]!.url).toBe(redactRedisUrl(TEST_REDIS_URL));
      expect(await client.ping()).toBe('PONG');
      expect(await client.clientGetName()).toBe('otp-relay-conn-test');
      expect(await subscriber.clientGetName()).toBe('otp-relay-conn-test:subscriber');
    } finally {
      await subscriber.close();
      await client.close();
    }
  });

  it('reconnects by itself after the server drops the connection', async () => {
    const log = captureLog();
    const client = await connectRedis({
      url: new Secret(TEST_REDIS_URL),
      logger: log.logger,
      name: 'otp-relay-drop',
    });
    const plain = await connectPlain();
    try {
      await plain.sendCommand(['CLIENT', 'KILL', 'ID', String(await client.clientId())]);
      await vi.waitFor(async () => expect(await client.ping()).toBe('PONG'), {
        timeout: 5_000,
        interval: 50,
      });
      expect(log.lines().some((line) => line.msg === 'Redis connection error')).toBe(true);
    } finally {
      await client.close();
      await plain.close();
    }
  });

  it('keeps retrying an unreachable server until aborted, and never logs the password', async () => {
    const log = captureLog();
    // Port 1 on loopback refuses at once: every attempt fails fast.
    const url = new Secret('redis://relay-user:hunter2-pass@127.0.0.1:1');
    const started = connectRedis({
      url,
      logger: log.logger,
      reconnectInitialDelayMs: 10,
      reconnectMaxDelayMs: 20,
      signal: AbortSignal.timeout(500),
    });

    await expect(started).rejects.toMatchObject({ name: 'TimeoutError' });
    const errors = log.lines().filter((line) => line.msg === 'Redis connection error');
    expect(errors.length).toBeGreaterThan(2);
    expect(errors[0]).toMatchObject({ redis: 'otp-relay', err: { errorCode: 'ECONNREFUSED' } });
    expect(log.text()).not.toContain('hunter2-pass');
  });

  it('refuses a connection name that CLIENT SETNAME would refuse on every attempt', async () => {
    await expect(createRedisClient({ url: new Secret(TEST_REDIS_URL), name: 'otp relay' })).rejects.toThrow(
      TypeError,
    );
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(
      connectRedis({ url: new Secret(TEST_REDIS_URL), signal: controller.signal }),
    ).rejects.toThrow('shutting down');
  });
});
