import { createClient } from '@redis/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  connectRedis,
  connectSubscriber,
  redisConnectionState,
  type RedisClient,
} from '../../src/redis/connect.js';
import { CommandDeadlines, RedisCommandTimeoutError } from '../../src/redis/deadline.js';
import { Secret } from '../../src/shared/secret.js';
import { startRedisServer, type RedisServer } from '../ops/redis-server.js';

// Issue 18, item 1: every command has a deadline from the moment it is issued to its reply. Real
// redis-server processes of the test's own, stalled with SIGSTOP (the process keeps its sockets: the
// kernel still takes the bytes, nothing answers).

/** The deadline the clients below get: short, so that the test is quick. */
const DEADLINE_MS = 300;
/** What a loaded machine still meets for something due after DEADLINE_MS (never a timing claim). */
const BOUND_MS = 10_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  cleanups.push(() => started.stop());
  return started;
}

/** How a promise ended, or `pending` if it had not after `ms`. */
async function outcome(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ resolved: value }),
        (error: unknown) => ({ rejected: error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function relayClient(redis: RedisServer): Promise<RedisClient> {
  const client = await connectRedis({
    url: new Secret(redis.url),
    name: 'otp-relay-deadline-test',
    commandTimeoutMs: DEADLINE_MS,
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 200,
  });
  cleanups.push(async () => {
    if (client.isOpen) client.destroy();
  });
  return client;
}

describe('node-redis 5 on its own (why redis/deadline.ts exists)', () => {
  it('times a command only until it is written: on a stalled server, commandOptions.timeout never fires', async () => {
    const redis = await server();
    const client = createClient({
      url: redis.url,
      disableOfflineQueue: true,
      commandOptions: { timeout: 200 },
    });
    client.on('error', () => undefined);
    cleanups.push(async () => client.isOpen && client.destroy());
    await client.connect();
    redis.pause();
    const get = client.get('deadline-test:x');
    // Ten times its time-out, and still waiting: the reply is not timed.
    expect(await outcome(get, 2_000)).toBe('pending');
    expect(client.isReady).toBe(true);
    redis.resume();
    expect(await outcome(get, BOUND_MS)).toEqual({ resolved: null });
  });

  it('replaces a quiet socket (socketTimeout), but a steady flow of new commands keeps a stalled one open', async () => {
    const redis = await server();
    const client = createClient({
      url: redis.url,
      disableOfflineQueue: true,
      socket: { socketTimeout: 400 },
    });
    client.on('error', () => undefined);
    cleanups.push(async () => client.isOpen && client.destroy());
    await client.connect();
    redis.pause();
    const first = client.get('deadline-test:x');
    // A new command every 100 ms: each write counts as activity on the socket.
    const flow = setInterval(() => void client.get('deadline-test:y').catch(() => undefined), 100);
    try {
      expect(await outcome(first, 2_000)).toBe('pending');
      expect(client.isReady).toBe(true);
    } finally {
      clearInterval(flow);
    }
    // The flow stopped: the socket goes quiet, and times out.
    expect(await outcome(first, BOUND_MS)).toMatchObject({ rejected: expect.any(Error) });
  });
});

describe('createRedisClient: a deadline from issue to reply', () => {
  it('fails a command on a stalled server with RedisCommandTimeoutError, refuses the next ones, and replaces the connection', async () => {
    const redis = await server();
    const client = await relayClient(redis);
    const firstId = await client.clientId();
    expect(redisConnectionState(client)).toBe('connected');

    redis.pause();
    const started = performance.now();
    const get = client.get('deadline-test:x');
    // A steady flow of commands does not put the deadline off (each fails on its own).
    const flow = setInterval(() => void client.get('deadline-test:y').catch(() => undefined), 50);
    cleanups.push(async () => clearInterval(flow));
    const failed = await outcome(get, BOUND_MS);
    const tookMs = performance.now() - started;
    clearInterval(flow);
    expect(failed).toEqual({ rejected: expect.any(RedisCommandTimeoutError) });
    const error = (failed as { rejected: RedisCommandTimeoutError }).rejected;
    expect(error).toMatchObject({ command: 'GET', timeoutMs: DEADLINE_MS, refused: false });
    expect(error.message).not.toContain('deadline-test:x');
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    console.info(
      `a GET on a stalled server failed after ${Math.round(tookMs)} ms (deadline ${DEADLINE_MS} ms)`,
    );

    // Until it is replaced, the stalled connection takes no command: nothing more is written to it.
    const state = redisConnectionState(client);
    expect(['stalled', 'disconnected']).toContain(state);
    if (client.isReady) {
      await expect(client.set('deadline-test:z', '1')).rejects.toMatchObject({
        name: 'RedisCommandTimeoutError',
        refused: true,
      });
    }

    // Dropped while the server is still stalled: its coming back is not what replaces it.
    await vi.waitFor(() => expect(redisConnectionState(client)).toBe('disconnected'), {
      timeout: BOUND_MS,
      interval: 10,
    });
    console.info(
      `stalled socket dropped ${Math.round(performance.now() - started)} ms after the stalled GET`,
    );

    redis.resume();
    // A new connection (node-redis replaced the socket), and commands work again.
    await vi.waitFor(() => expect(redisConnectionState(client)).toBe('connected'), {
      timeout: BOUND_MS,
      interval: 20,
    });
    console.info(`connected again ${Math.round(performance.now() - started)} ms after the stalled GET`);
    expect(await client.clientId()).not.toBe(firstId);
    expect(await client.get('deadline-test:x')).toBeNull();
  });

  it('notices a stall on an idle connection (PING) and on the subscriber connection', async () => {
    const redis = await server();
    const client = await relayClient(redis);
    const subscriber = await connectSubscriber(client);
    cleanups.push(async () => subscriber.isOpen && subscriber.destroy());
    await subscriber.subscribe('deadline-test:channel', () => undefined);
    expect(redisConnectionState(subscriber)).toBe('connected');

    redis.pause();
    await vi.waitFor(
      () => {
        expect(redisConnectionState(client)).not.toBe('connected');
        expect(redisConnectionState(subscriber)).not.toBe('connected');
      },
      { timeout: BOUND_MS, interval: 20 },
    );
    redis.resume();
    await vi.waitFor(
      () => {
        expect(redisConnectionState(client)).toBe('connected');
        expect(redisConnectionState(subscriber)).toBe('connected');
      },
      { timeout: BOUND_MS, interval: 20 },
    );
    // Subscribed again on the new connection.
    const heard = new Promise<string>((resolve) => void subscriber.subscribe('deadline-test:again', resolve));
    await vi.waitFor(async () => expect(await client.publish('deadline-test:again', 'hello')).toBe(1), {
      timeout: BOUND_MS,
    });
    expect(await heard).toBe('hello');
  });

  it('fails the first connection attempt that a stalled server never answers, and connects once it does', async () => {
    const redis = await server();
    redis.pause();
    const connecting = connectRedis({
      url: new Secret(redis.url),
      commandTimeoutMs: DEADLINE_MS,
      reconnectInitialDelayMs: 20,
      reconnectMaxDelayMs: 100,
      signal: AbortSignal.timeout(BOUND_MS * 2),
    });
    await new Promise((resolve) => setTimeout(resolve, 3 * DEADLINE_MS));
    redis.resume();
    const client = await connecting;
    cleanups.push(async () => client.isOpen && client.destroy());
    expect(await client.ping()).toBe('PONG');
  });
});

describe('CommandDeadlines (fake clock)', () => {
  afterEach(() => vi.useRealTimers());

  it('fails every command waiting once the oldest passes its deadline, and refuses the next until replaced', async () => {
    vi.useFakeTimers();
    let now = 0;
    const stalls: RedisCommandTimeoutError[] = [];
    const deadlines = new CommandDeadlines({
      timeoutMs: 1_000,
      now: () => now,
      onStall: (e) => stalls.push(e),
    });
    const never = () => new Promise<never>(() => undefined);
    const first = deadlines.run('GET', true, never);
    first.catch(() => undefined);
    now = 600;
    await vi.advanceTimersByTimeAsync(600);
    const second = deadlines.run('SET', true, never);
    second.catch(() => undefined);
    now = 1_000;
    // The timer, then the check it leaves for after the poll phase (setImmediate).
    await vi.advanceTimersByTimeAsync(401);
    await expect(first).rejects.toMatchObject({ command: 'GET', refused: false });
    await expect(second).rejects.toMatchObject({ command: 'SET', refused: false });
    expect(stalls).toHaveLength(1);
    expect(deadlines.stalled).toBe(true);
    await expect(deadlines.run('GET', true, () => Promise.resolve('x'))).rejects.toMatchObject({
      refused: true,
    });
    // Down (reconnecting): node-redis refuses by itself, with its own error.
    await expect(deadlines.run('GET', false, () => Promise.reject(new Error('offline')))).rejects.toThrow(
      'offline',
    );
    deadlines.replaced();
    await expect(deadlines.run('GET', true, () => Promise.resolve('x'))).resolves.toBe('x');
  });

  it('does not count a reply that was waiting to be read when the timer fired (a blocked event loop)', async () => {
    vi.useFakeTimers();
    let now = 0;
    const deadlines = new CommandDeadlines({ timeoutMs: 1_000, now: () => now });
    let answer: (value: string) => void = () => undefined;
    const reply = deadlines.run('GET', true, () => new Promise<string>((resolve) => (answer = resolve)));
    now = 5_000;
    // The timer fires; the reply is read in the same turn of the loop, before the deadline is judged.
    vi.advanceTimersByTime(1_000);
    answer('on time');
    await vi.runAllTimersAsync();
    await expect(reply).resolves.toBe('on time');
    expect(deadlines.stalled).toBe(false);
  });
});
