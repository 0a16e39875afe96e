import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { Secret } from '../../src/shared/secret.js';
import { ALICE, makeRelay, sharedPorts } from '../helpers/make-relay.js';

/**
 * The relay at the edges of what it runs on: a shutdown in the middle of step 1, a halt another
 * replica stored, a lock it loses or gets too late. Each test failed before its fix (or, where the
 * code was right, fails with the mutant named in it).
 */

const LOCK_TTL_MS = 15_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-12-07T13:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

/** A step 1 that answers only when its call is aborted (and then with the abort's reason). */
function stepOneUntilAborted(): (signal?: AbortSignal) => Promise<never> {
  return (signal) =>
    new Promise((_, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
}

describe('a shutdown during step 1', () => {
  it('abandons the login without making the account wait for a person', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    t.broker.startLogin.mockImplementationOnce(stepOneUntilAborted());
    await t.relay.start();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    await t.relay.stop();
    expect(t.relay.snapshot().login).toMatchObject({ state: 'ended', outcome: 'abandoned' });
    expect(await t.coordination.loadWaitingForPerson()).toBe(false);
    expect(t.operators.broadcasts.map((n) => n.kind)).toEqual(['login-abandoned']);
    expect(t.operators.broadcasts[0]).toMatchObject({ why: 'stopped' });
    expect(t.published.filter((e) => e.type === 'login.failed')).toEqual([
      { type: 'login.failed', reason: 'abandoned' },
    ]);

    // The next relay (the restarted one) renews by itself: nothing waits for a person.
    const next = makeRelay({ coordination: t.coordination, store: t.store, lockTtlMs: LOCK_TTL_MS });
    expect(await next.relay.requestLogin('renewal')).toEqual({ result: 'started' });
    await next.relay.idle();
  });
});

describe('a halt stored by another relay', () => {
  it.each(['schedule', 'operator-request', 'renewal', 'startup'] as const)(
    'keeps a relay that ran before it from calling step 1 (%s)',
    async (reason) => {
      const ports = sharedPorts();
      const a = makeRelay({ ...ports, broker: ports.broker, lockTtlMs: LOCK_TTL_MS });
      const b = makeRelay({ ...ports, broker: ports.broker, lockTtlMs: LOCK_TTL_MS });
      await b.relay.start();
      await b.relay.idle();
      b.code(ALICE, '123456');
      await b.relay.idle();
      expect(b.relay.snapshot().halted).toBeUndefined();

      // Relay A's login is refused for the credentials: it halts every login, in the store.
      ports.broker.startLogin.mockRejectedValueOnce(
        new BrokerError({ kind: 'bad-credentials', step: 'start-login' }),
      );
      expect(await a.relay.requestLogin('operator-request')).toEqual({ result: 'started' });
      await a.relay.idle();
      expect(await ports.coordination.loadHalt()).toMatchObject({ error: 'bad-credentials' });
      const calls = ports.broker.startLogin.mock.calls.length;

      // Relay B still sees no halt in its own view, but reads the store's before any step 1.
      expect(await b.relay.requestLogin(reason)).toEqual({ result: 'halted' });
      await b.relay.idle();
      expect(ports.broker.startLogin).toHaveBeenCalledTimes(calls);
      expect(b.relay.snapshot().halted).toMatchObject({ error: 'bad-credentials' });
    },
  );
});

describe('the login lock', () => {
  it('stops step 1 at once when a renewal is refused', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    let aborted: number | undefined;
    t.broker.startLogin.mockImplementationOnce((signal) => {
      signal?.addEventListener('abort', () => (aborted = Date.now()), { once: true });
      return stepOneUntilAborted()(signal);
    });
    const renew = vi.spyOn(t.coordination, 'renewLock').mockResolvedValue(false);
    const started = Date.now();
    await t.relay.start();
    // The first renewal, a third of the TTL in, is refused: step 1 stops then, not at the TTL.
    await vi.advanceTimersByTimeAsync(LOCK_TTL_MS / 3);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(aborted).toBe(started + LOCK_TTL_MS / 3);
    await t.relay.idle();
    expect(t.relay.snapshot().login).toMatchObject({ state: 'ended', outcome: 'abandoned' });
  });

  it('counts its lifetime from the request: one granted too late is not used for step 1', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    const acquire = t.coordination.acquireLock.bind(t.coordination);
    // Redis takes the lock at once, but its answer reaches the relay after the TTL.
    vi.spyOn(t.coordination, 'acquireLock').mockImplementationOnce(async (owner, ttlMs) => {
      const granted = await acquire(owner, ttlMs);
      await new Promise((resolve) => setTimeout(resolve, LOCK_TTL_MS + 1_000));
      return granted;
    });
    const request = t.relay.requestLogin('startup');
    await vi.advanceTimersByTimeAsync(LOCK_TTL_MS + 1_000);
    expect(await request).toEqual({ result: 'already-running' });
    await t.relay.idle();
    expect(t.broker.startLogin).not.toHaveBeenCalled();
  });
});

describe('a code claim whose answer was lost', () => {
  it('is reconciled once the store answers: the code goes to the broker once, and its operator hears it', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    await t.relay.start();
    await t.relay.idle();
    const claim = t.coordination.claimCode.bind(t.coordination);
    // Redis runs the claim, and the link drops before its answer comes back (a failover).
    vi.spyOn(t.coordination, 'claimCode').mockImplementationOnce(async (c) => {
      await claim(c);
      throw new Error('connection lost');
    });
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(1_000);
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken', 'code-taken-after-all', 'logged-in']);
    expect(t.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(t.relay.snapshot().login).toMatchObject({ state: 'ended', outcome: 'succeeded' });
  });

  // Model: [store-down, code(alice wrong), pause, code(alice wrong, the same), advance(100), …]
  it('is not taken for a later claim of the same code by the same operator: that one is its own', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    await t.relay.start();
    await t.relay.idle();
    // The first claim never reaches the store; the second one (the same code, sent again) does, and
    // its broker call is slow: the first one's look at the store finds that exchange under way.
    vi.spyOn(t.coordination, 'claimCode').mockRejectedValueOnce(new Error('connection lost'));
    const submit = t.broker.submitCode.getMockImplementation()!;
    t.broker.submitCode.mockImplementation(async (interim, code) => {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return submit(interim, code);
    });
    t.code(ALICE, '111111');
    await vi.advanceTimersByTimeAsync(10);
    t.code(ALICE, '111111');
    await vi.advanceTimersByTimeAsync(6_000);
    await t.relay.idle();
    expect(t.broker.submittedCodes).toEqual(['111111']);
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken', 'code-rejected']);
  });

  it('changes nothing when the claim never ran: the operator sends the code again, and it goes', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    await t.relay.start();
    await t.relay.idle();
    vi.spyOn(t.coordination, 'claimCode').mockRejectedValueOnce(new Error('connection lost'));
    t.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(1_000);
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
    t.code(ALICE, '123456');
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['input-not-taken', 'logged-in']);
  });
});

describe('replicas configured otherwise', () => {
  /** Relay A started the login; relay B is configured otherwise (a password rotated on A only). */
  async function twoConfigs() {
    const ports = sharedPorts();
    const a = makeRelay({ ...ports, lockTtlMs: LOCK_TTL_MS, credentials: [new Secret('old-password')] });
    const b = makeRelay({ ...ports, lockTtlMs: LOCK_TTL_MS, credentials: [new Secret('new-password')] });
    await a.relay.start();
    await a.relay.idle();
    await b.relay.start();
    await b.relay.idle();
    return { ports, a, b };
  }

  it('a relay configured otherwise never claims or sends a code for the login, and says so when alone', async () => {
    const { ports, b } = await twoConfigs();
    expect(b.relay.snapshot().configMismatch).toEqual({ loginId: b.relay.snapshot().login.loginId });
    // Only relay B receives the DM (relay A is down, say).
    b.code(ALICE, '123456');
    await vi.advanceTimersByTimeAsync(2_000);
    await b.relay.idle();
    expect(ports.broker.submitCode).not.toHaveBeenCalled();
    expect(b.operators.noticesTo(ALICE)).toEqual(['config-mismatch']);
    expect((await ports.coordination.loadPending())?.phase.kind).toBe('awaiting-code');
  });

  it('leaves the DM to a relay configured alike, which sends it once; nobody answers twice', async () => {
    const { ports, a, b } = await twoConfigs();
    const dm = a.code(ALICE, '123456');
    b.operators.input(dm);
    await vi.advanceTimersByTimeAsync(2_000);
    await Promise.all([a.relay.idle(), b.relay.idle()]);
    expect(ports.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(a.operators.noticesTo(ALICE)).toEqual(['logged-in']);
    expect(b.operators.noticesTo(ALICE)).toEqual([]);
  });
});

describe('a DM during a shutdown', () => {
  it('gets "send it again" from a lone relay that stops, and nothing reaches the broker', async () => {
    const t = makeRelay({ lockTtlMs: LOCK_TTL_MS });
    await t.relay.start();
    await t.relay.idle();
    t.operators.input({ kind: 'during-shutdown', operatorId: ALICE });
    await vi.advanceTimersByTimeAsync(1_500);
    await t.relay.idle();
    expect(t.operators.noticesTo(ALICE)).toEqual(['restarting']);
    expect(t.broker.submitCode).not.toHaveBeenCalled();
  });

  it('is left to a relay that runs and took it: the stopping one says nothing', async () => {
    const ports = sharedPorts();
    const running = makeRelay({ ...ports, lockTtlMs: LOCK_TTL_MS });
    const stopping = makeRelay({ ...ports, lockTtlMs: LOCK_TTL_MS });
    await running.relay.start();
    await running.relay.idle();
    const dm = running.code(ALICE, '123456');
    stopping.operators.input({ kind: 'during-shutdown', operatorId: ALICE, inputId: dm.inputId });
    await vi.advanceTimersByTimeAsync(1_500);
    await Promise.all([running.relay.idle(), stopping.relay.idle()]);
    expect(running.operators.noticesTo(ALICE)).toEqual(['logged-in']);
    expect(stopping.operators.noticesTo(ALICE)).toEqual([]);
  });
});
