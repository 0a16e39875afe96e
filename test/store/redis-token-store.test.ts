import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { RedisNotConnectedError } from '../../src/store/errors.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { LuaScript } from '../../src/store/lua-script.js';
import { serializeRelayEvent } from '../../src/store/redis-events.js';
import type { RelayKeys, TokenRecord } from '../../src/relay/ports/token-store.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../ops/redis-server.js';
import { captureLog } from './log-capture.js';
import { newToken } from '../contracts/token-store.contract.js';

const ACCOUNT = 'default';

/** A relay connection as main.ts makes it (not the test helper's plain client). */
async function relayClient(): Promise<RedisClient> {
  return connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-test' });
}

async function closeQuietly(client: { isOpen: boolean; close(): Promise<void> }): Promise<void> {
  if (client.isOpen) await client.close();
}

/** Debian's python3 first: CI's `apt-get install python3-redis` puts redis-py there. */
const PYTHON =
  ['/usr/bin/python3', 'python3'].find(
    (candidate) => spawnSync(candidate, ['-c', 'import redis'], { stdio: 'ignore' }).status === 0,
  ) ?? 'python3';

function pythonCan(code: string): boolean {
  return spawnSync(PYTHON, ['-c', code], { stdio: 'ignore' }).status === 0;
}

const HAS_PYTHON = pythonCan('import json');
const HAS_PYTHON_REDIS = HAS_PYTHON && pythonCan('import redis');

function runPython(code: string, input?: string): string {
  const result = spawnSync(PYTHON, ['-c', code], {
    input,
    encoding: 'utf8',
    env: { ...process.env, PYTHONIOENCODING: 'utf-8', REDIS_URL: TEST_REDIS_URL },
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

describe('RedisTokenStore', () => {
  let prefix: string;
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: Awaited<ReturnType<typeof connectRedis>>;
  let store: RedisTokenStore;

  beforeEach(async () => {
    prefix = uniquePrefix('token-store');
    keys = relayKeys({ prefix, account: ACCOUNT });
    client = await relayClient();
    plain = await connectRedis();
    store = new RedisTokenStore({ client, keys, account: ACCOUNT });
  });

  afterEach(async () => {
    await deletePrefix(plain, prefix);
    await closeQuietly(client);
    await closeQuietly(plain);
  });

  describe('announcing the token (announceUpdates)', () => {
    /** Every message on the account's event channel while `run` runs, in order. */
    async function messagesDuring(run: () => Promise<unknown>): Promise<string[]> {
      const subscriber = await connectRedis();
      const messages: string[] = [];
      try {
        await subscriber.subscribe(keys.events, (message) => void messages.push(message));
        await run();
        // A PING on the subscriber comes back after every message published before it.
        await subscriber.ping();
        return messages;
      } finally {
        await subscriber.close();
      }
    }

    it('publishes token.updated in the write script, byte for byte as RedisEventPublisher would', async () => {
      const announcing = new RedisTokenStore({ client, keys, account: ACCOUNT, announceUpdates: true });
      expect(announcing.announcesPublish).toBe(true);
      const records: TokenRecord[] = [];
      const messages = await messagesDuring(async () => {
        records.push(await announcing.publish(newToken('one')));
        records.push(await announcing.publish(newToken('two')));
      });
      expect(messages).toEqual(
        records.map((record) =>
          serializeRelayEvent({
            type: 'token.updated',
            generation: record.generation,
            expiresAt: record.expiresAt,
          }),
        ),
      );
      // The event names the generation the script took, which is the stored one.
      expect((await announcing.read())?.generation).toBe(records[1]!.generation);
      expect(messages.join('')).not.toContain('one');
    });

    it('publishes nothing by default, and nothing when the write is refused', async () => {
      expect(store.announcesPublish).toBe(false);
      expect(await messagesDuring(() => store.publish(newToken('quiet')))).toEqual([]);
      const announcing = new RedisTokenStore({ client, keys, account: ACCOUNT, announceUpdates: true });
      await plain.del(keys.token);
      await plain.hSet(keys.token, 'not', 'a string');
      expect(
        await messagesDuring(() => announcing.publish(newToken('refused')).catch(() => undefined)),
      ).toEqual([]);
      await plain.del(keys.token);
    });
  });

  describe('scripts called by their hash', () => {
    it('sends a script whole only when the server lacks it (NOSCRIPT), then by EVALSHA', async () => {
      // A script this server has never seen: its text differs from every other test's.
      const script = new LuaScript(`return ARGV[1] .. '-${prefix}'`);
      const evalSha = vi.spyOn(client, 'evalSha');
      const evalWhole = vi.spyOn(client, 'eval');
      expect(await script.run(client, { keys: [], arguments: ['first'] })).toBe(`first-${prefix}`);
      expect([evalSha.mock.calls.length, evalWhole.mock.calls.length]).toEqual([1, 1]);
      expect(await script.run(client, { keys: [], arguments: ['second'] })).toBe(`second-${prefix}`);
      expect([evalSha.mock.calls.length, evalWhole.mock.calls.length]).toEqual([2, 1]);
      // Any other error is the caller's, and nothing is sent again.
      const failing = new LuaScript(`return redis.error_reply('nope ${prefix}')`);
      await expect(failing.run(client, { keys: [], arguments: [] })).rejects.toThrow(/nope/);
      await expect(failing.run(client, { keys: [], arguments: [] })).rejects.toThrow(/nope/);
      expect(evalWhole.mock.calls.length).toBe(2);
    });
  });

  describe('what bots read', () => {
    it('uses the public key names: otp-relay:token:default under the default prefix and account', () => {
      expect(relayKeys({ prefix: 'otp-relay', account: 'default' }).token).toBe('otp-relay:token:default');
    });

    it('writes exactly P:token:A and P:generation:A, with no keyv namespace', async () => {
      const record = await store.publish(newToken('tok'));

      const written: string[] = [];
      for await (const batch of plain.scanIterator({ MATCH: `${prefix}:*` })) written.push(...batch);
      expect(written.sort()).toEqual([`${prefix}:generation:${ACCOUNT}`, `${prefix}:token:${ACCOUNT}`]);
      expect(await plain.exists([`keyv:${keys.token}`, `keyv::${keys.token}`])).toBe(0);
      expect(await plain.type(keys.token)).toBe('string');
      expect(await plain.get(keys.generation)).toBe(String(record.generation));
    });

    it("stores keyv's JSON envelope {value, expires} byte for byte, expires at expiresAt", async () => {
      const token = newToken('eyJ0eXAiOiJKV1QifQ.e30.c2ln', 60_000);
      const record = await store.publish(token);
      const raw = (await plain.get(keys.token))!;

      const envelope = JSON.parse(raw) as { value: TokenRecord; expires: number };
      expect(Object.keys(envelope)).toEqual(['value', 'expires']);
      expect(envelope.value).toEqual(record);
      expect(raw).toBe(JSON.stringify({ value: record, expires: envelope.expires }));
      // `expires` is exactly `expiresAt`, as in the envelope restore() writes back.
      expect(envelope.expires).toBe(token.expiresAt.getTime());
      expect(JSON.parse(raw).value.token).toBe('eyJ0eXAiOiJKV1QifQ.e30.c2ln');
    });

    it('sets a Redis TTL that ends at expiresAt', async () => {
      const token = newToken('ttl', 60_000);
      await store.publish(token);
      const remainingMs = await plain.pTTL(keys.token);
      const untilExpiryMs = token.expiresAt.getTime() - Date.now();

      expect(remainingMs).toBeGreaterThan(untilExpiryMs - 5_000);
      expect(remainingMs).toBeLessThanOrEqual(60_000);
    });

    it.skipIf(!HAS_PYTHON)(
      'gives the token to Python json.loads(...)["value"]["token"] exactly',
      async () => {
        await store.publish(newToken(':starts-with-colon.and "quotes"'));
        const raw = (await plain.get(keys.token))!;
        const token = runPython(
          'import json, sys; sys.stdout.write(json.loads(sys.stdin.read())["value"]["token"])',
          raw,
        );
        expect(token).toBe(':starts-with-colon.and "quotes"');
      },
    );

    it.skipIf(!HAS_PYTHON_REDIS)(
      'runs the docs/contract.md Python snippet with redis-py (skipped when python3 cannot `import redis`: apt-get install -y python3-redis, or pip install redis)',
      async () => {
        await store.publish(newToken('python-bot-token'));
        const snippet = [
          'import json, os, sys, redis',
          'r = redis.Redis.from_url(os.environ["REDIS_URL"])',
          `sys.stdout.write(json.loads(r.get(${JSON.stringify(keys.token)}))["value"]["token"])`,
        ].join('\n');
        expect(runPython(snippet)).toBe('python-bot-token');
      },
    );
  });

  describe('generation', () => {
    it('takes the generation in the write itself: two relays publishing at once never clobber a newer token', async () => {
      const other = await relayClient();
      try {
        const otherStore = new RedisTokenStore({ client: other, keys, account: ACCOUNT });
        const records = await Promise.all(
          Array.from({ length: 30 }, (_, index) =>
            (index % 2 === 0 ? store : otherStore).publish(newToken(`relay-${index % 2}-token-${index}`)),
          ),
        );
        const newest = records.reduce((a, b) => (b.generation > a.generation ? b : a));
        expect(new Set(records.map((record) => record.generation)).size).toBe(records.length);
        expect(await store.read()).toEqual(newest);
        expect(await plain.get(keys.generation)).toBe(String(newest.generation));
      } finally {
        await closeQuietly(other);
      }
    });

    it('publishes above a stored record newer than the counter, and raises the counter to it', async () => {
      await plain.set(keys.generation, '2');
      const newer = {
        token: 'manual',
        account: ACCOUNT,
        generation: 9_000_000_000,
        obtainedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      await plain.set(keys.token, JSON.stringify({ value: newer, expires: Date.parse(newer.expiresAt) }), {
        PX: 60_000,
      });

      const published = await store.publish(newToken('above'));
      expect(published.generation).toBe(newer.generation + 1);
      expect(await store.read()).toEqual(published);
      expect(await plain.get(keys.generation)).toBe(String(newer.generation + 1));
    });

    it('stores the chosen generation byte for byte, whatever the token holds', async () => {
      const tricky = ':"generation":-1,"x" \\ ,"generation":0,';
      const record = await store.publish({ ...newToken(tricky), minGeneration: 12_345_678_901 });
      const raw = (await plain.get(keys.token))!;
      const envelope = JSON.parse(raw) as { value: TokenRecord; expires: number };
      expect(record.generation).toBe(12_345_678_901);
      expect(envelope.value).toEqual(record);
      expect(raw).toBe(JSON.stringify({ value: record, expires: envelope.expires }));
    });

    describe('after Redis lost its data (FLUSHALL on a server of its own)', () => {
      let server: RedisServer;
      let own: RedisClient;
      let ownStore: RedisTokenStore;

      beforeEach(async () => {
        server = await startRedisServer();
        own = await connectRelayRedis({ url: new Secret(server.url), name: 'otp-relay-test-flush' });
        ownStore = new RedisTokenStore({ client: own, keys, account: ACCOUNT });
      });

      afterEach(async () => {
        await closeQuietly(own);
        await server.stop();
      });

      it('a token of generation 7, FLUSHALL, then a publish: the generation is above 7', async () => {
        await own.set(keys.generation, '6');
        const seventh = await ownStore.publish(newToken('seventh'));
        expect(seventh.generation).toBe(7);

        await own.flushAll();
        expect(await ownStore.read()).toBeUndefined();

        const token = newToken('after-the-flush');
        const next = await ownStore.publish(token);
        expect(next.generation).toBeGreaterThan(seventh.generation);
        expect(next.generation).toBe(Math.floor(token.obtainedAt.getTime() / 1000));
        expect(await own.get(keys.generation)).toBe(String(next.generation));
        // And on by one from there.
        expect((await ownStore.publish(newToken('then'))).generation).toBe(next.generation + 1);
      });

      it('a relay that remembers a generation above the clock goes on from it after FLUSHALL', async () => {
        const before = await ownStore.publish({ ...newToken('before'), minGeneration: 9_000_000_000 });
        await own.flushAll();
        const next = await ownStore.publish({ ...newToken('after'), minGeneration: before.generation + 1 });
        expect(next.generation).toBe(before.generation + 1);
      });
    });
  });

  describe('restore', () => {
    it('writes back the envelope publish wrote, byte for byte, when only the token key was lost', async () => {
      const record = await store.publish(newToken('lost-token', 60_000));
      await plain.del(keys.token);

      expect(await store.restore(record)).toBe(true);
      const raw = (await plain.get(keys.token))!;
      expect(raw).toBe(JSON.stringify({ value: record, expires: Date.parse(record.expiresAt) }));
      const remainingMs = await plain.pTTL(keys.token);
      expect(remainingMs).toBeGreaterThan(Date.parse(record.expiresAt) - Date.now() - 5_000);
      expect(remainingMs).toBeLessThanOrEqual(60_000);
      expect(await plain.get(keys.generation)).toBe(String(record.generation));
      expect(await store.read()).toEqual(record);
      expect((await store.publish(newToken('next'))).generation).toBe(record.generation + 1);
    });

    it('raises a lower counter to the generation, as a string INCR can go on from', async () => {
      await plain.set(keys.generation, '2');
      const record = {
        token: 'restored',
        account: ACCOUNT,
        generation: 9,
        obtainedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      expect(await store.restore(record)).toBe(true);
      expect(await plain.get(keys.generation)).toBe('9');
      expect(await plain.incr(keys.generation)).toBe(10);
    });

    it('refuses when a newer record is stored, even with the counter behind it', async () => {
      const newer = {
        token: 'manual',
        account: ACCOUNT,
        generation: 7,
        obtainedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      const raw = JSON.stringify({ value: newer, expires: Date.parse(newer.expiresAt) });
      await plain.set(keys.token, raw, { PX: 60_000 });

      expect(await store.restore({ ...newer, token: 'older', generation: 6 })).toBe(false);
      expect(await plain.get(keys.token)).toBe(raw);
      expect(await plain.exists(keys.generation)).toBe(0);
    });

    it('replaces a value that is not a record', async () => {
      await plain.set(keys.token, 'corrupt');
      const record = {
        token: 'restored',
        account: ACCOUNT,
        generation: 1,
        obtainedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      };
      expect(await store.restore(record)).toBe(true);
      expect(await store.read()).toEqual(record);
    });

    it('rejects through a closed client', async () => {
      const record = await store.publish(newToken('t'));
      await plain.del(keys.token);
      await client.close();
      await expect(store.restore(record)).rejects.toBeInstanceOf(RedisNotConnectedError);
      expect(await plain.exists(keys.token)).toBe(0);
    });
  });

  describe('failures', () => {
    it('rejects a publish through a closed client, and leaves the client closed', async () => {
      await client.close();
      await expect(store.publish(newToken('nowhere'))).rejects.toThrow();
      await expect(store.read()).rejects.toBeInstanceOf(RedisNotConnectedError);
      expect(client.isOpen).toBe(false);
      expect(await plain.exists(keys.token)).toBe(0);
    });

    it('rejects when the connection drops before the write, and writes nothing', async () => {
      const id = await client.clientId();
      const dropping = new Proxy(client, {
        get(target, property) {
          // The write script is called by its hash (EVALSHA), or sent whole (EVAL).
          if (property === 'eval' || property === 'evalSha') {
            return async (...args: Parameters<RedisClient['eval']>) => {
              await plain.sendCommand(['CLIENT', 'KILL', 'ID', String(id)]);
              return target[property](...args);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function'
            ? (value as (...args: unknown[]) => unknown).bind(target)
            : value;
        },
      });
      const droppingStore = new RedisTokenStore({ client: dropping, keys, account: ACCOUNT });

      await expect(droppingStore.publish(newToken('lost'))).rejects.toThrow();
      expect(await plain.exists(keys.token)).toBe(0);

      // The connection comes back by itself, and the next publish goes on.
      await vi.waitFor(() => expect(client.isReady).toBe(true), { timeout: 5_000, interval: 20 });
      const after = await store.publish(newToken('after'));
      expect(await store.read()).toEqual(after);
    });

    it('rejects when Redis refuses the write itself, and takes no generation', async () => {
      await plain.hSet(keys.token, 'not', 'a string');
      await expect(store.publish(newToken('refused'))).rejects.toThrow(/WRONGTYPE/);
      expect(await plain.type(keys.token)).toBe('hash');
      expect(await plain.exists(keys.generation)).toBe(0);
    });

    it('reads a corrupt value as absent and warns without the value', async () => {
      const log = captureLog();
      const logged = new RedisTokenStore({ client, keys, account: ACCOUNT, logger: log.logger });

      await plain.set(keys.token, 'corrupt-secretish-bytes{');
      expect(await logged.read()).toBeUndefined();
      await plain.set(
        keys.token,
        JSON.stringify({ value: { token: 'half-a-record-secret' }, expires: Date.now() + 60_000 }),
      );
      expect(await logged.read()).toBeUndefined();
      await plain.set(keys.token, JSON.stringify(['not', 'an', 'envelope']));
      expect(await logged.read()).toBeUndefined();

      const warnings = log.lines().filter((line) => line.level === 40);
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toMatchObject({ key: keys.token, problem: 'not JSON' });
      expect(log.text()).not.toContain('secretish');
      expect(log.text()).not.toContain('half-a-record-secret');
    });

    it('reads an envelope past its expiry as absent, without deleting the key', async () => {
      const record = {
        token: 'old',
        account: ACCOUNT,
        generation: 1,
        obtainedAt: new Date(Date.now() - 120_000).toISOString(),
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      };
      await plain.set(keys.token, JSON.stringify({ value: record, expires: Date.parse(record.expiresAt) }));

      expect(await store.read()).toBeUndefined();
      expect(await plain.exists(keys.token)).toBe(1);
    });

    it('does not remove a value that is not a record', async () => {
      await plain.set(keys.token, 'corrupt');
      expect(await store.remove(1)).toBe(false);
      expect(await plain.get(keys.token)).toBe('corrupt');
    });
  });
});
