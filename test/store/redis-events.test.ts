import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import type { BotRequest } from '../../src/contract/bot-request.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import {
  RedisEventPublisher,
  RedisRequestSubscriber,
  serializeRelayEvent,
  subscribeToRequests,
} from '../../src/store/redis-events.js';
import { parseRelayEvent } from '../../src/contract/relay-event.js';
import type { RelayEvent, RelayKeys } from '../../src/relay/ports/token-store.js';
import { connectRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog } from './log-capture.js';

describe('serializeRelayEvent', () => {
  it('writes exactly the fields docs/contract.md lists for each type', () => {
    expect(
      serializeRelayEvent({ type: 'token.updated', generation: 3, expiresAt: '2026-01-02T03:04:05.000Z' }),
    ).toBe('{"type":"token.updated","generation":3,"expiresAt":"2026-01-02T03:04:05.000Z"}');
    expect(
      serializeRelayEvent({ type: 'token.invalidated', generation: 3, reason: 'rejected-by-broker' }),
    ).toBe('{"type":"token.invalidated","generation":3,"reason":"rejected-by-broker"}');
    expect(serializeRelayEvent({ type: 'token.checked', generation: 3, valid: true })).toBe(
      '{"type":"token.checked","generation":3,"valid":true}',
    );
    expect(serializeRelayEvent({ type: 'token.checked', generation: 3, valid: false })).toBe(
      '{"type":"token.checked","generation":3,"valid":false}',
    );
    expect(serializeRelayEvent({ type: 'login.started', reason: 'expiring' })).toBe(
      '{"type":"login.started","reason":"expiring"}',
    );
    expect(serializeRelayEvent({ type: 'login.failed', reason: 'code-timeout' })).toBe(
      '{"type":"login.failed","reason":"code-timeout"}',
    );
  });

  it("writes what the bots' parser reads back, for every type", () => {
    const events: RelayEvent[] = [
      { type: 'token.updated', generation: 1_760_000_000, expiresAt: '2026-01-02T03:04:05.000Z' },
      { type: 'token.invalidated', generation: 1_760_000_000, reason: 'expired' },
      { type: 'token.checked', generation: 1_760_000_000, valid: true },
      { type: 'token.checked', generation: 1_760_000_001, valid: false },
      { type: 'login.started', reason: 'bot-request' },
      { type: 'login.failed', reason: 'code-timeout' },
    ];
    for (const event of events) {
      expect(parseRelayEvent(serializeRelayEvent(event))).toEqual({ ok: true, event });
    }
  });

  it('drops anything else that rides along on the object', () => {
    const sneaky = {
      type: 'token.updated',
      generation: 1,
      expiresAt: 'x',
      token: 'secret-token',
    } as RelayEvent;
    expect(serializeRelayEvent(sneaky)).not.toContain('secret-token');
  });
});

describe('Redis events', () => {
  let prefix: string;
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: Awaited<ReturnType<typeof connectRedis>>;

  beforeEach(async () => {
    prefix = uniquePrefix('events');
    keys = relayKeys({ prefix, account: 'default' });
    client = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-events-test' });
    plain = await connectRedis();
  });

  afterEach(async () => {
    // Pub/sub channels hold no keys: nothing to delete.
    if (client.isOpen) await client.close();
    if (plain.isOpen) await plain.close();
  });

  describe('RedisEventPublisher', () => {
    it('publishes token.updated on P:events:A as the exact JSON a bot receives', async () => {
      const bot = plain.duplicate();
      await bot.connect();
      const received: string[] = [];
      await bot.subscribe(keys.events, (message) => received.push(message));
      try {
        const publisher = new RedisEventPublisher({ client, keys });
        await publisher.publish({
          type: 'token.updated',
          generation: 12,
          expiresAt: '2026-03-04T05:06:07.890Z',
        });
        await publisher.publish({ type: 'login.started', reason: 'scheduled' });

        await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 5_000, interval: 20 });
        expect(received[0]).toBe(
          '{"type":"token.updated","generation":12,"expiresAt":"2026-03-04T05:06:07.890Z"}',
        );
        expect(JSON.parse(received[1]!)).toEqual({ type: 'login.started', reason: 'scheduled' });
        expect(keys.events).toBe(`${prefix}:events:default`);
      } finally {
        await bot.close();
      }
    });

    it('rejects when the client is closed', async () => {
      const publisher = new RedisEventPublisher({ client, keys });
      await client.close();
      await expect(publisher.publish({ type: 'login.failed', reason: 'x' })).rejects.toThrow();
    });
  });

  describe('RedisRequestSubscriber', () => {
    async function publishRequest(message: string): Promise<void> {
      // PUBLISH answers how many subscribers got it: wait until ours is listening.
      await vi.waitFor(async () => expect(await plain.publish(keys.requests, message)).toBe(1), {
        timeout: 5_000,
        interval: 20,
      });
    }

    it('hands well-formed requests to the callback and logs malformed ones without their text', async () => {
      const log = captureLog();
      const requests: BotRequest[] = [];
      const subscriber = await subscribeToRequests({
        client,
        keys,
        logger: log.logger,
        onRequest: (request) => {
          requests.push(request);
        },
      });
      try {
        await publishRequest('{"type":"token.rejected","generation":5}');
        await publishRequest('garbage with a leaked-looking secret');
        await publishRequest('{"type":"token.rejected","generation":-3}');
        await publishRequest('{"type":"token.rejected","generation":6}');

        await vi.waitFor(() => expect(requests).toHaveLength(2), { timeout: 5_000, interval: 20 });
        expect(requests).toEqual([
          { type: 'token.rejected', generation: 5 },
          { type: 'token.rejected', generation: 6 },
        ]);
        const warnings = log.lines().filter((line) => line.msg === 'Ignored a malformed bot request');
        expect(warnings.map((line) => line.error)).toEqual([
          'not JSON',
          'generation is not a non-negative integer',
        ]);
        expect(log.text()).not.toContain('leaked-looking');
      } finally {
        await subscriber.close();
      }
    });

    it('survives a callback that throws or rejects', async () => {
      const log = captureLog();
      const seen: number[] = [];
      const subscriber = new RedisRequestSubscriber({
        client,
        keys,
        logger: log.logger,
        onRequest: async (request) => {
          seen.push(request.generation);
          if (request.generation === 1) throw new Error('handler broke');
        },
      });
      await subscriber.start();
      try {
        await publishRequest('{"type":"token.rejected","generation":1}');
        await publishRequest('{"type":"token.rejected","generation":2}');
        await vi.waitFor(() => expect(seen).toEqual([1, 2]), { timeout: 5_000, interval: 20 });
        await vi.waitFor(
          () =>
            expect(log.lines().filter((line) => line.msg === 'Bot request handler failed')).toHaveLength(1),
          { timeout: 5_000, interval: 20 },
        );
      } finally {
        await subscriber.close();
      }
    });

    it('subscribes on its own connection and subscribes again after that connection drops', async () => {
      const requests: BotRequest[] = [];
      const subscriber = await subscribeToRequests({
        client,
        keys,
        onRequest: (request) => void requests.push(request),
      });
      try {
        // The main connection stays usable for ordinary commands.
        expect(await client.ping()).toBe('PONG');

        const list = await plain.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
        const line = list
          .split('\n')
          .find((entry) => entry.includes('name=otp-relay-events-test:subscriber'));
        expect(line).toBeDefined();
        const id = /\bid=(\d+)/.exec(line!)![1]!;
        await plain.sendCommand(['CLIENT', 'KILL', 'ID', id]);

        await publishRequest('{"type":"token.rejected","generation":9}');
        await vi.waitFor(() => expect(requests).toEqual([{ type: 'token.rejected', generation: 9 }]), {
          timeout: 5_000,
          interval: 20,
        });
      } finally {
        await subscriber.close();
      }
    });

    it('closes its connection, and close() can be called twice', async () => {
      const subscriber = await subscribeToRequests({ client, keys, onRequest: () => undefined });
      await subscriber.close();
      await subscriber.close();
      expect(await plain.publish(keys.requests, '{"type":"token.rejected","generation":1}')).toBe(0);
      expect(client.isOpen).toBe(true);
    });
  });
});
