import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/secret.js';
import { relayKeys } from '../../src/store/keys.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/store/redis-connection.js';
import type { RelayKeys } from '../../src/store/types.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { coordinationContract, sharedLogin } from './coordination.contract.js';
import { captureLog } from './log-capture.js';

const ACCOUNT = 'default';
const HOUR_MS = 3_600_000;

/** A relay connection as main.ts makes it (not the test helper's plain client). */
async function relayClient(): Promise<RedisClient> {
  return connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-test' });
}

async function closeQuietly(client: { isOpen: boolean; close(): Promise<void> }): Promise<void> {
  if (client.isOpen) await client.close();
}

coordinationContract('RedisCoordination', async () => {
  const prefix = uniquePrefix('coordination-contract');
  const keys = relayKeys({ prefix, account: ACCOUNT });
  const clients = [await relayClient()];
  return {
    coordination: new RedisCoordination({ client: clients[0]!, keys }),
    // Every replica on a connection of its own, as separate relay processes would be.
    replica: async () => {
      const client = await relayClient();
      clients.push(client);
      return new RedisCoordination({ client, keys });
    },
    cleanup: async () => {
      await deletePrefix(clients[0]!, prefix);
      await Promise.all(clients.map(closeQuietly));
    },
  };
});

describe('RedisCoordination', () => {
  let prefix: string;
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: Awaited<ReturnType<typeof connectRedis>>;
  let log: ReturnType<typeof captureLog>;
  let coordination: RedisCoordination;

  beforeEach(async () => {
    prefix = uniquePrefix('coordination');
    keys = relayKeys({ prefix, account: ACCOUNT });
    client = await relayClient();
    plain = await connectRedis();
    log = captureLog();
    coordination = new RedisCoordination({ client, keys, logger: log.logger });
  });

  afterEach(async () => {
    await deletePrefix(plain, prefix);
    await closeQuietly(client);
    await closeQuietly(plain);
  });

  function warnings(): Record<string, unknown>[] {
    return log.lines().filter((line) => line.level === 40);
  }

  describe('keys', () => {
    it('names them P:lock:A, P:pending:A, P:halt:A, P:logins:A and P:inputs:A', () => {
      expect(relayKeys({ prefix: 'otp-relay', account: 'default' })).toMatchObject({
        lock: 'otp-relay:lock:default',
        pending: 'otp-relay:pending:default',
        halt: 'otp-relay:halt:default',
        logins: 'otp-relay:logins:default',
        inputs: 'otp-relay:inputs:default',
      });
    });

    it('writes exactly those keys, with those types, and nothing else', async () => {
      await coordination.acquireLock('relay-a', 10_000);
      await coordination.savePending(sharedLogin());
      await coordination.saveHalt({ error: 'bad-pin', at: new Date() });
      await coordination.spendLogin(Date.now(), 4);
      await coordination.claimInput('dm-1', 60_000);

      const written: string[] = [];
      for await (const batch of plain.scanIterator({ MATCH: `${prefix}:*` })) written.push(...batch);
      expect(written.sort()).toEqual([keys.halt, keys.inputs, keys.lock, keys.logins, keys.pending].sort());
      expect(await plain.get(keys.lock)).toBe('relay-a');
      expect(await plain.type(keys.pending)).toBe('string');
      expect(await plain.type(keys.halt)).toBe('string');
      expect(await plain.type(keys.logins)).toBe('zset');
      expect(await plain.type(keys.inputs)).toBe('zset');
    });
  });

  describe('TTLs', () => {
    it('gives the lock its TTL, and a renewal a new one', async () => {
      await coordination.acquireLock('relay-a', 5_000);
      expect(await plain.pTTL(keys.lock)).toBeGreaterThan(4_000);
      expect(await plain.pTTL(keys.lock)).toBeLessThanOrEqual(5_000);
      await coordination.renewLock('relay-a', 60_000);
      expect(await plain.pTTL(keys.lock)).toBeGreaterThan(55_000);
    });

    it("ends the pending login's TTL at its deadline, and keeps it through every update", async () => {
      const login = sharedLogin({}, 30_000);
      await coordination.savePending(login);
      const initial = await plain.pTTL(keys.pending);
      const untilDeadline = login.deadline.getTime() - Date.now();
      expect(initial).toBeGreaterThan(untilDeadline - 1_000);
      expect(initial).toBeLessThanOrEqual(30_000);

      const steps: (() => Promise<unknown>)[] = [
        () => coordination.savePrompts(login.loginId, { discord: { a: '1' } }),
        () => coordination.claimCode(login.loginId, 'relay-a', 'op'),
        () => coordination.reopen(login.loginId, 'relay-a'),
        () => coordination.savePrompts(login.loginId, { discord: { a: '2' } }),
      ];
      let previous = initial;
      for (const step of steps) {
        await step();
        const remaining = await plain.pTTL(keys.pending);
        // Still counting down to the same deadline: never reset, never removed.
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(previous);
        previous = remaining;
      }
      expect((await coordination.loadPending())?.prompts).toEqual({ discord: { a: '2' } });
    });

    it('keeps the halt with no TTL, and the SMS budget and input claims no longer than needed', async () => {
      await coordination.saveHalt({ error: 'bad-credentials', at: new Date() });
      expect(await plain.pTTL(keys.halt)).toBe(-1);

      await coordination.spendLogin(Date.now(), 4);
      expect(await plain.pTTL(keys.logins)).toBeGreaterThan(HOUR_MS - 5_000);
      expect(await plain.pTTL(keys.logins)).toBeLessThanOrEqual(HOUR_MS);

      await coordination.claimInput('dm-long', 60_000);
      await coordination.claimInput('dm-short', 1_000);
      // The key lives until its last claim is forgotten, not until the latest one's.
      expect(await plain.pTTL(keys.inputs)).toBeGreaterThan(55_000);
    });

    it('trims old spends from the sorted set instead of letting it grow', async () => {
      const t0 = Date.now() - 3 * HOUR_MS;
      for (let i = 0; i < 5; i += 1) await coordination.spendLogin(t0 + i, 10);
      await coordination.spendLogin(Date.now(), 10);
      expect(await plain.zCard(keys.logins)).toBe(1);
    });
  });

  describe('surviving a restart', () => {
    it('keeps the interim token in the relay-only key, so another relay can finish the login', async () => {
      const login = sharedLogin({ prompts: { discord: { a: { messageId: '42' } } } });
      await coordination.savePending(login);
      expect(await coordination.claimCode(login.loginId, 'relay-a', 'op')).toMatchObject({ ok: true });
      await client.close();

      const restarted = await relayClient();
      try {
        const loaded = await new RedisCoordination({ client: restarted, keys }).loadPending();
        expect(loaded?.interim.reveal()).toBe(login.interim.reveal());
        expect(loaded?.phase).toEqual({ kind: 'exchanging', relayId: 'relay-a', operatorId: 'op' });
        expect(loaded?.prompts).toEqual({ discord: { a: { messageId: '42' } } });
        expect(JSON.parse((await plain.get(keys.pending))!)).toMatchObject({
          interim: login.interim.reveal(),
        });
      } finally {
        await closeQuietly(restarted);
      }
    });
  });

  describe('unreadable values', () => {
    it('treats a corrupt pending login as absent in every operation, warns without the value', async () => {
      for (const corrupt of [
        'corrupt-interim-secretish{',
        JSON.stringify(['not', 'a', 'login', 'secretish']),
        JSON.stringify({ loginId: 'l1', interim: 'secretish', phase: 'awaiting-code', attemptsUsed: 0 }),
      ]) {
        await plain.set(keys.pending, corrupt, { PX: 60_000 });
        expect(await coordination.loadPending()).toBeUndefined();
        expect(await coordination.claimCode('l1', 'relay-a', 'op')).toEqual({ ok: false, reason: 'none' });
        expect(await coordination.reopen('l1', 'relay-a')).toBe(false);
        expect(await coordination.endPending('l1', { kind: 'any' })).toBeUndefined();
        await coordination.savePrompts('l1', { a: 1 });
        expect(await plain.get(keys.pending)).toBe(corrupt);
      }
      expect(warnings().length).toBeGreaterThanOrEqual(3);
      expect(warnings()[0]).toMatchObject({ key: keys.pending, problem: 'not JSON' });
      expect(log.text()).not.toContain('secretish');
    });

    it('refuses a login of another format version or with a field out of shape', async () => {
      const login = sharedLogin();
      await coordination.savePending(login);
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      for (const broken of [
        { ...stored, version: 2 },
        { ...stored, reason: 'made-up' },
        { ...stored, deadline: 'tomorrow' },
        { ...stored, prompts: '[1,2]' },
        { ...stored, phase: { kind: 'exchanging' } },
      ]) {
        await plain.set(keys.pending, JSON.stringify(broken), { PX: 60_000 });
        expect(await coordination.loadPending()).toBeUndefined();
      }
      expect(warnings().map((line) => line.problem)).toEqual([
        'unknown format version',
        'bad reason',
        'bad date',
        'bad prompts',
        'bad phase',
      ]);
      expect(log.text()).not.toContain(login.interim.reveal());
    });

    it('reports a login claimed in Redis but unreadable here as none, without its value', async () => {
      const login = sharedLogin();
      await coordination.savePending(login);
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      await plain.set(keys.pending, JSON.stringify({ ...stored, reason: 'made-up' }), { PX: 60_000 });

      expect(await coordination.claimCode(login.loginId, 'relay-a', 'op')).toEqual({
        ok: false,
        reason: 'none',
      });
      expect(await coordination.endPending(login.loginId, { kind: 'any' })).toBeUndefined();
      expect(warnings()).toHaveLength(2);
      expect(log.text()).not.toContain(login.interim.reveal());
    });

    it('treats a corrupt halt as absent and warns without the value', async () => {
      await plain.set(keys.halt, 'halted-secretish{');
      expect(await coordination.loadHalt()).toBeUndefined();
      await plain.set(keys.halt, JSON.stringify({ error: 'secretish-kind', at: new Date().toISOString() }));
      expect(await coordination.loadHalt()).toBeUndefined();
      await plain.set(keys.halt, JSON.stringify({ error: 'bad-pin', at: 'secretish-date' }));
      expect(await coordination.loadHalt()).toBeUndefined();
      expect(warnings().map((line) => [line.key, line.problem])).toEqual([
        [keys.halt, 'not JSON'],
        [keys.halt, 'bad error kind'],
        [keys.halt, 'bad date'],
      ]);
      expect(log.text()).not.toContain('secretish');
    });
  });

  describe('secrets', () => {
    it('never logs the stored JSON or the interim token, whatever happens', async () => {
      const login = sharedLogin({ prompts: { discord: { a: 'prompt-ref' } } });
      await coordination.savePending(login);
      const storedJson = (await plain.get(keys.pending))!;
      await coordination.savePrompts(login.loginId, { discord: { a: 'prompt-ref-2' } });
      await coordination.claimCode(login.loginId, 'relay-a', 'op');
      await coordination.claimCode(login.loginId, 'relay-b', 'op-2');
      await coordination.reopen(login.loginId, 'relay-a');
      await coordination.loadPending();
      await coordination.endPending(login.loginId, { kind: 'any' });
      // And through the warning paths.
      await plain.set(keys.pending, storedJson.replace('"version":1', '"version":9'), { PX: 60_000 });
      await coordination.loadPending();
      await plain.set(keys.pending, storedJson.slice(0, -3), { PX: 60_000 });
      await coordination.loadPending();
      await coordination.claimCode(login.loginId, 'relay-a', 'op');

      expect(warnings().length).toBeGreaterThanOrEqual(2);
      expect(log.text()).not.toContain(login.interim.reveal());
      expect(log.text()).not.toContain(storedJson);
      expect(log.text()).not.toContain('prompt-ref');
    });

    it('rejects on a closed client, and the error holds no secret', async () => {
      const login = sharedLogin();
      await client.close();
      const error: unknown = await coordination.savePending(login).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).not.toContain(login.interim.reveal());
      expect(String((error as Error).stack)).not.toContain(login.interim.reveal());
      await expect(coordination.loadPending()).rejects.toThrow();
      expect(await plain.exists(keys.pending)).toBe(0);
    });
  });
});
