import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LoginCoordination, SharedLogin } from '../../src/relay/coordination.js';
import { Secret } from '../../src/secret.js';

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

/** A pending login awaiting its code, `deadlineInMs` from now. */
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
    phase: { kind: 'awaiting-code' },
    prompts: {},
    ...overrides,
  };
}

/** The parts of a login a test compares: the interim revealed, dates as epoch ms. */
function comparable(login: SharedLogin | undefined): unknown {
  if (login === undefined) return undefined;
  return {
    ...login,
    interim: login.interim.reveal(),
    startedAt: login.startedAt.getTime(),
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
export function coordinationContract(name: string, create: () => Promise<CoordinationHarness>): void {
  describe(`${name}: LoginCoordination contract`, () => {
    let harness: CoordinationHarness;
    let coordination: LoginCoordination;

    beforeEach(async () => {
      harness = await create();
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

      it('round-trips every field: interim as a Secret, dates, phase, attempts, prompts', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin({
          reason: 'bot-request',
          attemptsUsed: 2,
          phase: { kind: 'exchanging', relayId: 'relay-a', operatorId: '100000000000000001' },
          prompts: PROMPTS,
        });
        await a!.savePending(login);

        const loaded = await b!.loadPending();
        expect(loaded?.interim).toBeInstanceOf(Secret);
        expect(loaded?.interim.equals(login.interim)).toBe(true);
        expect(loaded?.startedAt).toBeInstanceOf(Date);
        expect(loaded?.deadline).toBeInstanceOf(Date);
        expect(comparable(loaded)).toEqual(comparable(login));
        expect(loaded?.prompts).toStrictEqual(JSON.parse(JSON.stringify(PROMPTS)));
      });

      it('hands out copies: changing what was saved or loaded changes nothing stored', async () => {
        const prompts = { discord: { a: { messageId: '1' } } };
        const login = sharedLogin({ prompts });
        await coordination.savePending(login);
        prompts.discord.a.messageId = 'changed';
        const loaded = await coordination.loadPending();
        (loaded!.prompts as { discord: { a: { messageId: string } } }).discord.a.messageId = 'changed too';
        expect((await coordination.loadPending())?.prompts).toEqual({ discord: { a: { messageId: '1' } } });
      });

      it('replaces any pending login', async () => {
        const first = sharedLogin();
        const second = sharedLogin({ reason: 'operator-request' });
        await coordination.savePending(first);
        await coordination.savePending(second);
        expect((await coordination.loadPending())?.loginId).toBe(second.loginId);
        expect(await coordination.claimCode(first.loginId, 'relay-a', 'op')).toEqual({
          ok: false,
          reason: 'none',
        });
      });

      it('refuses a login whose deadline has passed, and keeps the one stored', async () => {
        const stored = sharedLogin();
        await coordination.savePending(stored);
        const late = sharedLogin({ deadline: new Date(Date.now() - 1) });
        await expect(coordination.savePending(late)).rejects.toBeInstanceOf(RangeError);
        const error = await coordination.savePending(late).catch((caught: unknown) => caught);
        expect(String((error as Error).message)).not.toContain(late.interim.reveal());
        expect((await coordination.loadPending())?.loginId).toBe(stored.loginId);
      });

      it('is gone at its deadline: not loaded, not claimed, not reopened, not ended', async () => {
        const login = sharedLogin({}, 400);
        await coordination.savePending(login);
        expect((await coordination.loadPending())?.loginId).toBe(login.loginId);

        await vi.waitFor(async () => expect(await coordination.loadPending()).toBeUndefined(), {
          timeout: 3_000,
          interval: 25,
        });
        expect(Date.now()).toBeGreaterThanOrEqual(login.deadline.getTime() - 50);
        expect(await coordination.claimCode(login.loginId, 'relay-a', 'op')).toEqual({
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
        await coordination.savePending(login);
        await coordination.savePrompts(login.loginId, PROMPTS);
        expect((await coordination.claimCode(login.loginId, 'relay-a', 'op')).ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        expect((await coordination.loadPending())?.deadline.getTime()).toBe(login.deadline.getTime());

        await vi.waitFor(async () => expect(await coordination.loadPending()).toBeUndefined(), {
          timeout: 3_000,
          interval: 25,
        });
      });
    });

    describe('savePrompts', () => {
      it('records the prompts of the pending login, in any phase, and nothing else changes', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await a!.savePending(login);
        await b!.savePrompts(login.loginId, PROMPTS);
        expect(comparable(await a!.loadPending())).toEqual(comparable({ ...login, prompts: PROMPTS }));

        expect((await a!.claimCode(login.loginId, 'relay-a', 'op')).ok).toBe(true);
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
        await coordination.savePending(login);
        await coordination.savePrompts('another-login', { a: 1 });
        expect((await coordination.loadPending())?.prompts).toEqual({ original: true });
      });

      it('keeps prompts exactly through the atomic updates (no number rounding, no [] turned {})', async () => {
        const login = sharedLogin({ prompts: PROMPTS });
        await coordination.savePending(login);
        expect((await coordination.claimCode(login.loginId, 'relay-a', 'op')).ok).toBe(true);
        expect(await coordination.reopen(login.loginId, 'relay-a')).toBe(true);
        const ended = await coordination.endPending(login.loginId, { kind: 'any' });
        expect(ended?.prompts).toStrictEqual(JSON.parse(JSON.stringify(PROMPTS)));
      });
    });

    describe('claimCode', () => {
      it('gives the code to exactly one of many concurrent claimers; the others are told who has it', async () => {
        const views = await replicas(4);
        const login = sharedLogin({ attemptsUsed: 1 });
        await coordination.savePending(login);

        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            views[i % views.length]!.claimCode(login.loginId, `relay-${i}`, `operator-${i}`),
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
        expect(await coordination.claimCode('nobody', 'relay-a', 'op')).toEqual({
          ok: false,
          reason: 'none',
        });
        const login = sharedLogin();
        await coordination.savePending(login);
        expect(await coordination.claimCode('another', 'relay-a', 'op')).toEqual({
          ok: false,
          reason: 'none',
        });
        expect(await coordination.endPending(login.loginId, { kind: 'awaiting-code' })).toBeDefined();
        expect(await coordination.claimCode(login.loginId, 'relay-a', 'op')).toEqual({
          ok: false,
          reason: 'none',
        });
      });
    });

    describe('reopen', () => {
      it('goes back to awaiting-code only for the relay holding the exchange', async () => {
        const [a, b] = await replicas(2);
        const login = sharedLogin();
        await a!.savePending(login);
        expect(await a!.reopen(login.loginId, 'relay-a')).toBe(false);
        expect((await a!.claimCode(login.loginId, 'relay-a', 'alice')).ok).toBe(true);

        expect(await b!.reopen(login.loginId, 'relay-b')).toBe(false);
        expect(await b!.reopen('another-login', 'relay-a')).toBe(false);
        expect((await b!.loadPending())?.phase.kind).toBe('exchanging');

        expect(await b!.reopen(login.loginId, 'relay-a')).toBe(true);
        const reopened = await a!.loadPending();
        expect(reopened?.phase).toEqual({ kind: 'awaiting-code' });
        expect(reopened?.attemptsUsed).toBe(1);
        expect(await a!.reopen(login.loginId, 'relay-a')).toBe(false);

        const second = await b!.claimCode(login.loginId, 'relay-b', 'bob');
        expect(second.ok && second.login.attemptsUsed).toBe(2);
      });
    });

    describe('endPending', () => {
      it('ends an awaiting login only when it awaits a code, returning it as it was', async () => {
        const login = sharedLogin({ prompts: { p: 1 } });
        await coordination.savePending(login);
        expect(await coordination.endPending('another', { kind: 'awaiting-code' })).toBeUndefined();
        expect(comparable(await coordination.endPending(login.loginId, { kind: 'awaiting-code' }))).toEqual(
          comparable(login),
        );
        expect(await coordination.loadPending()).toBeUndefined();
        expect(await coordination.endPending(login.loginId, { kind: 'awaiting-code' })).toBeUndefined();

        const exchanging = sharedLogin();
        await coordination.savePending(exchanging);
        expect((await coordination.claimCode(exchanging.loginId, 'relay-a', 'op')).ok).toBe(true);
        expect(await coordination.endPending(exchanging.loginId, { kind: 'awaiting-code' })).toBeUndefined();
        expect((await coordination.loadPending())?.loginId).toBe(exchanging.loginId);
      });

      it('ends an exchange only for the relay holding it', async () => {
        const login = sharedLogin();
        await coordination.savePending(login);
        expect(
          await coordination.endPending(login.loginId, { kind: 'exchanging', relayId: 'relay-a' }),
        ).toBeUndefined();
        expect((await coordination.claimCode(login.loginId, 'relay-a', 'op')).ok).toBe(true);
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
        await coordination.savePending(awaiting);
        expect(await coordination.endPending('another', { kind: 'any' })).toBeUndefined();
        expect((await coordination.endPending(awaiting.loginId, { kind: 'any' }))?.loginId).toBe(
          awaiting.loginId,
        );

        const exchanging = sharedLogin();
        await coordination.savePending(exchanging);
        expect((await coordination.claimCode(exchanging.loginId, 'relay-a', 'op')).ok).toBe(true);
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
          await a!.savePending(login);
          if (claimed) expect((await a!.claimCode(login.loginId, 'relay-a', 'op')).ok).toBe(true);
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
    });

    describe('SMS budget', () => {
      it('lets exactly `maxPerHour` of many concurrent spends through', async () => {
        const views = await replicas(4);
        const nowMs = Date.now();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => views[i % views.length]!.spendLogin(nowMs + i, 3)),
        );
        const granted = results.filter((result) => result.ok);
        expect(granted).toHaveLength(3);
        for (const result of results) {
          if (result.ok) continue;
          // Each refusal names when the oldest recorded spend leaves the window.
          expect(result.nextAllowedAt.getTime()).toBeGreaterThanOrEqual(nowMs + HOUR_MS);
          expect(result.nextAllowedAt.getTime()).toBeLessThan(nowMs + 10 + HOUR_MS);
        }
        expect(await coordination.loginsInLastHour(nowMs + 10)).toBe(3);
      });

      it('slides over the last hour: a spend an hour old no longer counts', async () => {
        const t0 = Date.now() - HOUR_MS / 2;
        expect(await coordination.spendLogin(t0, 2)).toEqual({ ok: true });
        expect(await coordination.spendLogin(t0 + 1_000, 2)).toEqual({ ok: true });
        expect(await coordination.spendLogin(t0 + 2_000, 2)).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + HOUR_MS),
        });
        expect(await coordination.loginsInLastHour(t0 + 2_000)).toBe(2);
        // A refused spend is not recorded.
        expect(await coordination.loginsInLastHour(t0 + HOUR_MS + 500)).toBe(1);

        expect(await coordination.spendLogin(t0 + HOUR_MS - 1, 2)).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + HOUR_MS),
        });
        expect(await coordination.spendLogin(t0 + HOUR_MS, 2)).toEqual({ ok: true });
        expect(await coordination.spendLogin(t0 + HOUR_MS + 1, 2)).toEqual({
          ok: false,
          nextAllowedAt: new Date(t0 + 1_000 + HOUR_MS),
        });
        expect(await coordination.loginsInLastHour(t0 + HOUR_MS + 1)).toBe(2);
        expect(await coordination.loginsInLastHour(t0 + 3 * HOUR_MS)).toBe(0);
      });

      it('counts nothing in an empty store, and two spends in the same millisecond as two', async () => {
        const nowMs = Date.now();
        expect(await coordination.loginsInLastHour(nowMs)).toBe(0);
        const [a, b] = await replicas(2);
        expect(await a!.spendLogin(nowMs, 5)).toEqual({ ok: true });
        expect(await b!.spendLogin(nowMs, 5)).toEqual({ ok: true });
        expect(await a!.loginsInLastHour(nowMs)).toBe(2);
      });

      it('refuses a cap that is not a positive integer', async () => {
        await expect(coordination.spendLogin(Date.now(), 0)).rejects.toBeInstanceOf(RangeError);
        await expect(coordination.spendLogin(Date.now(), 1.5)).rejects.toBeInstanceOf(RangeError);
      });
    });
  });
}
