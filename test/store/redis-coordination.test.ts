import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { RedisCoordination } from '../../src/store/redis-coordination.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import {
  codeClaim,
  digestOf,
  OWNER,
  savePendingAs,
  sharedLogin,
} from '../contracts/coordination.contract.js';
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
      expect(await coordination.savePending(sharedLogin(), 'relay-a')).toBe('saved');
      await coordination.saveHalt({ error: 'bad-pin', at: new Date() });
      await coordination.spendLogin(4);
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
      await savePendingAs(coordination, login);
      const initial = await plain.pTTL(keys.pending);
      const untilDeadline = login.deadline.getTime() - Date.now();
      expect(initial).toBeGreaterThan(untilDeadline - 1_000);
      expect(initial).toBeLessThanOrEqual(30_000);

      const steps: (() => Promise<unknown>)[] = [
        () => coordination.savePrompts(login.loginId, { discord: { a: '1' } }),
        () => coordination.claimCode(codeClaim(login.loginId)),
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

      await coordination.spendLogin(4);
      expect(await plain.pTTL(keys.logins)).toBeGreaterThan(HOUR_MS - 5_000);
      expect(await plain.pTTL(keys.logins)).toBeLessThanOrEqual(HOUR_MS);

      await coordination.claimInput('dm-long', 60_000);
      await coordination.claimInput('dm-short', 1_000);
      // The key lives until its last claim is forgotten, not until the latest one's.
      expect(await plain.pTTL(keys.inputs)).toBeGreaterThan(55_000);
    });

    it('trims old spends from the sorted set instead of letting it grow', async () => {
      let nowMs = Date.now() - 3 * HOUR_MS;
      const clocked = new RedisCoordination({ client: plain, keys, now: () => nowMs });
      for (let i = 0; i < 5; i += 1) await clocked.spendLogin(10);
      nowMs = Date.now();
      await clocked.spendLogin(10);
      expect(await plain.zCard(keys.logins)).toBe(1);
    });

    it("spends on Redis's clock (TIME) when given none: a spend is recorded when Redis runs it", async () => {
      const before = Date.now();
      expect(await coordination.spendLogin(1)).toEqual({ ok: true });
      const [entry] = await plain.zRangeWithScores(keys.logins, 0, -1);
      // This machine's Redis and this process share one clock: the score is the moment it ran.
      expect(entry?.score).toBeGreaterThanOrEqual(before - 1_000);
      expect(entry?.score).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(await coordination.loginsInLastHour()).toBe(1);
    });
  });

  describe('surviving a restart', () => {
    it('keeps the interim token and the code key in the relay-only key, so another relay can finish the login', async () => {
      const login = sharedLogin({ prompts: { discord: { a: { messageId: '42' } } } });
      await savePendingAs(coordination, login);
      const claim = codeClaim(login.loginId);
      expect(await coordination.claimCode(claim)).toMatchObject({ ok: true });
      await client.close();

      const restarted = await relayClient();
      try {
        const loaded = await new RedisCoordination({ client: restarted, keys }).loadPending();
        expect(loaded?.interim.reveal()).toBe(login.interim.reveal());
        expect(loaded?.codeKey.reveal()).toBe(login.codeKey.reveal());
        expect(loaded?.triedCodes).toEqual([claim.codeDigest]);
        expect(loaded?.phase).toEqual({ kind: 'exchanging', relayId: 'relay-a', operatorId: 'op' });
        expect(loaded?.prompts).toEqual({ discord: { a: { messageId: '42' } } });
        expect(JSON.parse((await plain.get(keys.pending))!)).toMatchObject({
          interim: login.interim.reveal(),
          codeKey: login.codeKey.reveal(),
          promptedAt: login.promptedAt.toISOString(),
          // JSON text, as prompts: cjson would turn an empty array into {}.
          triedCodes: JSON.stringify([claim.codeDigest]),
        });
      } finally {
        await closeQuietly(restarted);
      }
    });
  });

  describe('a login saved by an older relay (no promptedAt, codeKey or triedCodes)', () => {
    /** What the relay wrote before those fields existed. */
    async function saveLegacy(login: ReturnType<typeof sharedLogin>): Promise<void> {
      const legacy = {
        version: 1,
        loginId: login.loginId,
        reason: login.reason,
        startedAt: login.startedAt.toISOString(),
        interim: login.interim.reveal(),
        deadline: login.deadline.toISOString(),
        attemptsUsed: login.attemptsUsed,
        phase: login.phase,
        prompts: JSON.stringify(login.prompts),
      };
      await plain.set(keys.pending, JSON.stringify(legacy), { PXAT: login.deadline.getTime() });
    }

    /** The key every relay derives from the interim token (pinned: relays of both versions must agree). */
    function derivedKey(interim: Secret): string {
      return createHmac('sha256', interim.reveal())
        .update('otp-relay legacy code-digest key v1')
        .digest('base64url');
    }

    it('loads with promptedAt = startedAt, no code tried, and the same derived code key on every relay', async () => {
      const login = sharedLogin({ attemptsUsed: 1 });
      await saveLegacy(login);
      const other = await relayClient();
      try {
        const loaded = await coordination.loadPending();
        const elsewhere = await new RedisCoordination({ client: other, keys }).loadPending();
        expect(loaded?.promptedAt).toEqual(login.startedAt);
        expect(loaded?.triedCodes).toEqual([]);
        expect(loaded?.attemptsUsed).toBe(1);
        expect(loaded?.codeKey).toBeInstanceOf(Secret);
        expect(loaded?.codeKey.reveal()).toBe(derivedKey(login.interim));
        expect(loaded?.codeKey.reveal()).not.toBe(login.interim.reveal());
        expect(elsewhere?.codeKey.equals(loaded!.codeKey)).toBe(true);
      } finally {
        await closeQuietly(other);
      }
      expect(warnings()).toEqual([]);
    });

    it('is claimed with those defaults: stale before startedAt, each code once, the attempts capped', async () => {
      const login = sharedLogin({ attemptsUsed: 1 });
      await saveLegacy(login);
      const startedAtMs = login.startedAt.getTime();
      expect(
        await coordination.claimCode(codeClaim(login.loginId, { writtenAtMs: startedAtMs - 1 })),
      ).toEqual({
        ok: false,
        reason: 'stale',
        promptedAt: login.startedAt,
      });
      const code = digestOf('123456');
      const claimed = await coordination.claimCode(
        codeClaim(login.loginId, { codeDigest: code, writtenAtMs: startedAtMs }),
      );
      expect(claimed.ok && claimed.login.triedCodes).toEqual([code]);
      expect(claimed.ok && claimed.login.codeKey.reveal()).toBe(derivedKey(login.interim));
      expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
      expect(await coordination.claimCode(codeClaim(login.loginId, { codeDigest: code }))).toEqual({
        ok: false,
        reason: 'already-tried',
      });
      expect(await coordination.claimCode(codeClaim(login.loginId, { maxAttempts: 2 }))).toEqual({
        ok: false,
        reason: 'no-attempts-left',
      });

      // The scripts add only what they track: the key stays derived, never written.
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      expect(stored.triedCodes).toBe(JSON.stringify([code]));
      expect(stored).not.toHaveProperty('codeKey');
      expect(stored).not.toHaveProperty('promptedAt');
      expect((await coordination.loadPending())?.codeKey.reveal()).toBe(derivedKey(login.interim));
    });

    it('is never replaced by a new login', async () => {
      const login = sharedLogin();
      await saveLegacy(login);
      await coordination.acquireLock('relay-a', 10_000);
      expect(await coordination.savePending(sharedLogin(), 'relay-a')).toBe('other-pending');
      expect((await coordination.loadPending())?.loginId).toBe(login.loginId);
    });
  });

  describe('savePending', () => {
    it('replaces a stored value that is no login at all (with a warning), never a login it cannot read', async () => {
      await coordination.acquireLock('relay-a', 10_000);
      await plain.set(keys.pending, 'corrupt-secretish{', { PX: 60_000 });
      const login = sharedLogin();
      expect(await coordination.savePending(login, 'relay-a')).toBe('saved');
      expect((await coordination.loadPending())?.loginId).toBe(login.loginId);
      expect(warnings().map((line) => [line.key, line.problem])).toEqual([
        [keys.pending, 'not a pending login; replaced'],
      ]);

      // A login of a newer format (a relay of the next version, during an upgrade): not replaced.
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      const newer = JSON.stringify({ ...stored, version: 2, loginId: 'newer' });
      await plain.set(keys.pending, newer, { PX: 60_000 });
      expect(await coordination.savePending(sharedLogin(), 'relay-a')).toBe('other-pending');
      expect(await plain.get(keys.pending)).toBe(newer);
      expect(log.text()).not.toContain('secretish');
    });

    it('sends one script, and writes nothing when it refuses', async () => {
      const login = sharedLogin();
      expect(await coordination.savePending(login, 'relay-a')).toBe('lock-lost');
      expect(await plain.exists(keys.pending)).toBe(0);
      expect(await plain.exists(keys.lock)).toBe(0);
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
        expect(await coordination.claimCode(codeClaim('l1'))).toEqual({ ok: false, reason: 'none' });
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
      await savePendingAs(coordination, login);
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

    it('refuses promptedAt, codeKey, triedCodes, fingerprint and phase out of shape, and dates not written by toISOString', async () => {
      const login = sharedLogin();
      await savePendingAs(coordination, login);
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      const broken: [Record<string, unknown>, string][] = [
        [{ ...stored, promptedAt: 'yesterday' }, 'bad promptedAt'],
        [{ ...stored, promptedAt: '2026-01-05T09:00:00Z' }, 'bad promptedAt'],
        [{ ...stored, promptedAt: 1_767_603_600_000 }, 'bad promptedAt'],
        [{ ...stored, startedAt: '2026-01-05 09:00:00' }, 'bad date'],
        [{ ...stored, codeKey: 'too-short' }, 'bad codeKey'],
        [{ ...stored, codeKey: null }, 'bad codeKey'],
        [{ ...stored, triedCodes: [digestOf('1')] }, 'bad triedCodes'],
        [{ ...stored, triedCodes: '{}' }, 'bad triedCodes'],
        [{ ...stored, triedCodes: '[1]' }, 'bad triedCodes'],
        [{ ...stored, triedCodes: '["not a digest"]' }, 'bad triedCodes'],
        [{ ...stored, triedCodes: 'not json' }, 'bad triedCodes'],
        [{ ...stored, fingerprint: '' }, 'bad fingerprint'],
        [{ ...stored, fingerprint: 42 }, 'bad fingerprint'],
        [
          { ...stored, phase: { kind: 'exchanging', relayId: 'r', operatorId: 'o', inputId: 7 } },
          'bad phase',
        ],
      ];
      for (const [value] of broken) {
        await plain.set(keys.pending, JSON.stringify(value), { PX: 60_000 });
        expect(await coordination.loadPending()).toBeUndefined();
      }
      expect(warnings().map((line) => line.problem)).toEqual(broken.map(([, problem]) => problem));
      expect(log.text()).not.toContain(login.codeKey.reveal());
      expect(log.text()).not.toContain(login.interim.reveal());
    });

    it('claims nothing from a login whose tried codes or prompt time the script cannot read', async () => {
      const login = sharedLogin();
      await savePendingAs(coordination, login);
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      for (const value of [
        { ...stored, triedCodes: 'not json' },
        { ...stored, triedCodes: '{"a":"b"}' },
        { ...stored, triedCodes: '[1]' },
        { ...stored, triedCodes: 7 },
        { ...stored, promptedAt: '2026-01-05T09:00:00Z' },
      ]) {
        const raw = JSON.stringify(value);
        await plain.set(keys.pending, raw, { PX: 60_000 });
        expect(await coordination.claimCode(codeClaim(login.loginId))).toEqual({ ok: false, reason: 'none' });
        expect(await plain.get(keys.pending)).toBe(raw);
      }
      expect(warnings().every((line) => line.problem === 'not a pending login')).toBe(true);
      expect(warnings()).toHaveLength(5);
    });

    it('reports a login claimed in Redis but unreadable here as none, without its value', async () => {
      const login = sharedLogin();
      await savePendingAs(coordination, login);
      const stored = JSON.parse((await plain.get(keys.pending))!) as Record<string, unknown>;
      await plain.set(keys.pending, JSON.stringify({ ...stored, reason: 'made-up' }), { PX: 60_000 });

      expect(await coordination.claimCode(codeClaim(login.loginId))).toEqual({
        ok: false,
        reason: 'none',
      });
      expect(await coordination.endPending(login.loginId, { kind: 'any' })).toBeUndefined();
      expect(warnings()).toHaveLength(2);
      expect(log.text()).not.toContain(login.interim.reveal());
    });

    it('stores the credentials digest with the halt only when there is one, and refuses one out of shape', async () => {
      const at = new Date('2026-01-05T09:00:00.123Z');
      await coordination.saveHalt({ error: 'bad-credentials', at, credentials: 'salt.hmac' });
      expect(JSON.parse((await plain.get(keys.halt))!)).toEqual({
        error: 'bad-credentials',
        at: at.toISOString(),
        credentials: 'salt.hmac',
      });
      await coordination.saveHalt({ error: 'bad-credentials', at });
      expect(JSON.parse((await plain.get(keys.halt))!)).toEqual({
        error: 'bad-credentials',
        at: at.toISOString(),
      });

      for (const credentials of ['', 42, null, ['salt.hmac']]) {
        await plain.set(
          keys.halt,
          JSON.stringify({ error: 'bad-credentials', at: at.toISOString(), credentials }),
        );
        expect(await coordination.loadHalt()).toBeUndefined();
      }
      expect(warnings().map((line) => line.problem)).toEqual(Array(4).fill('bad credentials'));
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
      await savePendingAs(coordination, login);
      const storedJson = (await plain.get(keys.pending))!;
      await coordination.savePrompts(login.loginId, { discord: { a: 'prompt-ref-2' } });
      await coordination.claimCode(codeClaim(login.loginId));
      await coordination.claimCode(codeClaim(login.loginId, { relayId: 'relay-b', operatorId: 'op-2' }));
      await coordination.reopen(login.loginId, 'relay-a');
      await coordination.loadPending();
      await coordination.endPending(login.loginId, { kind: 'any' });
      // And through the warning paths.
      await plain.set(keys.pending, storedJson.replace('"version":1', '"version":9'), { PX: 60_000 });
      await coordination.loadPending();
      await plain.set(keys.pending, storedJson.slice(0, -3), { PX: 60_000 });
      await coordination.loadPending();
      await coordination.claimCode(codeClaim(login.loginId));

      expect(warnings().length).toBeGreaterThanOrEqual(2);
      expect(log.text()).not.toContain(login.interim.reveal());
      expect(log.text()).not.toContain(login.codeKey.reveal());
      expect(log.text()).not.toContain(storedJson);
      expect(log.text()).not.toContain('prompt-ref');
    });

    it('rejects on a closed client, and the error holds no secret', async () => {
      const login = sharedLogin();
      await client.close();
      const error: unknown = await coordination.savePending(login, OWNER).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).not.toContain(login.interim.reveal());
      expect(String((error as Error).stack)).not.toContain(login.interim.reveal());
      expect(String((error as Error).stack)).not.toContain(login.codeKey.reveal());
      await expect(coordination.loadPending()).rejects.toThrow();
      expect(await plain.exists(keys.pending)).toBe(0);
    });
  });
});
