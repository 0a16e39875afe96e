import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CodeClaim, LoginCoordination, SharedLogin } from '../../src/relay/ports/coordination.js';
import { codeDigest, newDigestKey } from '../../src/relay/login/code.js';
import { Secret } from '../../src/shared/secret.js';

/** One coordination store under test, fresh and empty, as several relays would share it. */
export interface CoordinationHarness {
  /** The first relay's view. */
  readonly coordination: LoginCoordination;
  /** Another relay's view of the same store (Redis: its own connection). */
  readonly replica: () => Promise<LoginCoordination>;
  readonly cleanup?: () => Promise<void>;
}

const HOUR_MS = 3_600_000;

/** Prompt refs as an operator channel could record them: nothing a JSON round trip may change. */
const PROMPTS = {
  discord: {
    '100000000000000001': { channelId: '200000000000000001', messageId: '300000000000000001' },
    '100000000000000002': { channelId: '200000000000000002', messageId: '300000000000000002' },
  },
  order: ['100000000000000001', '100000000000000002'],
  empty: [],
  emptyObject: {},
  nested: [[], [{}], [1, 'two', null, true]],
  precise: 0.1 + 0.2,
  large: 2 ** 53 - 1,
  text: 'ünïcode / "quoted" \\ slash',
} as const;

let loginIds = 0;

/** A pending login awaiting its code, `deadlineInMs` from now, prompted half a second ago. */
export function sharedLogin(overrides: Partial<SharedLogin> = {}, deadlineInMs = 60_000): SharedLogin {
  loginIds += 1;
  const startedAt = new Date(Date.now() - 1_000);
  return {
    loginId: `login-${loginIds}-${Math.random().toString(36).slice(2, 8)}`,
    reason: 'renewal',
    startedAt,
    interim: new Secret(`interim-${loginIds}-do-not-leak`),
    deadline: new Date(Date.now() + deadlineInMs),
    attemptsUsed: 0,
    promptedAt: new Date(startedAt.getTime() + 500),
    codeKey: newDigestKey(),
    triedCodes: [],
    phase: { kind: 'awaiting-code' },
    prompts: {},
    ...overrides,
  };
}

/** The lock owner {@link savePendingAs} saves as by default. */
export const OWNER = 'relay-owner';

/**
 * Saves `login` as a relay does: under the login lock (taken for `owner` if free). Throws unless it
 * was saved.
 */
export async function savePendingAs(
  coordination: LoginCoordination,
  login: SharedLogin,
  owner: string = OWNER,
): Promise<void> {
  await coordination.acquireLock(owner, 60_000);
  const result = await coordination.savePending(login, owner);
  if (result !== 'saved') throw new Error(`savePending answered ${result}`);
}

const DIGEST_KEY = newDigestKey();
let codes = 0;

/** The digest of `code` (any login's: the tests need only tell codes apart). */
export function digestOf(code: string): string {
  return codeDigest(DIGEST_KEY, new Secret(code));
}

/** A claim of a code not claimed before, by relay-a for op, from a modal (no time), 3 attempts. */
export function codeClaim(loginId: string, overrides: Partial<CodeClaim> = {}): CodeClaim {
  codes += 1;
  return {
    loginId,
    relayId: 'relay-a',
    operatorId: 'op',
    codeDigest: digestOf(String(100_000 + codes)),
    maxAttempts: 3,
    ...overrides,
  };
}

/** The parts of a login a test compares: secrets revealed, dates as epoch ms. */
function comparable(login: SharedLogin | undefined): unknown {
  if (login === undefined) return undefined;
  return {
    ...login,
    interim: login.interim.reveal(),
    codeKey: login.codeKey.reveal(),
    startedAt: login.startedAt.getTime(),
    promptedAt: login.promptedAt.getTime(),
    deadline: login.deadline.getTime(),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The behaviour every {@link LoginCoordination} shares (src/relay/coordination.ts). Each backend's
 * test file calls this with a factory of fresh, empty stores; time is real (short TTLs).
 */
/**
 * Runs the contract against the coordination `create` makes. `now` is the store's clock, as the SMS
 * budget reads it when a call runs: the real time unless a test sets `clock.ms`.
 */
export function coordinationContract(
  name: string,
  create: (now: () => number) => Promise<CoordinationHarness>,
): void {
  describe(`${name}: LoginCoordination contract`, () => {
    let harness: CoordinationHarness;
    let coordination: LoginCoordination;
    const clock: { ms: number | undefined } = { ms: undefined };
    /** Runs `call` with the store's clock at `ms`. */
    const at = <T>(ms: number, call: () => Promise<T>): Promise<T> => {
      clock.ms = ms;
      return call().finally(() => (clock.ms = undefined));
    };

    beforeEach(async () => {
      clock.ms = undefined;
      harness = await create(() => clock.ms ?? Date.now());
      coordination = harness.coordination;
    });

    afterEach(async () => {
      await harness.cleanup?.();
    });

    async function replicas(count: number): Promise<LoginCoordination[]> {
      const views = [coordination];
      while (views.length < count) views.push(await harness.replica());
      return views;
    }

    describe('lock', () => {
      it('lets exactly one of many concurrent acquirers take it', async () => {
        const views = await replicas(4);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => views[i % views.length]!.acquireLock(`relay-${i}`, 10_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('is not re-entrant: the holder cannot take it again, nor can anyone else', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.acquireLock('relay-a', 10_000)).toBe(true);
        expect(await a!.acquireLock('relay-a', 10_000)).toBe(false);
        expect(await b!.acquireLock('relay-b', 10_000)).toBe(false);
      });

      it('is renewed and released only by its owner', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.acquireLock('relay-a', 10_000)).toBe(true);

        expect(await b!.renewLock('relay-b', 10_000)).toBe(false);
        await b!.releaseLock('relay-b');
        expect(await b!.acquireLock('relay-b', 10_000)).toBe(false);

        expect(await a!.renewLock('relay-a', 10_000)).toBe(true);
        await a!.releaseLock('relay-a');
        expect(await a!.renewLock('relay-a', 10_000)).toBe(false);
        expect(await b!.acquireLock('relay-b', 10_000)).toBe(true);
      });

      it('is freed by its TTL, and a renewal pushes the TTL on', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.acquireLock('relay-a', 300)).toBe(true);
        expect(await a!.renewLock('relay-a', 10_000)).toBe(true);
        await sleep(450);
        expect(await b!.acquireLock('relay-b', 200)).toBe(false);

        await a!.releaseLock('relay-a');
        expect(await b!.acquireLock('relay-b', 200)).toBe(true);
        await vi.waitFor(async () => expect(await a!.acquireLock('relay-a', 10_000)).toBe(true), {
          timeout: 3_000,
          interval: 25,
        });
        // Expired, so the former owner can neither renew nor release it.
        expect(await b!.renewLock('relay-b', 10_000)).toBe(false);
        await b!.releaseLock('relay-b');
        expect(await b!.acquireLock('relay-b', 10_000)).toBe(false);
      });

      it('refuses a TTL that is not a positive number of ms, and an empty owner', async () => {
        await expect(coordination.acquireLock('relay-a', 0)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.acquireLock('relay-a', Number.NaN)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.renewLock('relay-a', -1)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.acquireLock('', 1_000)).rejects.toBeInstanceOf(RangeError);
        expect(await coordination.acquireLock('relay-a', 1_000)).toBe(true);
      });
    });

    describe('pending login', () => {
      it('loads nothing from an empty store', async () => {
        expect(await coordination.loadPending()).toBeUndefined();
      });

      it('round-trips every field: secrets as Secrets, dates, phase, attempts, tried codes, prompts', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin({
          reason: 'bot-request',
          attemptsUsed: 2,
          promptedAt: new Date('2026-01-05T09:00:00.123Z'),
          triedCodes: [digestOf('111111'), digestOf('222222')],
          phase: { kind: 'exchanging', relayId: 'relay-a', operatorId: '100000000000000001' },
          prompts: PROMPTS,
        });
        await savePendingAs(a!, login);

        const loaded = await b!.loadPending();
        expect(loaded?.interim).toBeInstanceOf(Secret);
        expect(loaded?.interim.equals(login.interim)).toBe(true);
        expect(loaded?.codeKey).toBeInstanceOf(Secret);
        expect(loaded?.codeKey.equals(login.codeKey)).toBe(true);
        expect(loaded?.startedAt).toBeInstanceOf(Date);
        expect(loaded?.deadline).toBeInstanceOf(Date);
        expect(loaded?.promptedAt).toEqual(new Date('2026-01-05T09:00:00.123Z'));
        expect(loaded?.triedCodes).toEqual([digestOf('111111'), digestOf('222222')]);
        expect(comparable(loaded)).toEqual(comparable(login));
        expect(loaded?.prompts).toStrictEqual(JSON.parse(JSON.stringify(PROMPTS)));
      });

      it('hands out copies: changing what was saved or loaded changes nothing stored', async () => {
        const prompts = { discord: { a: { messageId: '1' } } };
        const triedCodes = [digestOf('111111')];
        const login = sharedLogin({ prompts, triedCodes });
        await savePendingAs(coordination, login);
        prompts.discord.a.messageId = 'changed';
        triedCodes.push(digestOf('222222'));
        const loaded = await coordination.loadPending();
        (loaded!.prompts as { discord: { a: { messageId: string } } }).discord.a.messageId = 'changed too';
        expect(Object.isFrozen(loaded!.triedCodes)).toBe(true);
        const reloaded = await coordination.loadPending();
        expect(reloaded?.prompts).toEqual({ discord: { a: { messageId: '1' } } });
        expect(reloaded?.triedCodes).toEqual([digestOf('111111')]);
      });

      it('refuses a login whose deadline has passed, and keeps the one stored', async () => {
        const stored = sharedLogin();
        await savePendingAs(coordination, stored);
        const late = sharedLogin({ deadline: new Date(Date.now() - 1) });
        await expect(coordination.savePending(late, OWNER)).rejects.toBeInstanceOf(RangeError);
        const error = await coordination.savePending(late, OWNER).catch((caught: unknown) => caught);
        expect(String((error as Error).message)).not.toContain(late.interim.reveal());
        expect((await coordination.loadPending())?.loginId).toBe(stored.loginId);
      });

      it('is gone at its deadline: not loaded, not claimed, not reopened, not ended', async () => {
        const login = sharedLogin({}, 400);
        await savePendingAs(coordination, login);
        expect((await coordination.loadPending())?.loginId).toBe(login.loginId);

        await vi.waitFor(async () => expect(await coordination.loadPending()).toBeUndefined(), {
          timeout: 3_000,
          interval: 25,
        });
        expect(Date.now()).toBeGreaterThanOrEqual(login.deadline.getTime() - 50);
        expect(await coordination.claimCode(codeClaim(login.loginId))).toEqual({
          ok: false,
          reason: 'none',
        });
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(false);
        expect(await coordination.endPending(login.loginId, { kind: 'any' })).toBeUndefined();
        await coordination.savePrompts(login.loginId, { resurrected: true });
        expect(await coordination.loadPending()).toBeUndefined();
      });

      it('keeps the deadline through prompt updates, claims and reopenings', async () => {
        const login = sharedLogin({}, 700);
        await savePendingAs(coordination, login);
        await coordination.savePrompts(login.loginId, PROMPTS);
        expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect((await coordination.loadPending())?.deadline.getTime()).toBe(login.deadline.getTime());

        await vi.waitFor(async () => expect(await coordination.loadPending()).toBeUndefined(), {
          timeout: 3_000,
          interval: 25,
        });
      });
    });

    describe('savePending', () => {
      it('saves only for the lock holder: not without the lock, not for another owner', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        expect(await a!.savePending(login, 'relay-a')).toBe('lock-lost');
        expect(await a!.acquireLock('relay-a', 10_000)).toBe(true);
        expect(await b!.savePending(login, 'relay-b')).toBe('lock-lost');
        expect(await a!.loadPending()).toBeUndefined();

        expect(await a!.savePending(login, 'relay-a')).toBe('saved');
        expect((await b!.loadPending())?.loginId).toBe(login.loginId);
      });

      it('refuses once the lock has expired or was released', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.acquireLock('relay-a', 150)).toBe(true);
        await sleep(300);
        expect(await a!.savePending(sharedLogin(), 'relay-a')).toBe('lock-lost');

        expect(await b!.acquireLock('relay-b', 10_000)).toBe(true);
        await b!.releaseLock('relay-b');
        expect(await b!.savePending(sharedLogin(), 'relay-b')).toBe('lock-lost');
        expect(await a!.loadPending()).toBeUndefined();
      });

      it('never replaces another pending login, whoever holds the lock now', async () => {
        const [a, b] = await replicas(2);
        const first = sharedLogin();
        await savePendingAs(a!, first, 'relay-a');
        await a!.releaseLock('relay-a');

        expect(await b!.acquireLock('relay-b', 10_000)).toBe(true);
        const second = sharedLogin({ reason: 'operator-request' });
        expect(await b!.savePending(second, 'relay-b')).toBe('other-pending');
        expect(comparable(await a!.loadPending())).toEqual(comparable(first));
        expect(await b!.claimCode(codeClaim(second.loginId))).toEqual({ ok: false, reason: 'none' });
        expect((await b!.claimCode(codeClaim(first.loginId))).ok).toBe(true);

        // Once that login has ended, the lock holder may save its own.
        expect(await a!.endPending(first.loginId, { kind: 'any' })).toBeDefined();
        expect(await b!.savePending(second, 'relay-b')).toBe('saved');
        expect((await a!.loadPending())?.loginId).toBe(second.loginId);
      });

      it('saves over a pending login whose deadline has passed', async () => {
        const expiring = sharedLogin({}, 300);
        await savePendingAs(coordination, expiring);
        await vi.waitFor(async () => expect(await coordination.loadPending()).toBeUndefined(), {
          timeout: 3_000,
          interval: 25,
        });
        const next = sharedLogin();
        expect(await coordination.savePending(next, OWNER)).toBe('saved');
        expect((await coordination.loadPending())?.loginId).toBe(next.loginId);
      });

      it('lets exactly one of two logins saved at once by the lock holder through', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.acquireLock('relay-a', 10_000)).toBe(true);
        const logins = [sharedLogin(), sharedLogin()];
        const results = await Promise.all([
          a!.savePending(logins[0]!, 'relay-a'),
          b!.savePending(logins[1]!, 'relay-a'),
        ]);
        expect([...results].sort()).toEqual(['other-pending', 'saved']);
        const saved = logins[results.indexOf('saved')]!;
        expect((await a!.loadPending())?.loginId).toBe(saved.loginId);
      });

      it('answers a repeat by the lock holder for the same login saved, and changes nothing', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin({ prompts: { first: true } });
        await savePendingAs(a!, login, 'relay-a');
        expect(await a!.savePending(login, 'relay-a')).toBe('saved');
        expect(comparable(await a!.loadPending())).toEqual(comparable(login));

        // A retry after a claim (say, its first reply was lost) must not undo the claim.
        const claimed = codeClaim(login.loginId, { relayId: 'relay-b', operatorId: 'bob' });
        expect((await b!.claimCode(claimed)).ok).toBe(true);
        expect(await a!.savePending({ ...login, prompts: { second: true } }, 'relay-a')).toBe('saved');
        const loaded = await b!.loadPending();
        expect(loaded?.phase).toEqual({ kind: 'exchanging', relayId: 'relay-b', operatorId: 'bob' });
        expect(loaded?.attemptsUsed).toBe(1);
        expect(loaded?.triedCodes).toEqual([claimed.codeDigest]);
        expect(loaded?.prompts).toEqual({ first: true });
      });

      it('refuses an empty owner and a login out of shape, naming no secret', async () => {
        expect(await coordination.acquireLock(OWNER, 10_000)).toBe(true);
        const login = sharedLogin();
        await expect(coordination.savePending(login, '')).rejects.toBeInstanceOf(RangeError);
        const broken: Partial<SharedLogin>[] = [
          { promptedAt: new Date(Number.NaN) },
          { startedAt: new Date('+010000-01-01T00:00:00.000Z') },
          { codeKey: new Secret('too-short-a-key') },
          { codeKey: 'not-a-secret' as unknown as Secret },
          { triedCodes: ['not a digest'] },
          { triedCodes: 'not-an-array' as unknown as string[] },
        ];
        for (const overrides of broken) {
          const error: unknown = await coordination
            .savePending({ ...login, ...overrides }, OWNER)
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).not.toContain(login.codeKey.reveal());
          expect((error as Error).message).not.toContain('too-short-a-key');
        }
        expect(await coordination.loadPending()).toBeUndefined();
      });
    });

    describe('savePrompts', () => {
      it('records the prompts of the pending login, in any phase, and nothing else changes', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await savePendingAs(a!, login);
        await b!.savePrompts(login.loginId, PROMPTS);
        expect(comparable(await a!.loadPending())).toEqual(comparable({ ...login, prompts: PROMPTS }));

        expect((await a!.claimCode(codeClaim(login.loginId))).ok).toBe(true);
        await b!.savePrompts(login.loginId, { replaced: ['x'] });
        const loaded = await a!.loadPending();
        expect(loaded?.prompts).toEqual({ replaced: ['x'] });
        expect(loaded?.phase).toEqual({ kind: 'exchanging', relayId: 'relay-a', operatorId: 'op' });
        expect(loaded?.attemptsUsed).toBe(1);
      });

      it('does nothing for another login, or when none is pending', async () => {
        await coordination.savePrompts('nobody', { a: 1 });
        expect(await coordination.loadPending()).toBeUndefined();

        const login = sharedLogin({ prompts: { original: true } });
        await savePendingAs(coordination, login);
        await coordination.savePrompts('another-login', { a: 1 });
        expect((await coordination.loadPending())?.prompts).toEqual({ original: true });
      });

      it('keeps prompts exactly through the atomic updates (no number rounding, no [] turned {})', async () => {
        const login = sharedLogin({ prompts: PROMPTS });
        await savePendingAs(coordination, login);
        expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        const ended = await coordination.endPending(login.loginId, { kind: 'any' });
        expect(ended?.prompts).toStrictEqual(JSON.parse(JSON.stringify(PROMPTS)));
      });
    });

    describe('claimCode', () => {
      it('gives the code to exactly one of many concurrent claimers; the others are told who has it', async () => {
        const views = await replicas(4);
        const login = sharedLogin({ attemptsUsed: 1 });
        await savePendingAs(coordination, login);

        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            views[i % views.length]!.claimCode(
              codeClaim(login.loginId, { relayId: `relay-${i}`, operatorId: `operator-${i}` }),
            ),
          ),
        );
        const winners = results.filter((result) => result.ok);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!;
        if (!winner.ok || winner.login.phase.kind !== 'exchanging') throw new Error('no exchange');
        const { relayId, operatorId } = winner.login.phase;
        expect(relayId).toBe(`relay-${operatorId.slice('operator-'.length)}`);
        expect(winner.login.attemptsUsed).toBe(2);
        expect(winner.login.interim.equals(login.interim)).toBe(true);
        expect(winner.login.loginId).toBe(login.loginId);
        for (const result of results.filter((candidate) => !candidate.ok)) {
          expect(result).toEqual({ ok: false, reason: 'busy', operatorId });
        }
        const loaded = await coordination.loadPending();
        expect(loaded?.phase).toEqual({ kind: 'exchanging', relayId, operatorId });
        expect(loaded?.attemptsUsed).toBe(2);
      });

      it('answers none for another login, for no login, and for an ended one', async () => {
        expect(await coordination.claimCode(codeClaim('nobody'))).toEqual({
          ok: false,
          reason: 'none',
        });
        const login = sharedLogin();
        await savePendingAs(coordination, login);
        expect(await coordination.claimCode(codeClaim('another'))).toEqual({
          ok: false,
          reason: 'none',
        });
        expect(await coordination.endPending(login.loginId, { kind: 'awaiting-code' })).toBeDefined();
        expect(await coordination.claimCode(codeClaim(login.loginId))).toEqual({
          ok: false,
          reason: 'none',
        });
      });
    });

    describe('claimCode refusals', () => {
      /** Saves `login`, and returns a check that a refused claim changed nothing stored. */
      async function saved(login: SharedLogin): Promise<() => Promise<void>> {
        await savePendingAs(coordination, login);
        const before = comparable(await coordination.loadPending());
        return async () => expect(comparable(await coordination.loadPending())).toEqual(before);
      }

      it('refuses a code written before the prompt went out as stale, and says when it went out', async () => {
        const login = sharedLogin();
        const unchanged = await saved(login);
        const promptedAtMs = login.promptedAt.getTime();

        expect(
          await coordination.claimCode(codeClaim(login.loginId, { writtenAtMs: promptedAtMs - 1 })),
        ).toEqual({ ok: false, reason: 'stale', promptedAt: login.promptedAt });
        expect(
          await coordination.claimCode(codeClaim(login.loginId, { writtenAtMs: promptedAtMs - 3_600_000 })),
        ).toMatchObject({ ok: false, reason: 'stale' });
        await unchanged();

        // Written at the prompt or after it: taken. Without a time (a modal names its login): taken.
        const atPrompt = await coordination.claimCode(
          codeClaim(login.loginId, { writtenAtMs: promptedAtMs }),
        );
        expect(atPrompt.ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
      });

      it.each([
        ['2000-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z', true],
        ['2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', false],
        ['2026-01-05T23:59:59.999Z', '2026-01-06T00:00:00.000Z', false],
        ['2026-01-05T23:59:59.999Z', '2026-01-05T23:59:59.998Z', true],
        ['2026-01-05T09:00:00.500Z', '2026-01-04T09:00:00.501Z', true],
        ['2026-02-28T10:00:00.000Z', '2026-03-01T09:00:00.000Z', false],
        ['1970-01-01T00:00:00.001Z', '1969-12-31T23:59:59.999Z', true],
      ])('compares times exactly: prompted %s, written %s, stale %s', async (prompted, written, stale) => {
        const login = sharedLogin({ promptedAt: new Date(prompted) });
        await savePendingAs(coordination, login);
        const result = await coordination.claimCode(
          codeClaim(login.loginId, { writtenAtMs: Date.parse(written) }),
        );
        expect(result).toEqual(
          stale
            ? { ok: false, reason: 'stale', promptedAt: new Date(prompted) }
            : expect.objectContaining({ ok: true }),
        );
      });

      it('refuses a code already sent for this login, from any relay or operator', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await savePendingAs(a!, login);
        const code = digestOf('123456');
        const first = await a!.claimCode(codeClaim(login.loginId, { codeDigest: code }));
        expect(first.ok && first.login.triedCodes).toEqual([code]);
        expect(await a!.reopen(login.loginId, 'relay-a')).toBe(true);
        const before = comparable(await a!.loadPending());

        expect(
          await b!.claimCode(
            codeClaim(login.loginId, { codeDigest: code, relayId: 'relay-b', operatorId: 'bob' }),
          ),
        ).toEqual({ ok: false, reason: 'already-tried' });
        expect(comparable(await b!.loadPending())).toEqual(before);

        const other = digestOf('654321');
        const second = await b!.claimCode(
          codeClaim(login.loginId, { codeDigest: other, relayId: 'relay-b' }),
        );
        expect(second.ok && second.login.triedCodes).toEqual([code, other]);
        expect(second.ok && second.login.attemptsUsed).toBe(2);
      });

      it('refuses a code once the login has used maxAttempts, counting every claim', async () => {
        const login = sharedLogin({ attemptsUsed: 2 });
        const unchanged = await saved(login);
        expect(await coordination.claimCode(codeClaim(login.loginId, { maxAttempts: 2 }))).toEqual({
          ok: false,
          reason: 'no-attempts-left',
        });
        expect(await coordination.claimCode(codeClaim(login.loginId, { maxAttempts: 1 }))).toEqual({
          ok: false,
          reason: 'no-attempts-left',
        });
        await unchanged();

        const third = await coordination.claimCode(codeClaim(login.loginId, { maxAttempts: 3 }));
        expect(third.ok && third.login.attemptsUsed).toBe(3);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect(await coordination.claimCode(codeClaim(login.loginId, { maxAttempts: 3 }))).toEqual({
          ok: false,
          reason: 'no-attempts-left',
        });
      });

      it('checks in this order: none, busy, stale, already-tried, no-attempts-left', async () => {
        const login = sharedLogin({ attemptsUsed: 1 });
        await savePendingAs(coordination, login);
        const code = digestOf('123456');
        const everyProblem = (loginId: string): CodeClaim =>
          codeClaim(loginId, {
            codeDigest: code,
            writtenAtMs: login.promptedAt.getTime() - 1,
            maxAttempts: 1,
          });

        // While it is exchanging `code`: none for another login, busy for this one.
        const claimed = await coordination.claimCode(codeClaim(login.loginId, { codeDigest: code }));
        expect(claimed.ok).toBe(true);
        expect(await coordination.claimCode(everyProblem('another-login'))).toEqual({
          ok: false,
          reason: 'none',
        });
        expect(await coordination.claimCode(everyProblem(login.loginId))).toEqual({
          ok: false,
          reason: 'busy',
          operatorId: 'op',
        });

        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect(await coordination.claimCode(everyProblem(login.loginId))).toEqual({
          ok: false,
          reason: 'stale',
          promptedAt: login.promptedAt,
        });
        const inTime = { writtenAtMs: login.promptedAt.getTime() };
        expect(await coordination.claimCode({ ...everyProblem(login.loginId), ...inTime })).toEqual({
          ok: false,
          reason: 'already-tried',
        });
        expect(
          await coordination.claimCode({
            ...everyProblem(login.loginId),
            ...inTime,
            codeDigest: digestOf('1'),
          }),
        ).toEqual({ ok: false, reason: 'no-attempts-left' });
        expect((await coordination.loadPending())?.attemptsUsed).toBe(2);
      });

      it('gives one code claimed at once by two relays to one of them; the other is refused', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await savePendingAs(a!, login);
        const code = digestOf('123456');
        const results = await Promise.all([
          a!.claimCode(
            codeClaim(login.loginId, { codeDigest: code, relayId: 'relay-a', operatorId: 'alice' }),
          ),
          b!.claimCode(codeClaim(login.loginId, { codeDigest: code, relayId: 'relay-b', operatorId: 'bob' })),
        ]);
        const winners = results.filter((result) => result.ok);
        expect(winners).toHaveLength(1);
        const loser = results.find((result) => !result.ok);
        expect(['busy', 'already-tried']).toContain(loser?.ok === false ? loser.reason : undefined);

        // Once the winner's exchange is over, the same code is still refused.
        const winner = winners[0]!;
        if (!winner.ok || winner.login.phase.kind !== 'exchanging') throw new Error('no exchange');
        expect(await a!.reopen(login.loginId, winner.login.phase.relayId)).toBe(true);
        const again = await Promise.all([
          a!.claimCode(codeClaim(login.loginId, { codeDigest: code })),
          b!.claimCode(codeClaim(login.loginId, { codeDigest: code, relayId: 'relay-b' })),
        ]);
        expect(again).toEqual([
          { ok: false, reason: 'already-tried' },
          { ok: false, reason: 'already-tried' },
        ]);
        expect((await a!.loadPending())?.attemptsUsed).toBe(1);
      });

      it('refuses a claim out of shape before looking, and changes nothing', async () => {
        const login = sharedLogin();
        const unchanged = await saved(login);
        for (const overrides of [
          { codeDigest: '' },
          { codeDigest: 'a.b' },
          { codeDigest: '["x"]' },
          { maxAttempts: 0 },
          { maxAttempts: 1.5 },
          { writtenAtMs: Number.NaN },
          { writtenAtMs: 1.5 },
        ] satisfies Partial<CodeClaim>[]) {
          await expect(coordination.claimCode(codeClaim(login.loginId, overrides))).rejects.toBeInstanceOf(
            RangeError,
          );
        }
        await unchanged();
      });
    });

    describe('reopen', () => {
      it('goes back to awaiting-code only for the relay holding the exchange', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await savePendingAs(a!, login);
        expect(await a!.reopen(login.loginId, 'relay-a')).toBe(false);
        expect(
          (await a!.claimCode(codeClaim(login.loginId, { relayId: 'relay-a', operatorId: 'alice' }))).ok,
        ).toBe(true);

        expect(await b!.reopen(login.loginId, 'relay-b')).toBe(false);
        expect(await b!.reopen('another-login', 'relay-a')).toBe(false);
        expect((await b!.loadPending())?.phase.kind).toBe('exchanging');

        expect(await b!.reopen(login.loginId, 'relay-a')).toBe(true);
        const reopened = await a!.loadPending();
        expect(reopened?.phase).toEqual({ kind: 'awaiting-code' });
        expect(reopened?.attemptsUsed).toBe(1);
        expect(await a!.reopen(login.loginId, 'relay-a')).toBe(false);

        const second = await b!.claimCode(
          codeClaim(login.loginId, { relayId: 'relay-b', operatorId: 'bob' }),
        );
        expect(second.ok && second.login.attemptsUsed).toBe(2);
      });
    });

    describe('endPending', () => {
      it('ends an awaiting login only when it awaits a code, returning it as it was', async () => {
        const login = sharedLogin({ prompts: { p: 1 } });
        await savePendingAs(coordination, login);
        expect(await coordination.endPending('another', { kind: 'awaiting-code' })).toBeUndefined();
        expect(comparable(await coordination.endPending(login.loginId, { kind: 'awaiting-code' }))).toEqual(
          comparable(login),
        );
        expect(await coordination.loadPending()).toBeUndefined();
        expect(await coordination.endPending(login.loginId, { kind: 'awaiting-code' })).toBeUndefined();

        const exchanging = sharedLogin();
        await savePendingAs(coordination, exchanging);
        expect((await coordination.claimCode(codeClaim(exchanging.loginId))).ok).toBe(true);
        expect(await coordination.endPending(exchanging.loginId, { kind: 'awaiting-code' })).toBeUndefined();
        expect((await coordination.loadPending())?.loginId).toBe(exchanging.loginId);
      });

      it('ends an exchange only for the relay holding it', async () => {
        const login = sharedLogin();
        await savePendingAs(coordination, login);
        expect(
          await coordination.endPending(login.loginId, { kind: 'exchanging', relayId: 'relay-a' }),
        ).toBeUndefined();
        expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
        expect(
          await coordination.endPending(login.loginId, { kind: 'exchanging', relayId: 'relay-b' }),
        ).toBeUndefined();

        const ended = await coordination.endPending(login.loginId, {
          kind: 'exchanging',
          relayId: 'relay-a',
        });
        expect(ended?.phase).toEqual({ kind: 'exchanging', relayId: 'relay-a', operatorId: 'op' });
        expect(ended?.attemptsUsed).toBe(1);
        expect(ended?.interim.equals(login.interim)).toBe(true);
        expect(await coordination.loadPending()).toBeUndefined();
      });

      it('ends a login in any phase with `any`, but only that login', async () => {
        const awaiting = sharedLogin();
        await savePendingAs(coordination, awaiting);
        expect(await coordination.endPending('another', { kind: 'any' })).toBeUndefined();
        expect((await coordination.endPending(awaiting.loginId, { kind: 'any' }))?.loginId).toBe(
          awaiting.loginId,
        );

        const exchanging = sharedLogin();
        await savePendingAs(coordination, exchanging);
        expect((await coordination.claimCode(codeClaim(exchanging.loginId))).ok).toBe(true);
        expect((await coordination.endPending(exchanging.loginId, { kind: 'any' }))?.phase.kind).toBe(
          'exchanging',
        );
        expect(await coordination.loadPending()).toBeUndefined();
      });

      it.each([
        ['awaiting-code', 'awaiting-code', false],
        ['awaiting-code', 'any', false],
        ['any', 'any', false],
        ['exchanging', 'exchanging', true],
        ['exchanging', 'any', true],
      ] as const)(
        'gives the login to exactly one of two concurrent enders (%s vs %s)',
        async (first, second, claimed) => {
          const [a, b] = await replicas(2);
          const login = sharedLogin();
          await savePendingAs(a!, login);
          if (claimed) expect((await a!.claimCode(codeClaim(login.loginId))).ok).toBe(true);
          const expectation = (kind: typeof first) =>
            kind === 'exchanging' ? ({ kind, relayId: 'relay-a' } as const) : ({ kind } as const);

          const results = await Promise.all([
            a!.endPending(login.loginId, expectation(first)),
            b!.endPending(login.loginId, expectation(second)),
          ]);
          expect(results.filter((result) => result !== undefined)).toHaveLength(1);
          expect(results.find((result) => result !== undefined)?.loginId).toBe(login.loginId);
          expect(await a!.loadPending()).toBeUndefined();
        },
      );
    });

    describe('claimInput', () => {
      it('gives each input to exactly one of many concurrent claimers', async () => {
        const views = await replicas(4);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => views[i % views.length]!.claimInput('dm-1', 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await coordination.claimInput('dm-2', 60_000)).toBe(true);
        expect(await coordination.claimInput('dm-1', 60_000)).toBe(false);
      });

      it('forgets a claim after its TTL', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.claimInput('dm-short', 300)).toBe(true);
        expect(await a!.claimInput('dm-long', 60_000)).toBe(true);
        expect(await b!.claimInput('dm-short', 300)).toBe(false);
        await vi.waitFor(async () => expect(await b!.claimInput('dm-short', 60_000)).toBe(true), {
          timeout: 3_000,
          interval: 25,
        });
        expect(await b!.claimInput('dm-long', 60_000)).toBe(false);
      });

      it('refuses an empty input ID and a TTL that is not positive', async () => {
        await expect(coordination.claimInput('', 1_000)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.claimInput('dm', 0)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('claimCode with the input that carried the code', () => {
      const input = (inputId: string, ttlMs = 60_000) => ({ input: { inputId, ttlMs } });

      it('gives the DM and its code to exactly one of many concurrent relays', async () => {
        const views = await replicas(4);
        const login = sharedLogin();
        await savePendingAs(coordination, login);
        const code = digestOf('424242');
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            views[i % views.length]!.claimCode(
              codeClaim(login.loginId, { codeDigest: code, relayId: `relay-${i}`, ...input('dm-code') }),
            ),
          ),
        );
        expect(results.filter((result) => result.ok)).toHaveLength(1);
        // Every other relay was told the DM is taken: none answers it (not even "busy").
        for (const result of results.filter((candidate) => !candidate.ok)) {
          expect(result).toEqual({ ok: false, reason: 'input-taken' });
        }
        expect((await coordination.loadPending())?.attemptsUsed).toBe(1);
      });

      it('claims the input whatever the code finds, and nothing else when the input is taken', async () => {
        expect(await coordination.claimCode(codeClaim('nobody', input('dm-none')))).toEqual({
          ok: false,
          reason: 'none',
        });
        expect(await coordination.claimInput('dm-none', 60_000)).toBe(false);

        const login = sharedLogin();
        await savePendingAs(coordination, login);
        expect(await coordination.claimInput('dm-first', 60_000)).toBe(true);
        const unchanged = comparable(await coordination.loadPending());
        expect(await coordination.claimCode(codeClaim(login.loginId, input('dm-first')))).toEqual({
          ok: false,
          reason: 'input-taken',
        });
        expect(comparable(await coordination.loadPending())).toEqual(unchanged);
      });

      it('claims no input when none is given, and forgets the input after its TTL', async () => {
        const login = sharedLogin();
        await savePendingAs(coordination, login);
        expect((await coordination.claimCode(codeClaim(login.loginId))).ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect((await coordination.claimCode(codeClaim(login.loginId, input('dm-short', 300)))).ok).toBe(
          true,
        );
        await vi.waitFor(async () => expect(await coordination.claimInput('dm-short', 60_000)).toBe(true), {
          timeout: 3_000,
          interval: 25,
        });
      });

      it('refuses an empty input ID and a TTL that is not positive, claiming nothing', async () => {
        const login = sharedLogin();
        await savePendingAs(coordination, login);
        for (const bad of [input(''), input('dm-bad', 0)]) {
          await expect(coordination.claimCode(codeClaim(login.loginId, bad))).rejects.toBeInstanceOf(
            RangeError,
          );
        }
        expect((await coordination.loadPending())?.phase).toEqual({ kind: 'awaiting-code' });
      });
    });

    describe('waiting for a person', () => {
      it('is shared by every relay, also one that comes later, until it is cleared', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.loadWaitingForPerson()).toBe(false);
        await a!.saveWaitingForPerson(true);
        expect(await b!.loadWaitingForPerson()).toBe(true);
        await a!.saveWaitingForPerson(true);
        expect(await b!.loadWaitingForPerson()).toBe(true);
        await b!.saveWaitingForPerson(false);
        expect(await a!.loadWaitingForPerson()).toBe(false);
        await b!.saveWaitingForPerson(false);
        expect(await a!.loadWaitingForPerson()).toBe(false);
      });
    });

    describe('halt', () => {
      it('round-trips, survives across relays, and is lifted with undefined', async () => {
        const [a, b] = await replicas(2);
        expect(await a!.loadHalt()).toBeUndefined();
        const at = new Date('2026-01-05T09:00:00.123Z');
        await a!.saveHalt({ error: 'bad-credentials', at });
        const loaded = await b!.loadHalt();
        expect(loaded).toEqual({ error: 'bad-credentials', at });
        expect(loaded?.at).toBeInstanceOf(Date);

        await b!.saveHalt({ error: 'password-expired', at: new Date(at.getTime() + 1) });
        expect((await a!.loadHalt())?.error).toBe('password-expired');
        await a!.saveHalt(undefined);
        expect(await b!.loadHalt()).toBeUndefined();
        await a!.saveHalt(undefined);
        expect(await a!.loadHalt()).toBeUndefined();
      });

      it('round-trips the credentials digest when given, and has none when not', async () => {
        const [a, b] = await replicas(2);
        const at = new Date('2026-01-05T09:00:00.123Z');
        const credentials = 'c2FsdC1vZi10aGUtdGVzdA.aG1hYy1vZi10aGUtY3JlZGVudGlhbHMtb2YtdGhlLXRlc3Q';
        await a!.saveHalt({ error: 'bad-credentials', at, credentials });
        expect(await b!.loadHalt()).toStrictEqual({ error: 'bad-credentials', at, credentials });

        await b!.saveHalt({ error: 'bad-credentials', at });
        const without = await a!.loadHalt();
        expect(without).toStrictEqual({ error: 'bad-credentials', at });
        expect(without !== undefined && 'credentials' in without).toBe(false);
      });

      it('refuses credentials that are not a non-empty string, and keeps the halt stored', async () => {
        const at = new Date('2026-01-05T09:00:00.123Z');
        await coordination.saveHalt({ error: 'bad-pin', at, credentials: 'salt.hmac' });
        for (const credentials of ['', 42, null]) {
          await expect(
            coordination.saveHalt({ error: 'bad-credentials', at, credentials: credentials as string }),
          ).rejects.toBeInstanceOf(TypeError);
        }
        expect(await coordination.loadHalt()).toStrictEqual({
          error: 'bad-pin',
          at,
          credentials: 'salt.hmac',
        });
      });
    });

    describe('SMS budget', () => {
      it('lets exactly `maxPerHour` of many concurrent spends through', async () => {
        const views = await replicas(4);
        const nowMs = Date.now();
        clock.ms = nowMs;
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => views[i % views.length]!.spendLogin(3)),
        );
        const granted = results.filter((result) => result.ok);
        expect(granted).toHaveLength(3);
        for (const result of results) {
          // Each refusal names when the oldest recorded spend leaves the window.
          if (!result.ok) expect(result.nextAllowedAt).toEqual(new Date(nowMs + HOUR_MS));
        }
        expect(await coordination.loginsInLastHour()).toBe(3);
      });

      it('slides over the last hour, on the clock of the store when the call runs', async () => {
        const t0 = Date.now() - HOUR_MS / 2;
        expect(await at(t0, () => coordination.spendLogin(2))).toEqual({ ok: true });
        expect(await at(t0 + 1_000, () => coordination.spendLogin(2))).toEqual({ ok: true });
        expect(await at(t0 + 2_000, () => coordination.spendLogin(2))).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + HOUR_MS),
        });
        expect(await at(t0 + 2_000, () => coordination.loginsInLastHour())).toBe(2);
        // A refused spend is not recorded.
        expect(await at(t0 + HOUR_MS + 500, () => coordination.loginsInLastHour())).toBe(1);

        expect(await at(t0 + HOUR_MS - 1, () => coordination.spendLogin(2))).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + HOUR_MS),
        });
        expect(await at(t0 + HOUR_MS, () => coordination.spendLogin(2))).toEqual({ ok: true });
        expect(await at(t0 + HOUR_MS + 1, () => coordination.spendLogin(2))).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + 1_000 + HOUR_MS),
        });
        expect(await at(t0 + HOUR_MS + 1, () => coordination.loginsInLastHour())).toBe(2);
        expect(await at(t0 + 3 * HOUR_MS, () => coordination.loginsInLastHour())).toBe(0);
      });

      it('counts nothing in an empty store, and two spends in the same millisecond as two', async () => {
        clock.ms = Date.now();
        expect(await coordination.loginsInLastHour()).toBe(0);
        const [a, b] = await replicas(2);
        expect(await a!.spendLogin(5)).toEqual({ ok: true });
        expect(await b!.spendLogin(5)).toEqual({ ok: true });
        expect(await a!.loginsInLastHour()).toBe(2);
      });

      it('refuses a cap that is not a positive integer', async () => {
        await expect(coordination.spendLogin(0)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.spendLogin(1.5)).rejects.toBeInstanceOf(RangeError);
      });
    });
  });
}
