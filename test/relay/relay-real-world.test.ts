import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import {
  ALICE,
  BOB,
  CODE_TIMEOUT_MS,
  lastLoginId,
  makeRelay,
  sharedPorts,
  sharedStores,
} from '../helpers/make-relay.js';

/**
 * What the broker and Discord do not promise, at the relay: replies that arrive late or twice, a
 * lock lost while step 1 runs, a store that fails while an answer is claimed, bots that repeat
 * themselves, a shutdown in the middle of step 2. Each test fails without its fix.
 */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-11-30T13:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

async function awaitingCode(options: Parameters<typeof makeRelay>[0] = {}) {
  const t = makeRelay(options);
  await t.relay.start();
  await t.relay.idle();
  return t;
}

describe('stale replies', () => {
  it('never sends a reply written before the current prompt went out; says when the new SMS was asked for', async () => {
    const t = await awaitingCode();
    const first = lastLoginId(t.operators);
    const typedAt = new Date(); // Bob types the first SMS's code...
    await vi.advanceTimersByTimeAsync(2_000);
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: first }); // ...Alice asks for a new one
    await t.relay.idle();
    const second = lastLoginId(t.operators);
    expect(second).not.toBe(first);
    const newSmsAt = new Date();

    t.code(BOB, '123456', { sentAt: typedAt }); // ...and Bob's reply arrives now
    await t.relay.idle();
    expect(t.broker.submitCode).not.toHaveBeenCalled();
    expect(t.operators.notices.at(-1)).toEqual({
      operatorId: BOB,
      notice: { kind: 'stale-code', promptSentAt: newSmsAt },
    });
    expect(t.relay.snapshot().login).toMatchObject({ state: 'awaiting-code', attemptsUsed: 0 });

    // A reply written after the new prompt is the new login's.
    await vi.advanceTimersByTimeAsync(5_000);
    t.code(BOB, '123456');
    await t.relay.idle();
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(t.operators.noticesTo(BOB).at(-1)).toBe('logged-in');
  });

  it("refuses a modal code for an earlier login's prompt once a new login waits", async () => {
    const t = await awaitingCode();
    const first = lastLoginId(t.operators);
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: first });
    await t.relay.idle();
    t.code(BOB, '123456', { loginId: first });
    await t.relay.idle();
    expect(t.broker.submitCode).not.toHaveBeenCalled();
    expect(t.operators.noticesTo(BOB)).toEqual(['prompt-inactive']);
  });
});

describe('a code is never sent twice to one login', () => {
  it('answers a refused code typed again, by anyone, without sending it; the attempts stay', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['code-rejected']);
    t.code(ALICE, '111111'); // the channel's parser has made '111 111' and '111-111' this
    await t.relay.idle();
    t.code(BOB, '111111');
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['111111']);
    expect(t.operators.noticesTo(ALICE).at(-1)).toBe('code-already-tried');
    expect(t.operators.noticesTo(BOB)).toEqual(['code-already-tried']);
    expect(t.relay.snapshot().login).toMatchObject({ state: 'awaiting-code', attemptsUsed: 1 });
    t.code(BOB, '123456');
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['111111', '123456']);
  });

  it('keeps a keyed hash of each code tried, never the code, with a key of its own per login', async () => {
    const t = await awaitingCode();
    t.code(ALICE, '111111');
    await t.relay.idle();
    const pending = await t.coordination.loadPending();
    expect(pending?.triedCodes).toHaveLength(1);
    expect(pending?.triedCodes[0]).not.toContain('111111');
    expect(JSON.stringify(pending)).not.toContain('111111');
    const key = pending!.codeKey;
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: pending!.loginId });
    await t.relay.idle();
    const next = await t.coordination.loadPending();
    expect(next?.triedCodes).toEqual([]);
    expect(next?.codeKey.equals(key)).toBe(false);
    // The same wrong code is tried once for the new login: it is another login.
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['111111', '111111']);
  });

  it('counts attempts across relays: the third wrong code on any relay ends the login', async () => {
    const shared = sharedPorts();
    const a = await awaitingCode({ ...shared, relayId: 'a' });
    const b = makeRelay({ ...shared, relayId: 'b' });
    await b.relay.start();
    for (const [relay, text] of [
      [a, '111111'],
      [b, '222222'],
      [a, '333333'],
    ] as const) {
      relay.code(ALICE, text);
      await Promise.all([a.relay.idle(), b.relay.idle()]);
    }
    b.code(BOB, '123456');
    await Promise.all([a.relay.idle(), b.relay.idle()]);
    expect(shared.broker.submittedCodes).toEqual(['111111', '222222', '333333']);
    expect(b.operators.noticesTo(BOB)).toEqual(['no-pending-login']);
  });
});

describe('a lost lock stops the login', () => {
  it('aborts step 1 when the lock is not renewed; nothing is recorded and the operators are told', async () => {
    const coordination = new MemoryCoordination();
    vi.spyOn(coordination, 'renewLock').mockResolvedValue(false);
    const t = makeRelay({ coordination, lockTtlMs: 60 });
    let signal: AbortSignal | undefined;
    t.broker.startLogin.mockImplementationOnce(
      (given) =>
        new Promise((_resolve, reject) => {
          signal = given;
          given?.addEventListener('abort', () => reject(given.reason as Error));
        }),
    );
    await t.relay.start();
    // The renewal runs on a real interval (a third of the TTL).
    await vi.waitFor(() => expect(signal?.aborted).toBe(true), { timeout: 2_000, interval: 10 });
    await t.relay.idle();
    expect(t.operators.prompts).toEqual([]);
    expect(t.operators.broadcasts).toEqual([
      { kind: 'login-abandoned', account: 'default', why: 'lock-lost' },
    ]);
    expect(await coordination.loadPending()).toBeUndefined();
    expect(t.published.at(-1)).toEqual({ type: 'login.failed', reason: 'abandoned' });
    expect(t.relay.snapshot().login).toMatchObject({ state: 'ended', outcome: 'abandoned' });
    // Nothing retries by itself: an automatic trigger waits for a person.
    expect(await t.relay.requestLogin('renewal')).toEqual({ result: 'needs-operator' });
  });

  it.each([
    ['lock-lost', 'lock-lost'],
    ['other-pending', 'another-login'],
  ] as const)(
    'ends a login whose pending record is refused (%s) and tells the operators, with no prompt',
    async (refusal, why) => {
      const coordination = new MemoryCoordination();
      vi.spyOn(coordination, 'savePending').mockResolvedValueOnce(refusal);
      const t = makeRelay({ coordination });
      await t.relay.start();
      await t.relay.idle();
      expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
      expect(t.operators.prompts).toEqual([]);
      expect(t.operators.broadcasts).toEqual([{ kind: 'login-abandoned', account: 'default', why }]);
      t.code(ALICE, '123456');
      await t.relay.idle();
      expect(t.broker.submitCode).not.toHaveBeenCalled();
    },
  );

  it('ends the login and says so when the store fails to record it (not "no pending login" later)', async () => {
    const coordination = new MemoryCoordination();
    vi.spyOn(coordination, 'savePending').mockRejectedValueOnce(new Error('redis down'));
    const t = makeRelay({ coordination });
    await t.relay.start();
    await t.relay.idle();
    expect(t.operators.broadcasts).toEqual([
      { kind: 'login-abandoned', account: 'default', why: 'store-unavailable' },
    ]);
    expect(t.relay.snapshot().lastFailure).toMatchObject({ reason: 'abandoned: store-unavailable' });
  });

  it('a second relay that took the lock meanwhile keeps its login; the paused one does not overwrite it', async () => {
    const shared = sharedStores();
    const paused = makeRelay({ ...shared, relayId: 'paused', lockTtlMs: 60_000 });
    let resume!: () => void;
    paused.broker.startLogin.mockImplementationOnce(
      () =>
        new Promise((resolve) => {
          resume = () => resolve({ kind: 'code-required', interim: new Secret('interim-paused') });
        }),
    );
    await paused.relay.start(); // holds the lock, step 1 hangs (a GC pause, a VM stall)
    // Its lock expires meanwhile: another relay takes it and starts a login of its own.
    await shared.coordination.releaseLock('paused');
    const other = makeRelay({ ...shared, relayId: 'other' });
    await other.relay.start();
    await other.relay.idle();
    const live = await shared.coordination.loadPending();
    expect(live?.interim.reveal()).toBe('interim-secret');

    resume();
    await paused.relay.idle();
    expect((await shared.coordination.loadPending())?.loginId).toBe(live?.loginId);
    expect(paused.operators.prompts).toEqual([]);
    expect(paused.operators.broadcasts.map((n) => n.kind)).toEqual(['login-abandoned']);
  });
});

describe('no operator input dropped in silence', () => {
  it('tells the operator to try again when the store fails while the input is claimed', async () => {
    const t = await awaitingCode();
    // Any input but a code (whose claim goes with the code's own, below).
    vi.spyOn(t.coordination, 'claimInput').mockRejectedValueOnce(new Error('redis down'));
    t.operators.input({ kind: 'unclear', operatorId: ALICE });
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken']);
    t.operators.input({ kind: 'unclear', operatorId: ALICE });
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken', 'help']);
  });

  it('claims a code and the DM that carried it in one store call, before the broker', async () => {
    const t = await awaitingCode();
    const claimInput = vi.spyOn(t.coordination, 'claimInput');
    const claimCode = vi.spyOn(t.coordination, 'claimCode');
    const dm = t.code(ALICE, '123456');
    await t.relay.idle();
    expect(claimInput.mock.calls.map(([inputId]) => inputId)).not.toContain(dm.inputId);
    expect(claimCode).toHaveBeenCalledTimes(1);
    expect(claimCode.mock.calls[0]![0].input?.inputId).toBe(dm.inputId);
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
  });

  it('takes a code that comes while its login is being stored (the SMS was quicker than the prompt)', async () => {
    const t = makeRelay();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const save = t.coordination.savePending.bind(t.coordination);
    vi.spyOn(t.coordination, 'savePending').mockImplementation(async (...args) => {
      await held;
      return save(...args);
    });
    const starting = t.relay.start();
    await vi.waitFor(() => expect(t.broker.startLogin).toHaveBeenCalled());
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(150);
    release();
    await starting;
    await vi.advanceTimersByTimeAsync(500);
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['123456']);
    expect(t.operators.noticesTo(ALICE)).toEqual(['logged-in']);
  });

  it('claims the DM on its own when no login waits, so that only one relay answers it', async () => {
    const t = makeRelay();
    // No start: no login waits.
    const other = makeRelay({ coordination: t.coordination, relayId: 'other' });
    const dm = t.code(ALICE, '123456');
    other.operators.input(dm);
    await Promise.all([t.relay.idle(), other.relay.idle()]);
    expect([...t.operators.noticesTo(ALICE), ...other.operators.noticesTo(ALICE)]).toEqual([
      'no-pending-login',
    ]);
  });

  it('tells the operator to try again when the store fails while the code is claimed', async () => {
    const t = await awaitingCode();
    vi.spyOn(t.coordination, 'claimCode').mockRejectedValueOnce(new Error('redis down'));
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
  });
});

describe('the deadline', () => {
  it('is checked right before step 2, after waiting for where the prompts went', async () => {
    const shared = sharedPorts();
    const save = shared.coordination.savePrompts.bind(shared.coordination);
    let release!: () => void;
    const recorded = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(shared.coordination, 'savePrompts').mockImplementation(async (loginId, prompts) => {
      await recorded; // the starting relay is slow to record where its DMs went
      return save(loginId, prompts);
    });
    const a = makeRelay({ ...shared, relayId: 'a' });
    const b = makeRelay({ ...shared, relayId: 'b' });
    await a.relay.start();
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS - 300);
    b.code(ALICE, '123456'); // claimed in time; b then waits for the prompt refs past the deadline
    await vi.advanceTimersByTimeAsync(2_500);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all([a.relay.idle(), b.relay.idle()]);
    expect(shared.broker.submitCode).not.toHaveBeenCalled();
    expect(b.operators.noticesTo(ALICE)).toEqual(['prompt-inactive']);
    expect(await shared.coordination.loadPending()).toBeUndefined();
  });
});

describe('bot requests and the SMS guard', () => {
  it('tells the operators once per deferral, however often bots ask and however many relays hear it', async () => {
    const shared = sharedPorts();
    const a = await awaitingCode({ ...shared, relayId: 'a', maxLoginsPerHour: 1 });
    a.code(ALICE, '123456');
    await a.relay.idle();
    const b = makeRelay({ ...shared, relayId: 'b', maxLoginsPerHour: 1 });
    await b.relay.start();
    for (let i = 0; i < 5; i += 1) {
      expect((await a.relay.requestLogin('bot-request')).result).toBe('rate-limited');
      expect((await b.relay.requestLogin('bot-request')).result).toBe('rate-limited');
    }
    await Promise.all([a.relay.idle(), b.relay.idle()]);
    const deferrals = [...a.operators.broadcasts, ...b.operators.broadcasts].filter(
      (n) => n.kind === 'login-deferred',
    );
    expect(deferrals).toHaveLength(1);
    await a.relay.stop();
    await b.relay.stop();
  });
});

describe('shutdown', () => {
  it('waits for a code at the broker and the token write before it stops', async () => {
    const t = await awaitingCode();
    let answer!: (value: { kind: 'token'; token: Secret }) => void;
    t.broker.submitCode.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = t.relay.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false);
    expect(t.relay.unfinished()).toEqual({ codeExchange: lastLoginId(t.operators) });
    answer({ kind: 'token', token: new Secret('from-step-2') });
    await stopping;
    expect((await t.store.read())?.token).toBe('from-step-2');
  });

  it('keeps writing the token through a store outage while stopping, and says what is unfinished', async () => {
    const t = await awaitingCode();
    const publish = vi
      .spyOn(t.store, 'publish')
      .mockRejectedValueOnce(new Error('redis down'))
      .mockRejectedValueOnce(new Error('redis down'));
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(10);
    const stopping = t.relay.stop();
    expect(t.relay.unfinished().tokenWrite?.expiresAt).toBe(
      new Date(Date.now() + 24 * 3_600_000 - 10).toISOString(),
    );
    await vi.advanceTimersByTimeAsync(5_000);
    await stopping;
    expect(publish).toHaveBeenCalledTimes(3);
    expect((await t.store.read())?.token).toBe('final-token-1');
    expect(t.relay.unfinished()).toEqual({});
  });
});

describe('honest texts after a refused code', () => {
  it('says the broker ended the login when its answer shows the interim is spent', async () => {
    const t = await awaitingCode();
    t.broker.submitCode.mockResolvedValueOnce({ kind: 'code-rejected', interimSpent: true });
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.operators.notices.at(-1)?.notice).toEqual({
      kind: 'code-rejected',
      attemptsLeft: 0,
      ended: 'interim-spent',
    });
  });

  it('says the attempts are used up only when they are', async () => {
    const t = await awaitingCode({ maxCodeAttempts: 1 });
    t.code(ALICE, '111111');
    await t.relay.idle();
    expect(t.operators.notices.at(-1)?.notice).toEqual({
      kind: 'code-rejected',
      attemptsLeft: 0,
      ended: 'no-attempts-left',
    });
  });
});

describe('the reminder', () => {
  const reminders = (t: ReturnType<typeof makeRelay>) =>
    t.operators.broadcasts.filter((notice) => notice.kind === 'code-reminder');

  it('sends one short new DM to every operator when nobody answered by half of CODE_TIMEOUT', async () => {
    const t = await awaitingCode();
    const deadline = t.operators.lastPrompt!.deadline;
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS / 2 - 1);
    expect(reminders(t)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await t.relay.idle();
    expect(reminders(t)).toEqual([{ kind: 'code-reminder', account: 'default', deadline }]);
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS);
    await t.relay.idle();
    expect(reminders(t)).toHaveLength(1);
  });

  it('sends none once someone tried a code, or when the login is over', async () => {
    const tried = await awaitingCode();
    tried.code(ALICE, '111111');
    await tried.relay.idle();
    const done = await awaitingCode();
    done.code(ALICE, '123456');
    await done.relay.idle();
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS);
    await Promise.all([tried.relay.idle(), done.relay.idle()]);
    expect(reminders(tried)).toEqual([]);
    expect(reminders(done)).toEqual([]);
  });

  it('is sent by one relay of several', async () => {
    const shared = sharedPorts();
    const a = await awaitingCode({ ...shared, relayId: 'a' });
    const b = makeRelay({ ...shared, relayId: 'b' });
    await b.relay.start(); // follows a's login
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS / 2);
    await Promise.all([a.relay.idle(), b.relay.idle()]);
    expect(reminders(a).length + reminders(b).length).toBe(1);
  });
});

describe('waiting for a person, across relays', () => {
  it('keeps a relay started after a login ended without a token from starting one by itself', async () => {
    const shared = sharedPorts();
    const first = await awaitingCode({ ...shared, relayId: 'first' });
    await vi.advanceTimersByTimeAsync(CODE_TIMEOUT_MS); // nobody answered
    await first.relay.idle();
    await first.relay.stop();

    const later = makeRelay({ ...shared, relayId: 'later' });
    for (const reason of ['renewal', 'token-invalid', 'bot-request'] as const) {
      expect(await later.relay.requestLogin(reason)).toEqual({ result: 'needs-operator' });
    }
    await later.relay.idle();
    expect(shared.broker.startLogin).toHaveBeenCalledTimes(1);

    // A person acts: the login goes (automatic triggers still wait until it ends with a token), and
    // once it worked nothing waits any more.
    expect(await later.relay.requestLogin('operator-request')).toEqual({ result: 'started' });
    await later.relay.idle();
    expect(await shared.coordination.loadWaitingForPerson()).toBe(true);
    later.code(ALICE, '123456');
    await later.relay.idle();
    expect(await shared.coordination.loadWaitingForPerson()).toBe(false);
    expect(shared.broker.startLogin).toHaveBeenCalledTimes(2);
  });
});
