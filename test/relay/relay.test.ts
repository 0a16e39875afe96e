import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { Secret } from '../../src/shared/secret.js';
import type { RelayObserver } from '../../src/relay/state.js';
import { ALICE, BOB, CODE_TIMEOUT_MS, makeRelay, type MakeRelayOptions } from '../helpers/make-relay.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import type { EndedLogin } from '../../src/domain/login.js';

/** One relay on in-memory ports; its logins are `login-1`, `login-2`… */
function setup(observer: RelayObserver = {}, ports: Pick<MakeRelayOptions, 'store' | 'events'> = {}) {
  let ids = 0;
  const t = makeRelay({ ...ports, observer, newLoginId: () => `login-${++ids}` });
  /** A code as a plain DM reply, or through `loginId`'s modal. */
  const code = (operatorId: string, text: string, loginId?: string) =>
    t.code(operatorId, text, loginId === undefined ? {} : { loginId });
  return { ...t, code };
}

/** Starts the relay from an empty store and waits until the prompt is out. */
async function awaitingCode(
  observer: RelayObserver = {},
  ports: Pick<MakeRelayOptions, 'store' | 'events'> = {},
) {
  const t = setup(observer, ports);
  await t.relay.start();
  await t.relay.idle();
  return t;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-11-30T13:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('start', () => {
  it('starts a login and prompts every operator when no token is published', async () => {
    const { broker, operators, relay, published } = await awaitingCode();
    expect(broker.startLogin).toHaveBeenCalledTimes(1);
    expect(operators.lastPrompt).toMatchObject({
      loginId: 'login-1',
      account: 'default',
      reason: 'startup',
      deadline: new Date(Date.now() + CODE_TIMEOUT_MS),
      state: { kind: 'open', attemptsLeft: 3 },
    });
    expect(published).toEqual([{ type: 'login.started', reason: 'startup' }]);
    expect(relay.snapshot().login).toMatchObject({ state: 'awaiting-code', attemptsUsed: 0 });
  });

  it('keeps a published token the broker still accepts, with no login and no prompt', async () => {
    const t = setup();
    const kept = await t.store.publish({
      token: new Secret('still-good'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    await t.relay.start();
    await t.relay.idle();
    expect(t.broker.validate).toHaveBeenCalledTimes(1);
    expect(t.broker.validate.mock.calls[0]?.[0].reveal()).toBe('still-good');
    expect(t.broker.startLogin).not.toHaveBeenCalled();
    expect(t.operators.prompts).toEqual([]);
    expect(t.relay.snapshot().token?.generation).toBe(kept.generation);
  });

  it('takes the published token check made before it started, and asks the broker no second time', async () => {
    const t = setup();
    const kept = await t.store.publish({
      token: new Secret('checked-early'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    const published = t.relay.checkPublishedToken();
    expect(await published).toMatchObject({ record: { generation: kept.generation }, verdict: 'valid' });
    // The check has no effect of its own: nothing adopted, nothing started, nothing told.
    expect(t.relay.snapshot().token).toBeUndefined();
    expect(t.published).toEqual([]);
    await t.relay.start(published);
    await t.relay.idle();
    expect(t.broker.validate).toHaveBeenCalledTimes(1);
    expect(t.relay.snapshot().token?.generation).toBe(kept.generation);
    expect(t.broker.startLogin).not.toHaveBeenCalled();
  });

  it('removes a token the broker refuses, says so, and logs in', async () => {
    const t = setup();
    const dead = await t.store.publish({
      token: new Secret('dead'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    t.broker.validate.mockResolvedValueOnce('invalid');
    await t.relay.start();
    await t.relay.idle();
    expect(await t.store.read()).toBeUndefined();
    expect(t.published[0]).toMatchObject({ type: 'token.invalidated', generation: dead.generation });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
  });

  it('keeps the token when the broker cannot be reached to check it (no SMS for a network error)', async () => {
    const t = setup();
    await t.store.publish({
      token: new Secret('maybe'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    t.broker.validate.mockRejectedValueOnce(new BrokerError({ kind: 'network', step: 'validate' }));
    await t.relay.start();
    await t.relay.idle();
    expect(t.broker.startLogin).not.toHaveBeenCalled();
    expect(await t.store.read()).toBeDefined();
  });

  it('publishes at once when the account has no second factor', async () => {
    const t = setup();
    t.broker.startLogin.mockResolvedValueOnce({ kind: 'token', token: new Secret('direct') });
    await t.relay.start();
    await t.relay.idle();
    expect((await t.store.read())?.token).toBe('direct');
    expect(t.operators.prompts).toEqual([]);
    expect(t.published.at(-1)).toMatchObject({
      type: 'token.updated',
      generation: (await t.store.read())?.generation,
    });
  });
});

describe('answering', () => {
  it('submits the code once, publishes the token and tells everyone who answered', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['123456']);
    const record = await t.store.read();
    expect(record).toMatchObject({ token: 'final-token-1', account: 'default' });
    expect(record?.generation).toBeGreaterThan(0);
    expect(record?.expiresAt).toBe(new Date(Date.now() + 24 * 3_600_000).toISOString());
    expect(t.published.at(-1)).toEqual({
      type: 'token.updated',
      generation: record?.generation,
      expiresAt: record?.expiresAt,
    });
    // The broker answered at once: no "checking" edit was worth sending.
    expect(t.operators.prompts.map((p) => p.state.kind)).toEqual(['open', 'succeeded']);
    expect(t.operators.lastPrompt?.state).toMatchObject({ kind: 'succeeded', operatorId: ALICE });
    expect(t.operators.noticesTo(ALICE)).toEqual(['logged-in']);
    expect(t.relay.tokens.current() !== undefined).toBe(true);
  });

  it('writes the token before any bookkeeping of the login, and sends nothing else on the way', async () => {
    const order: string[] = [];
    const t = await awaitingCode({ loginEnded: () => void order.push('login ended') });
    const publish = t.store.publish.bind(t.store);
    vi.spyOn(t.store, 'publish').mockImplementation(async (token) => {
      order.push('token written');
      return publish(token);
    });
    vi.spyOn(t.coordination, 'saveWaitingForPerson').mockImplementation(async () => void order.push('flag'));
    const endPending = t.coordination.endPending.bind(t.coordination);
    vi.spyOn(t.coordination, 'endPending').mockImplementation(async (...args) => {
      order.push('pending ended');
      return endPending(...args);
    });
    t.code(ALICE, '123456');
    await t.relay.idle();
    // The token first; the bookkeeping after it, in whatever order its store calls answer.
    expect(order[0]).toBe('token written');
    expect([...order.slice(1)].sort()).toEqual(['flag', 'login ended', 'pending ended']);
  });

  it('sends no token.updated of its own when the store announces its writes', async () => {
    const store = new MemoryTokenStore({ account: 'default' });
    const events = new MemoryEventPublisher();
    // As RedisTokenStore with announceUpdates: the write script publishes the event.
    Object.assign(store, { announcesPublish: true });
    const publish = store.publish.bind(store);
    vi.spyOn(store, 'publish').mockImplementation(async (token) => {
      const record = await publish(token);
      await events.publish({
        type: 'token.updated',
        generation: record.generation,
        expiresAt: record.expiresAt,
      });
      return record;
    });
    const t = await awaitingCode({}, { store, events });
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.published.filter((e) => e.type === 'token.updated')).toHaveLength(1);
    expect(await t.store.read()).toMatchObject({ token: 'final-token-1' });
  });

  it('lets only the first of two simultaneous codes reach the broker', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '123456');
    t.code(BOB, '123456');
    await t.relay.idle();
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(t.operators.noticesTo(BOB)).toEqual(['busy']);
    expect(t.published.filter((e) => e.type === 'token.updated')).toHaveLength(1);
  });

  it('accepts the code from the prompt modal of the current login only', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '123456', 'login-0');
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['prompt-inactive']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
    t.code(ALICE, '123456', 'login-1');
    await t.relay.idle();
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
  });

  it('tells the attempts left after a wrong code, then takes the right one', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.operators.notices.at(-1)).toEqual({
      operatorId: ALICE,
      notice: { kind: 'code-rejected', attemptsLeft: 2 },
    });
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'open', attemptsLeft: 2 });
    t.code(BOB, '123456');
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['111111', '123456']);
    expect((await t.store.read())?.token).toBe('final-token-1');
  });

  it('gives up after MAX_CODE_ATTEMPTS wrong codes and starts no login by itself', async () => {
    const t = await awaitingCode();
    for (const code of ['111111', '222222', '333333']) {
      t.code(ALICE, code);
      await t.relay.idle();
    }
    expect(t.operators.lastPrompt?.state).toEqual({
      kind: 'rejected',
      operatorId: ALICE,
      interimSpent: false,
    });
    expect(t.published.at(-1)).toEqual({ type: 'login.failed', reason: 'code-rejected' });
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.broker.submitCode).toHaveBeenCalledTimes(3);
    expect(t.operators.noticesTo(ALICE).at(-1)).toBe('no-pending-login');
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
  });

  it('ends the login when the broker says the interim token is spent, and a new code starts over', async () => {
    const t = await awaitingCode();
    t.broker.submitCode.mockResolvedValueOnce({ kind: 'code-rejected', interimSpent: true });
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.operators.lastPrompt?.state).toEqual({
      kind: 'rejected',
      operatorId: ALICE,
      interimSpent: true,
    });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    t.operators.input({ kind: 'resend', operatorId: BOB, loginId: 'login-1' });
    await t.relay.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(t.operators.lastPrompt).toMatchObject({
      loginId: 'login-2',
      reason: 'operator-request',
      state: { kind: 'open', attemptsLeft: 3 },
    });
  });

  it('never sends a code again after step 2 failed on the network; the login is over', async () => {
    const t = await awaitingCode();
    t.broker.submitCode.mockRejectedValueOnce(new BrokerError({ kind: 'network', step: 'submit-code' }));
    t.code(ALICE, '123456');
    await t.relay.idle();
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
    // The prompt names whose code was at the broker: a channel tells them (otp-relay code does).
    expect(t.operators.lastPrompt?.state).toEqual({
      kind: 'failed',
      error: 'network',
      fatal: false,
      operatorId: ALICE,
    });
    expect(t.relay.snapshot().lastFailure).toMatchObject({ reason: 'network', fatal: false });
  });

  it('answers a code with no login waiting without calling the broker', async () => {
    const t = setup();
    await t.store.publish({
      token: new Secret('ok'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });
    await t.relay.start();
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['no-pending-login']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
  });
});

describe('time-out and cancel', () => {
  it('expires the prompt at CODE_TIMEOUT and refuses later codes', async () => {
    const t = await awaitingCode();
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS - 1);
    expect(t.operators.lastPrompt?.state.kind).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    await t.relay.idle();
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'expired' });
    expect(t.published.at(-1)).toEqual({ type: 'login.failed', reason: 'expired' });
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.broker.submitCode).not.toHaveBeenCalled();
  });

  it('does not cut off a code being checked when the deadline passes', async () => {
    const t = await awaitingCode();
    let answer!: (value: { kind: 'token'; token: Secret }) => void;
    t.broker.submitCode.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    vi.setSystemTime(Date.now() + CODE_TIMEOUT_MS - 10);
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(1_000);
    // A slow broker: the prompt said the code was being checked meanwhile.
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'checking', operatorId: ALICE });
    answer({ kind: 'token', token: new Secret('late-but-fine') });
    await t.relay.idle();
    expect((await t.store.read())?.token).toBe('late-but-fine');
    expect(t.operators.lastPrompt?.state.kind).toBe('succeeded');
  });

  it('cancels on an operator press; buttons of that prompt then do nothing', async () => {
    const t = await awaitingCode();
    t.operators.input({ kind: 'cancel', operatorId: BOB, loginId: 'login-1' });
    await t.relay.idle();
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'cancelled', operatorId: BOB });
    expect(t.published.at(-1)).toEqual({ type: 'login.failed', reason: 'cancelled' });
    t.operators.input({ kind: 'cancel', operatorId: ALICE, loginId: 'login-1' });
    t.code(ALICE, '123456');
    await t.relay.idle();
    // Inputs are handled concurrently: each got its answer, in whichever order.
    expect(t.operators.noticesTo(ALICE).sort()).toEqual(['no-pending-login', 'prompt-inactive']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
  });

  it('starts exactly one new login when two operators press "Send a new code" together', async () => {
    const t = await awaitingCode();
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-1' });
    t.operators.input({ kind: 'resend', operatorId: BOB, loginId: 'login-1' });
    await t.relay.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(t.operators.noticesTo(BOB)).toEqual(['prompt-inactive']);
    expect(t.operators.prompts.filter((p) => p.loginId === 'login-1').at(-1)?.state).toEqual({
      kind: 'cancelled',
      operatorId: ALICE,
    });
  });
});

describe('broker failures', () => {
  it.each(['bad-credentials', 'bad-app-key', 'password-expired', 'pin-required'] as const)(
    'halts on %s: operators are told, nothing retries, no button restarts it',
    async (kind) => {
      const t = setup();
      t.broker.startLogin.mockRejectedValueOnce(new BrokerError({ kind, step: 'start-login', status: 401 }));
      await t.relay.start();
      await t.relay.idle();
      expect(t.operators.lastPrompt?.state).toEqual({ kind: 'failed', error: kind, fatal: true });
      expect(t.published.at(-1)).toEqual({ type: 'login.failed', reason: kind });
      expect(await t.relay.requestLogin('operator-request')).toEqual({ result: 'halted' });
      t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-1' });
      await vi.advanceTimersByTimeAsync(3_600_000);
      await t.relay.idle();
      expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
      expect(t.operators.noticesTo(ALICE)).toEqual(['login-failed']);
      expect(t.relay.snapshot().halted?.error).toBe(kind);
    },
  );

  it('lets an operator try again after step 1 failed its bounded retries, and never retries on its own', async () => {
    const t = setup();
    const outage = new BrokerError({ kind: 'server-error', step: 'start-login', status: 503 });
    t.broker.startLogin
      .mockRejectedValueOnce(outage)
      .mockRejectedValueOnce(outage)
      .mockRejectedValueOnce(outage);
    await t.relay.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await t.relay.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(3); // the first call and two retries, then no more
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'failed', error: 'server-error', fatal: false });
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(3);
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-1' });
    await t.relay.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(4);
    expect(t.operators.lastPrompt?.state.kind).toBe('open');
  });
});

describe('publishing', () => {
  it('tries a failed token write again instead of losing the token', async () => {
    const t = await awaitingCode();
    const publish = vi.spyOn(t.store, 'publish').mockRejectedValueOnce(new Error('redis down'));
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(1_000);
    await t.relay.idle();
    expect(publish).toHaveBeenCalledTimes(2);
    expect((await t.store.read())?.token).toBe('final-token-1');
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
  });

  it('grows the generation by one with every login', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(await t.relay.requestLogin('operator-request')).toEqual({ result: 'started' });
    await t.relay.idle();
    t.code(ALICE, '123456');
    await t.relay.idle();
    const generations = t.published.flatMap((e) => (e.type === 'token.updated' ? [e.generation] : []));
    expect(generations).toHaveLength(2);
    expect(generations[1]).toBe(generations[0]! + 1);
  });
});

describe('observer', () => {
  it('reports each login with its trigger, who answered, attempts and times, and survives a failing hook', async () => {
    const ended: EndedLogin[] = [];
    const waits: number[] = [];
    const t = setup({
      loginStarted: () => {
        throw new Error('a broken metrics hook');
      },
      codeReceived: (info) => waits.push(info.waitedMs),
      loginEnded: (login) => ended.push(login),
    });
    await t.relay.start();
    await t.relay.idle();
    await vi.advanceTimersByTimeAsync(42_000);
    t.code(ALICE, '111111');
    await t.relay.idle();
    t.code(BOB, '123456');
    await t.relay.idle();
    expect(waits).toEqual([42_000, 42_000]);
    expect(ended).toEqual([
      expect.objectContaining({
        loginId: 'login-1',
        reason: 'startup',
        outcome: 'succeeded',
        operatorId: BOB,
        attempts: 2,
        endedAt: new Date(ended[0]!.startedAt.getTime() + 42_000),
      }),
    ]);
    expect(t.published.filter((e) => e.type === 'token.updated')).toHaveLength(1);
  });
});
