import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import {
  createTokenClient,
  TokenClient,
  TokenClientStateError,
  TokenClientTimeoutError,
  type RelayEvent,
  type TokenInfo,
} from '../../src/client/index.js';
import { parseBotRequest } from '../../src/contract/bot-request.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { ACCOUNT, clientTestBed, connectionIds, nextChange } from './support.js';

describe('TokenClient', () => {
  const bed = clientTestBed('client');
  const { clients, startClient } = bed;

  describe('getToken', () => {
    it('is undefined before start and when no token is stored', async () => {
      const client = new TokenClient({
        redisUrl: TEST_REDIS_URL,
        prefix: bed.relay.prefix,
        connectionName: bed.connectionName,
      });
      clients.push(client);
      expect(client.getToken()).toBeUndefined();
      await client.start();
      expect(client.getToken()).toBeUndefined();
      expect(client.tokenKey).toBe(`${bed.relay.prefix}:token:default`);
    });

    it('serves the stored token from memory once started, with its generation and dates', async () => {
      const record = await bed.relay.storeToken('bearer-one', 60_000);
      const client = await startClient();

      const info = client.getToken();
      expect(info).toBeDefined();
      expect(info!.token).toBe('bearer-one');
      expect(info!.account).toBe(ACCOUNT);
      expect(info!.generation).toBe(record.generation);
      expect(info!.obtainedAt).toEqual(new Date(record.obtainedAt));
      expect(info!.expiresAt).toEqual(new Date(record.expiresAt));
      // The same object on every call: the hot path allocates nothing.
      expect(client.getToken()).toBe(info);
    });

    it('round-trips a token that starts with ":" exactly', async () => {
      // keyv's default serializer would store it as '::…'; the relay stores it as plain JSON.
      await bed.relay.storeToken(':colon:first-token', 60_000);
      const raw = await bed.plain.get(bed.relay.keys.token);
      expect(JSON.parse(raw!).value.token).toBe(':colon:first-token');

      const client = await startClient();
      expect(client.getToken()?.token).toBe(':colon:first-token');

      const changed = nextChange(client, (token) => token?.token === '::two-colons');
      await bed.relay.publishToken('::two-colons');
      expect((await changed)?.token).toBe('::two-colons');
    });

    it('answers undefined once the clock passes expiresAt, without waiting for any timer', async () => {
      const record = await bed.relay.storeToken('bearer-clock', 60_000);
      const client = await startClient();
      expect(client.getToken()?.generation).toBe(record.generation);

      const now = vi.spyOn(Date, 'now').mockReturnValue(Date.parse(record.expiresAt));
      try {
        expect(client.getToken()).toBeUndefined();
      } finally {
        now.mockRestore();
      }
      expect(client.getToken()?.generation).toBe(record.generation);
    });

    it('forgets a short-lived token when it expires, and tells the listeners', async () => {
      const client = await startClient();
      // Published once the client runs, so that a slow start cannot eat the token's short life.
      const arrived = nextChange(client, (token) => token !== undefined);
      await bed.relay.publishToken('bearer-short', 1_000);
      expect((await arrived)?.token).toBe('bearer-short');

      await nextChange(client, (token) => token === undefined);
      expect(client.getToken()).toBeUndefined();
    });
  });

  describe('relay events', () => {
    it('re-reads the key on token.updated and serves the new token', async () => {
      const first = await bed.relay.storeToken('bearer-first');
      const client = await startClient();
      const changes: (TokenInfo | undefined)[] = [];
      client.onTokenChange((token) => changes.push(token));

      const waiting = client.waitForToken({ minGeneration: first.generation + 1 });
      const second = await bed.relay.publishToken('bearer-second');
      const info = await waiting;

      expect(info.generation).toBe(second.generation);
      expect(info.token).toBe('bearer-second');
      expect(client.getToken()).toBe(info);
      expect(changes).toEqual([info]);
    });

    it('clears the token on token.invalidated of its generation', async () => {
      const record = await bed.relay.storeToken('bearer-doomed');
      const client = await startClient();
      expect(client.getToken()?.generation).toBe(record.generation);

      const cleared = nextChange(client, (token) => token === undefined);
      await bed.relay.invalidate(record.generation);
      await cleared;
      expect(client.getToken()).toBeUndefined();

      // The next token arrives as usual.
      const next = await bed.relay.publishToken('bearer-next');
      expect((await client.waitForToken({ minGeneration: next.generation })).token).toBe('bearer-next');
    });

    it('clears on token.invalidated even when the key is still there, and never takes that generation back', async () => {
      const record = await bed.relay.storeToken('bearer-invalid');
      const client = await startClient();
      const changes: (number | undefined)[] = [];
      client.onTokenChange((token) => changes.push(token?.generation));

      await bed.relay.publishEvent({
        type: 'token.invalidated',
        generation: record.generation,
        reason: 'manual',
      });
      // A stale announcement of the invalidated generation makes the client read the key again…
      await bed.relay.publishEvent({
        type: 'token.updated',
        generation: record.generation,
        expiresAt: record.expiresAt,
      });
      // …and a real new token proves every earlier event was handled (events arrive in order).
      const next = await bed.relay.publishToken('bearer-after');
      await client.waitForToken({ minGeneration: next.generation });
      expect(changes).toEqual([undefined, next.generation]);
    });

    it('never replaces a newer token with an older generation, from the key or from an event', async () => {
      await bed.relay.storeToken('bearer-g1');
      const older = await bed.plain.get(bed.relay.keys.token);
      const held = await bed.relay.storeToken('bearer-g2');
      const client = await startClient();
      expect(client.getToken()?.generation).toBe(held.generation);
      const changes: (number | undefined)[] = [];
      client.onTokenChange((token) => changes.push(token?.generation));

      // An older envelope in the key (as a stale writer would leave it), then an announcement that
      // makes the client read it.
      await bed.plain.set(bed.relay.keys.token, older!, { PX: 60_000 });
      await bed.relay.publishEvent({
        type: 'token.updated',
        generation: held.generation + 5,
        expiresAt: held.expiresAt,
      });
      // An invalidation of an older generation must not clear the newer token either.
      await bed.relay.publishEvent({
        type: 'token.invalidated',
        generation: held.generation - 1,
        reason: 'old',
      });

      const newest = await bed.relay.publishToken('bearer-g3');
      await client.waitForToken({ minGeneration: newest.generation });
      expect(changes).toEqual([newest.generation]);
      expect(
        bed.log.lines.some((line) => line.message === 'Ignored a stored token older than one already seen'),
      ).toBe(true);
    });

    it('ignores malformed events and stored values, logging them without their content', async () => {
      const client = await startClient();
      const events: string[] = [];
      client.onRelayEvent((event) => events.push(event.type));

      await bed.plain.publish(bed.relay.keys.events, 'garbage hunter2-event');
      await bed.plain.publish(bed.relay.keys.events, '{"type":"token.updated","generation":"7"}');
      await bed.plain.publish(bed.relay.keys.events, '{"type":"token.future","generation":7}');
      await bed.plain.set(bed.relay.keys.token, '{"value":{"token":"hunter2-stored"}}', { PX: 60_000 });
      await bed.relay.publishEvent({
        type: 'token.updated',
        generation: 1,
        expiresAt: new Date().toISOString(),
      });
      await bed.relay.publishEvent({ type: 'login.started', reason: 'scheduled' });

      const next = await bed.relay.publishToken('bearer-valid');
      await client.waitForToken({ minGeneration: next.generation });
      // The token may come first, read on the earlier event (its GET can run after the write).
      await vi.waitFor(() => expect(events).toEqual(['token.updated', 'login.started', 'token.updated']), {
        timeout: 5_000,
        interval: 20,
      });
      const messages = bed.log.lines.map((line) => line.message);
      expect(messages.filter((message) => message === 'Ignored a malformed relay event')).toHaveLength(2);
      expect(messages).toContain('Ignored a relay event of an unknown type');
      expect(messages).toContain('Ignored an unreadable stored token value');
      expect(bed.log.text()).not.toContain('hunter2');
      expect(bed.log.text()).not.toContain('bearer-valid');
    });

    it('survives a listener that throws', async () => {
      const client = await startClient();
      client.onTokenChange(() => {
        throw new Error('listener broke');
      });
      const seen = nextChange(client, (token) => token !== undefined);
      await bed.relay.publishToken('bearer-listener');
      expect((await seen)?.token).toBe('bearer-listener');
      expect(bed.log.lines.filter((line) => line.level === 'error')).toHaveLength(1);
    });

    it('stops calling a listener once unsubscribed', async () => {
      const client = await startClient();
      const calls: number[] = [];
      const unsubscribe = client.onTokenChange((token) => calls.push(token!.generation));
      const first = await bed.relay.publishToken('bearer-a');
      await client.waitForToken({ minGeneration: first.generation });
      unsubscribe();
      const second = await bed.relay.publishToken('bearer-b');
      await client.waitForToken({ minGeneration: second.generation });
      expect(calls).toEqual([first.generation]);
    });
  });

  describe('waitForToken', () => {
    it('resolves at once when a token is held', async () => {
      const record = await bed.relay.storeToken('bearer-held');
      const client = await startClient();
      await expect(client.waitForToken()).resolves.toMatchObject({ generation: record.generation });
    });

    it('rejects with the reason when its signal aborts, and at once when already aborted', async () => {
      const client = await startClient();
      const controller = new AbortController();
      const waiting = client.waitForToken({ signal: controller.signal });
      const reason = new Error('bot shutting down');
      controller.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      await expect(client.waitForToken({ signal: controller.signal })).rejects.toBe(reason);
      await expect(client.waitForToken({ signal: AbortSignal.timeout(20) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
    });

    it('rejects pending waits when the client closes', async () => {
      const client = await startClient();
      const waiting = expect(client.waitForToken()).rejects.toBeInstanceOf(TokenClientStateError);
      await client.close();
      await waiting;
      await expect(client.waitForToken()).rejects.toMatchObject({ problem: 'closed' });
    });

    it('refuses a minGeneration that is not a non-negative integer', async () => {
      const client = await startClient();
      await expect(client.waitForToken({ minGeneration: -1 })).rejects.toBeInstanceOf(RangeError);
      await expect(client.waitForToken({ minGeneration: 1.5 })).rejects.toBeInstanceOf(RangeError);
    });

    it('rejects with TokenClientTimeoutError after timeoutMs, or the client default, and goes on', async () => {
      const client = await startClient({ waitTimeoutMs: 100 });
      const started = Date.now();
      const error = (await client
        .waitForToken({ timeoutMs: 150 })
        .catch((caught: unknown) => caught)) as Error;
      expect(error).toBeInstanceOf(TokenClientTimeoutError);
      expect(error).toMatchObject({ name: 'TokenClientTimeoutError', timeoutMs: 150, minGeneration: 0 });
      expect((error as TokenClientTimeoutError).after).toBeUndefined();
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      await expect(client.waitForToken({ minGeneration: 5 })).rejects.toMatchObject({
        name: 'TokenClientTimeoutError',
        timeoutMs: 100,
        minGeneration: 5,
      });
      // The client still works: the next token arrives as usual.
      const record = await bed.relay.publishToken('bearer-after-timeout');
      expect((await client.waitForToken({ minGeneration: record.generation })).token).toBe(
        'bearer-after-timeout',
      );
    });

    it('refuses time-outs and combinations it cannot use', async () => {
      const client = await startClient();
      for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        await expect(client.waitForToken({ timeoutMs })).rejects.toBeInstanceOf(RangeError);
      }
      await expect(client.waitForToken({ after: -1 })).rejects.toBeInstanceOf(RangeError);
      await expect(client.waitForToken({ after: 3, minGeneration: 4 })).rejects.toBeInstanceOf(TypeError);
      expect(() => new TokenClient({ waitTimeoutMs: 0 })).toThrow(RangeError);
      expect(() => new TokenClient({ waitTimeoutMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    });
  });

  describe('waitForToken after a report (token.checked)', () => {
    /** Resolves once the client has handled an event of `type` (events arrive in order). */
    function heard(client: TokenClient, accept: (event: RelayEvent) => boolean): Promise<void> {
      return new Promise((resolve) => {
        const unsubscribe = client.onRelayEvent((event) => {
          if (!accept(event)) return;
          unsubscribe();
          resolve();
        });
      });
    }

    it('resolves with the same token once the relay answers token.checked valid for it', async () => {
      const record = await bed.relay.storeToken('bearer-still-good');
      const client = await startClient();
      await client.reportRejected(record.generation);
      let settled = false;
      const waiting = client.waitForToken({ after: record.generation, timeoutMs: 10_000 });
      void waiting.finally(() => (settled = true));

      // Neither a "dead" answer, nor a "valid" one for another generation, ends the wait.
      const barrier = heard(client, (event) => event.type === 'login.started');
      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation, valid: false });
      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation + 1, valid: true });
      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation - 1, valid: true });
      await bed.relay.publishEvent({ type: 'login.started', reason: 'barrier' });
      await barrier;
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);

      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation, valid: true });
      const info = await waiting;
      expect(info.generation).toBe(record.generation);
      expect(info.token).toBe('bearer-still-good');
      expect(info).toBe(client.getToken());
    });

    it('takes an answer that came between the report and the wait, but not one to an earlier report', async () => {
      const record = await bed.relay.storeToken('bearer-quick-answer');
      const client = await startClient();
      await client.reportRejected(record.generation);
      const answered = heard(client, (event) => event.type === 'token.checked');
      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation, valid: true });
      await answered;
      await expect(client.waitForToken({ after: record.generation, timeoutMs: 1_000 })).resolves.toBe(
        client.getToken(),
      );

      // Reported again (the broker said 401 once more): the old answer no longer counts.
      await client.reportRejected(record.generation);
      await expect(client.waitForToken({ after: record.generation, timeoutMs: 200 })).rejects.toMatchObject({
        name: 'TokenClientTimeoutError',
        timeoutMs: 200,
        after: record.generation,
        minGeneration: record.generation + 1,
      });
    });

    it('resolves with a newer generation when the relay replaced the token', async () => {
      const record = await bed.relay.storeToken('bearer-dead');
      const client = await startClient();
      await client.reportRejected(record.generation);
      const waiting = client.waitForToken({ after: record.generation, timeoutMs: 10_000 });
      await bed.relay.publishEvent({ type: 'token.checked', generation: record.generation, valid: false });
      await bed.relay.invalidate(record.generation);
      const next = await bed.relay.publishToken('bearer-replacement');

      const info = await waiting;
      expect(info.generation).toBe(next.generation);
      expect(info.generation).toBeGreaterThan(record.generation);
      expect(info.token).toBe('bearer-replacement');
    });

    it('resolves at once when a newer token than the reported one is already held', async () => {
      const older = await bed.relay.storeToken('bearer-older');
      const newer = await bed.relay.storeToken('bearer-newer');
      const client = await startClient();
      await expect(client.waitForToken({ after: older.generation, timeoutMs: 1_000 })).resolves.toMatchObject(
        {
          generation: newer.generation,
        },
      );
    });

    it('rejects with TokenClientTimeoutError when the relay never answers', async () => {
      const record = await bed.relay.storeToken('bearer-no-answer');
      const client = await startClient();
      const error: unknown = await client
        .waitForToken({ after: record.generation, timeoutMs: 150 })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TokenClientTimeoutError);
      expect(error).toMatchObject({ after: record.generation, timeoutMs: 150 });
      expect(String((error as Error).message)).not.toContain('bearer-no-answer');
      // Still served: a time-out is not an invalidation.
      expect(client.getToken()?.generation).toBe(record.generation);
    });
  });

  describe('reportRejected', () => {
    it('publishes the exact JSON the relay reads on P:requests:A', async () => {
      const client = await startClient();
      const listener = bed.plain.duplicate();
      await listener.connect();
      const received: string[] = [];
      await listener.subscribe(bed.relay.keys.requests, (message) => received.push(message));
      try {
        await expect(client.reportRejected(7)).resolves.toBe(1);
        await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 5_000, interval: 20 });
        expect(received[0]).toBe('{"type":"token.rejected","generation":7}');
        expect(parseBotRequest(received[0]!)).toEqual({
          ok: true,
          request: { type: 'token.rejected', generation: 7 },
        });
      } finally {
        await listener.close();
      }
    });

    it('refuses a bad generation and a client that is not started', async () => {
      const idle = new TokenClient({ redisUrl: TEST_REDIS_URL, prefix: bed.relay.prefix });
      await expect(idle.reportRejected(1)).rejects.toMatchObject({ problem: 'not-started' });
      const client = await startClient();
      await expect(client.reportRejected(-1)).rejects.toBeInstanceOf(RangeError);
      await expect(client.reportRejected(Number.NaN)).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('reconnects', () => {
    it('ends up with a token published while both connections were down', async () => {
      const first = await bed.relay.storeToken('bearer-before');
      const client = await startClient();
      expect(client.getToken()?.generation).toBe(first.generation);

      const ids = await connectionIds(bed.plain, bed.connectionName);
      expect(ids.command).toHaveLength(1);
      expect(ids.subscriber).toHaveLength(1);
      for (const id of [...ids.command, ...ids.subscriber])
        await bed.plain.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      // Published while the client reconnects: its subscriber is likely not listening yet.
      const second = await bed.relay.publishToken('bearer-during');

      const info = await client.waitForToken({
        minGeneration: second.generation,
        signal: AbortSignal.timeout(10_000),
      });
      expect(info.token).toBe('bearer-during');
      expect(bed.log.lines.some((line) => line.message === 'Redis connection lost; reconnecting')).toBe(true);

      // node-redis subscribed again by itself: a later token arrives by its event alone.
      await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: 5_000, interval: 20 });
      const third = await bed.relay.publishToken('bearer-after');
      expect((await client.waitForToken({ minGeneration: third.generation })).token).toBe('bearer-after');
    });

    it('re-reads after the subscriber alone reconnects, which catches an event it missed', async () => {
      await bed.relay.storeToken('bearer-old');
      const client = await startClient();
      const [subscriberId] = (await connectionIds(bed.plain, bed.connectionName)).subscriber;
      await bed.plain.sendCommand(['CLIENT', 'KILL', 'ID', subscriberId!]);
      const missed = await bed.relay.publishToken('bearer-missed');
      const info = await client.waitForToken({
        minGeneration: missed.generation,
        signal: AbortSignal.timeout(10_000),
      });
      expect(info.token).toBe('bearer-missed');
    });

    it('drops a token that was removed while the client was down', async () => {
      const record = await bed.relay.storeToken('bearer-removed');
      const client = await startClient();
      const ids = await connectionIds(bed.plain, bed.connectionName);
      const cleared = nextChange(client, (token) => token === undefined);
      for (const id of [...ids.command, ...ids.subscriber])
        await bed.plain.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      // Removed without an announcement the client could hear.
      await bed.relay.store.remove(record.generation);
      await cleared;
      expect(client.getToken()).toBeUndefined();
    });
  });

  describe('lifecycle', () => {
    it('closes its own connections and refuses to start again', async () => {
      const record = await bed.relay.storeToken('bearer-lifecycle');
      const client = await startClient();
      expect(client.connected).toBe(true);
      await expect(client.start()).rejects.toMatchObject({ problem: 'already-started' });

      await client.close();
      await client.close();
      expect(client.getToken()).toBeUndefined();
      expect(client.connected).toBe(false);
      expect(await connectionIds(bed.plain, bed.connectionName)).toEqual({ command: [], subscriber: [] });
      expect(await bed.plain.publish(bed.relay.keys.events, '{"type":"login.started","reason":"x"}')).toBe(0);
      await expect(client.start()).rejects.toMatchObject({ problem: 'closed' });
      await expect(client.reportRejected(record.generation)).rejects.toMatchObject({ problem: 'closed' });
    });

    it('uses an application client as given, and leaves it open', async () => {
      const record = await bed.relay.storeToken('bearer-shared');
      const shared = bed.plain.duplicate({ name: bed.connectionName });
      shared.on('error', () => undefined);
      await shared.connect();
      try {
        const client = await startClient({ client: shared, redisUrl: undefined });
        expect(client.getToken()?.generation).toBe(record.generation);
        const ids = await connectionIds(bed.plain, bed.connectionName);
        expect(ids.command).toHaveLength(1);
        expect(ids.subscriber).toHaveLength(1);
        await client.close();
        expect(shared.isReady).toBe(true);
        expect((await connectionIds(bed.plain, bed.connectionName)).subscriber).toEqual([]);
      } finally {
        await shared.close();
      }
    });

    it('can be closed while it is still connecting', async () => {
      // Port 1 refuses at once: the client keeps retrying until closed.
      const client = new TokenClient({ redisUrl: 'redis://user:hunter2-pass@127.0.0.1:1', logger: bed.log });
      const starting = client.start();
      await vi.waitFor(() => expect(bed.log.lines.length).toBeGreaterThan(0), {
        timeout: 5_000,
        interval: 10,
      });
      await client.close();
      await expect(starting).rejects.toMatchObject({ problem: 'closed' });
      expect(bed.log.text()).not.toContain('hunter2-pass');
    });

    it('gives up connecting when the start signal aborts, and can be started again', async () => {
      const client = new TokenClient({ redisUrl: 'redis://127.0.0.1:1', reconnectMaxDelayMs: 20 });
      await expect(client.start({ signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      await expect(client.start({ signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      await client.close();
    });

    it('createTokenClient returns a started client', async () => {
      const record = await bed.relay.storeToken('bearer-created');
      const client = await createTokenClient({
        redisUrl: TEST_REDIS_URL,
        prefix: bed.relay.prefix,
        connectionName: bed.connectionName,
      });
      clients.push(client);
      expect(client.getToken()?.generation).toBe(record.generation);
    });

    it('refuses options it could never use', () => {
      expect(() => new TokenClient({ prefix: '' })).toThrow(TypeError);
      expect(() => new TokenClient({ connectionName: 'has space' })).toThrow(TypeError);
      expect(() => new TokenClient({ redisUrl: TEST_REDIS_URL, client: bed.plain })).toThrow(TypeError);
    });
  });

  describe('secrecy', () => {
    it('prints the token as [redacted] when the whole TokenInfo is logged', async () => {
      await bed.relay.storeToken('bearer-do-not-print');
      const client = await startClient();
      const info = client.getToken()!;
      expect(JSON.stringify(info)).not.toContain('bearer-do-not-print');
      expect(inspect(info)).not.toContain('bearer-do-not-print');
      expect(JSON.stringify({ info })).toContain('[redacted]');
      expect(String(info.token)).toBe('bearer-do-not-print');
    });
  });

  describe('performance', () => {
    it('getToken is at least 100 times faster than a Redis GET per call', async () => {
      await bed.relay.storeToken('bearer-bench');
      const client = await startClient();
      for (let i = 0; i < 10_000; i += 1) client.getToken();
      for (let i = 0; i < 50; i += 1) await bed.plain.get(bed.relay.keys.token);

      const getCalls = 300;
      let started = process.hrtime.bigint();
      for (let i = 0; i < getCalls; i += 1) await bed.plain.get(bed.relay.keys.token);
      const perGetNs = Number(process.hrtime.bigint() - started) / getCalls;

      const tokenCalls = 1_000_000;
      let sink = 0;
      started = process.hrtime.bigint();
      for (let i = 0; i < tokenCalls; i += 1) sink += client.getToken()!.generation;
      const perTokenNs = Number(process.hrtime.bigint() - started) / tokenCalls;

      expect(sink).toBeGreaterThan(0);
      expect(perGetNs / perTokenNs).toBeGreaterThanOrEqual(100);
    });
  });
});
