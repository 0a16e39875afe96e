import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { InvalidTokenError } from '../../src/store/errors.js';
import type { NewToken, TokenRecord, TokenStore } from '../../src/relay/ports/token-store.js';

/** One store under test, fresh and empty, and how to clean up after it. */
export interface TokenStoreHarness {
  readonly store: TokenStore;
  /** The account the store was created for. */
  readonly account: string;
  readonly cleanup?: () => Promise<void>;
  /**
   * The store losing everything, as a Redis restarted empty (token and generation counter): resolves
   * to the store to use from then on (the same one for Redis; a fresh one for a store in memory).
   */
  readonly loseAll: () => Promise<TokenStore>;
}

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A token valid for `lifetimeMs` from now. */
export function newToken(token: string, lifetimeMs = 3_600_000): NewToken {
  const obtainedAt = new Date();
  return { token: new Secret(token), obtainedAt, expiresAt: new Date(obtainedAt.getTime() + lifetimeMs) };
}

/**
 * The generation a store with no counter gives `token` (docs/contract.md#the-token: never goes back,
 * also after Redis lost its data): the unix seconds of its `obtainedAt`.
 */
export function clockSeed(token: NewToken): number {
  return Math.floor(token.obtainedAt.getTime() / 1000);
}

/** A record of generation `generation`, as a relay would hold it, valid for another minute. */
export function restorable(account: string, generation: number): TokenRecord {
  const obtainedAt = new Date(Date.now() - 1_000);
  return {
    token: `restored-token-${generation}-do-not-leak`,
    account,
    generation,
    obtainedAt: obtainedAt.toISOString(),
    expiresAt: new Date(obtainedAt.getTime() + 61_000).toISOString(),
  };
}

/**
 * The behaviour every {@link TokenStore} shares (docs/contract.md#redis-what-bots-read). Each backend's
 * test file calls this with a factory of fresh, empty stores.
 */
export function tokenStoreContract(name: string, create: () => Promise<TokenStoreHarness>): void {
  describe(`${name}: TokenStore contract`, () => {
    let harness: TokenStoreHarness;
    let store: TokenStore;

    beforeEach(async () => {
      harness = await create();
      store = harness.store;
    });

    afterEach(async () => {
      await harness.cleanup?.();
    });

    it('reads nothing from an empty store', async () => {
      expect(await store.read()).toBeUndefined();
    });

    it('reads back what it published, with the record fields and formats of docs/contract.md', async () => {
      const token = newToken('eyJhbGciOiJIUzI1NiJ9.payload.sig');
      const published = await store.publish(token);
      const read = await store.read();

      expect(read).toEqual(published);
      expect(Object.keys(read!)).toEqual(['token', 'account', 'generation', 'obtainedAt', 'expiresAt']);
      expect(read!.token).toBe('eyJhbGciOiJIUzI1NiJ9.payload.sig');
      expect(read!.account).toBe(harness.account);
      expect(read!.generation).toBe(clockSeed(token));
      expect(read!.obtainedAt).toMatch(ISO_UTC_MS);
      expect(read!.expiresAt).toMatch(ISO_UTC_MS);
      expect(read!.obtainedAt).toBe(token.obtainedAt.toISOString());
      expect(read!.expiresAt).toBe(token.expiresAt.toISOString());
    });

    it('keeps a token exactly as given, even one that starts with a colon', async () => {
      const published = await store.publish(newToken(':colon-token "quoted" \\ ünïcode'));
      expect((await store.read())?.token).toBe(':colon-token "quoted" \\ ünïcode');
      expect(published.token).toBe(':colon-token "quoted" \\ ünïcode');
    });

    it('increments the generation by one with every publish, and reads the latest', async () => {
      const first = await store.publish(newToken('one'));
      const second = await store.publish(newToken('two'));
      const third = await store.publish(newToken('three'));

      expect([second.generation, third.generation]).toEqual([first.generation + 1, first.generation + 2]);
      expect(await store.read()).toEqual(third);
    });

    it('never takes a generation back after a removal', async () => {
      const first = await store.publish(newToken('one'));
      expect(await store.remove(first.generation)).toBe(true);
      expect(await store.read()).toBeUndefined();

      const next = await store.publish(newToken('two'));
      expect(next.generation).toBe(first.generation + 1);
    });

    it('leaves a newer token alone when asked to remove an older generation', async () => {
      const older = await store.publish(newToken('older'));
      const newer = await store.publish(newToken('newer'));

      expect(await store.remove(older.generation)).toBe(false);
      expect(await store.read()).toEqual(newer);
      expect(await store.remove(newer.generation)).toBe(true);
      expect(await store.read()).toBeUndefined();
    });

    it('removes nothing from an empty store, nor twice', async () => {
      expect(await store.remove(1)).toBe(false);
      const record = await store.publish(newToken('once'));
      expect(await store.remove(record.generation)).toBe(true);
      expect(await store.remove(record.generation)).toBe(false);
    });

    it('stops reading a token once it has expired', async () => {
      await store.publish(newToken('short-lived', 400));
      expect((await store.read())?.token).toBe('short-lived');

      await vi.waitFor(async () => expect(await store.read()).toBeUndefined(), {
        timeout: 5_000,
        interval: 50,
      });
    });

    it('refuses an expired or empty token without writing it or spending a generation', async () => {
      const expired: NewToken = {
        token: new Secret('too-late'),
        obtainedAt: new Date(Date.now() - 10_000),
        expiresAt: new Date(Date.now() - 1),
      };
      await expect(store.publish(expired)).rejects.toBeInstanceOf(InvalidTokenError);
      await expect(store.publish(newToken(''))).rejects.toMatchObject({
        name: 'InvalidTokenError',
        reason: 'empty-token',
      });
      await expect(
        store.publish({ ...newToken('x'), expiresAt: new Date(Number.NaN) }),
      ).rejects.toMatchObject({
        reason: 'invalid-date',
      });

      expect(await store.read()).toBeUndefined();
      await expect(store.publish({ ...newToken('x'), minGeneration: -1 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.publish({ ...newToken('x'), minGeneration: 2.5 })).rejects.toBeInstanceOf(
        RangeError,
      );
      expect(await store.read()).toBeUndefined();
      // Still the first generation of a store with no counter: nothing was taken.
      const valid = newToken('valid');
      expect((await store.publish(valid)).generation).toBe(clockSeed(valid));
    });

    describe('generation', () => {
      it('starts from the clock (unix seconds of obtainedAt) in a store with no counter, then goes up by one', async () => {
        const first = newToken('first');
        const record = await store.publish(first);
        expect(record.generation).toBe(clockSeed(first));
        expect(record.generation).toBeGreaterThan(1_700_000_000);
        // Later tokens go on from the counter, not from their own clock.
        const later = { ...newToken('later'), obtainedAt: new Date(Date.now() + 3_600_000) };
        expect((await store.publish(later)).generation).toBe(record.generation + 1);
      });

      it('goes on above every generation given out before after the store lost everything', async () => {
        // Three logins in the last 100 s (well under one a second), then a Redis restarted empty.
        const at = (secondsAgo: number, token: string): NewToken => ({
          ...newToken(token),
          obtainedAt: new Date(Date.now() - secondsAgo * 1000),
        });
        await store.publish(at(100, 'one'));
        await store.publish(at(50, 'two'));
        const last = await store.publish(at(1, 'three'));
        const after = await harness.loseAll();

        const next = await after.publish(newToken('after-the-loss'));
        expect(next.generation).toBeGreaterThan(last.generation);
        expect(await after.read()).toEqual(next);
      });

      it('never goes below minGeneration, and goes on by one from it', async () => {
        const seeded = newToken('seeded');
        const floor = clockSeed(seeded) + 5_000;
        expect((await store.publish({ ...seeded, minGeneration: floor })).generation).toBe(floor);
        expect((await store.publish(newToken('next'))).generation).toBe(floor + 1);
        // A minGeneration at or below the counter changes nothing.
        expect((await store.publish({ ...newToken('low'), minGeneration: 3 })).generation).toBe(floor + 2);
        expect((await store.publish({ ...newToken('same'), minGeneration: floor + 3 })).generation).toBe(
          floor + 3,
        );
      });

      it('honours minGeneration after the store lost everything, when it is above the clock', async () => {
        const before = await store.publish({ ...newToken('before'), minGeneration: 9_000_000_000 });
        const after = await harness.loseAll();
        const next = await after.publish({ ...newToken('after'), minGeneration: before.generation + 1 });
        expect(next.generation).toBe(before.generation + 1);
      });

      it('gives concurrent publishes distinct generations, and keeps the newest', async () => {
        const records = await Promise.all(
          Array.from({ length: 20 }, (_, index) => store.publish(newToken(`concurrent-${index}`))),
        );
        const generations = records.map((record) => record.generation).sort((a, b) => a - b);
        expect(new Set(generations).size).toBe(records.length);
        for (let index = 1; index < generations.length; index += 1) {
          expect(generations[index]).toBe(generations[0]! + index);
        }
        const newest = records.find((record) => record.generation === generations.at(-1));
        expect(await store.read()).toEqual(newest);
      });
    });

    describe('restore', () => {
      it('writes back a record the store lost, exactly, and generations go on from it', async () => {
        await store.publish(newToken('one'));
        const lost = await store.publish(newToken('two'));
        const after = await harness.loseAll();
        expect(await after.read()).toBeUndefined();

        expect(await after.restore(lost)).toBe(true);
        const read = await after.read();
        expect(read).toEqual(lost);
        expect(Object.keys(read!)).toEqual(['token', 'account', 'generation', 'obtainedAt', 'expiresAt']);
        expect((await after.publish(newToken('three'))).generation).toBe(lost.generation + 1);
      });

      it('raises the generation counter to the restored generation', async () => {
        const after = await harness.loseAll();
        const record = restorable(harness.account, 41);
        expect(await after.restore(record)).toBe(true);
        expect(await after.read()).toEqual(record);
        expect((await after.publish(newToken('next'))).generation).toBe(42);
      });

      it('refuses when the same or a newer generation is stored', async () => {
        const older = await store.publish(newToken('older'));
        const newer = await store.publish(newToken('newer'));
        expect(await store.restore(older)).toBe(false);
        expect(await store.restore(newer)).toBe(false);
        expect(await store.read()).toEqual(newer);
        expect((await store.publish(newToken('next'))).generation).toBe(newer.generation + 1);
      });

      it('refuses a record older than a generation issued since, even one removed meanwhile', async () => {
        const older = await store.publish(newToken('older'));
        const newer = await store.publish(newToken('newer'));
        expect(await store.remove(newer.generation)).toBe(true);
        expect(await store.restore(older)).toBe(false);
        expect(await store.read()).toBeUndefined();
      });

      it('refuses an expired record, and takes no generation for it', async () => {
        const after = await harness.loseAll();
        const expired: TokenRecord = {
          ...restorable(harness.account, 5),
          obtainedAt: new Date(Date.now() - 120_000).toISOString(),
          expiresAt: new Date(Date.now() - 1).toISOString(),
        };
        expect(await after.restore(expired)).toBe(false);
        expect(await after.read()).toBeUndefined();
        const fresh = newToken('fresh');
        expect((await after.publish(fresh)).generation).toBe(clockSeed(fresh));
      });

      it('throws for what is not a record of this account, without the token in the error', async () => {
        const record = restorable(harness.account, 3);
        const attempts = [
          { ...record, token: '' },
          { ...record, generation: -1 },
          { ...record, generation: 1.5 },
          { ...record, expiresAt: 'soon' },
          { ...record, account: `${harness.account}-other` },
        ];
        for (const attempt of attempts) {
          const error: unknown = await store.restore(attempt).catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(Error);
          expect(String((error as Error).message)).not.toContain(record.token);
          expect(String((error as Error).stack)).not.toContain(record.token);
        }
        expect(await store.read()).toBeUndefined();
      });
    });

    it('never puts the token into an error message', async () => {
      const error: unknown = await store
        .publish({ ...newToken('do-not-leak-me'), expiresAt: new Date(0) })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).not.toContain('do-not-leak-me');
      expect(String((error as Error).stack)).not.toContain('do-not-leak-me');
    });
  });
}
