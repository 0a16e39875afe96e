import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import type { Relay } from '../../src/relay/relay.js';
import { Secret } from '../../src/shared/secret.js';
import type { RecordingOperators } from '../fakes/recording-operators.js';
import { ALICE, BOB, makeRelay, sharedPorts } from '../helpers/make-relay.js';

/** What several relays of one account share: the broker, the store, the coordination store. */
function sharedWorld() {
  const shared = sharedPorts();
  let ids = 0;
  const relays: { relay: Relay; operators: RecordingOperators }[] = [];
  const spawn = (name: string, credentials: readonly string[] = ['app-key', 'user', 'password']) => {
    const { relay, operators } = makeRelay({
      ...shared,
      relayId: name,
      credentials: credentials.map((value) => new Secret(value)),
      newLoginId: () => `login-${++ids}`,
    });
    relays.push({ relay, operators });
    return { relay, operators };
  };
  /** The same operator action, delivered to every relay (each has its own gateway connection). */
  const deliverToAll = (input: OperatorInput) => {
    for (const { operators } of relays) operators.input(input);
  };
  const idle = () => Promise.all(relays.map(({ relay }) => relay.idle()));
  return { ...shared, spawn, deliverToAll, idle, relays };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-11-30T13:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('restarts', () => {
  it('a relay started after the DMs went out takes the answer: no new SMS, no new DM', async () => {
    const w = sharedWorld();
    const first = w.spawn('first');
    await first.relay.start();
    await first.relay.idle();
    const refs = first.operators.lastRefs;
    await first.relay.stop(); // as good as killed: it leaves the pending login behind

    const second = w.spawn('second');
    await second.relay.start();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
    second.operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-1' });
    await second.relay.idle();

    expect(w.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(w.broker.submitCode.mock.calls[0]?.[0].reveal()).toBe('interim-secret');
    expect(w.events.events.filter((e) => e.type === 'token.updated')).toHaveLength(1);
    // The second relay edited the first one's prompt messages.
    expect(second.operators.refsPassed.at(-1)).toEqual(refs);
    expect(second.operators.lastPrompt?.state.kind).toBe('succeeded');
  });

  it('a relay whose fingerprint is still on the thread pool takes a code that comes first, as one configured alike', async () => {
    const w = sharedWorld();
    const first = w.spawn('first');
    await first.relay.start();
    await first.relay.idle();
    await first.relay.stop();

    const { relay, operators } = makeRelay({
      broker: w.broker,
      store: w.store,
      events: w.events,
      coordination: w.coordination,
      relayId: 'second',
      credentials: ['app-key', 'user', 'password'].map((value) => new Secret(value)),
      fingerprintOnThreadPool: true,
    });
    // Before its start, before the fingerprint is known: the code waits for it, then goes.
    operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-2' });
    await vi.waitFor(() => expect(w.broker.submitCode).toHaveBeenCalledTimes(1), { timeout: 5_000 });
    await relay.idle();
    expect(operators.noticesTo(ALICE)).not.toContain('config-mismatch');
    expect(w.events.events.filter((e) => e.type === 'token.updated')).toHaveLength(1);
  });

  /** A relay halted by refused credentials, stopped, and another started with `credentials`. */
  async function haltedThenRestarted(credentials?: readonly string[]) {
    const w = sharedWorld();
    w.broker.startLogin.mockRejectedValueOnce(
      new BrokerError({ kind: 'bad-credentials', step: 'start-login', status: 401 }),
    );
    const first = w.spawn('first');
    await first.relay.start();
    await first.relay.idle();
    await first.relay.stop();

    const second = w.spawn('second', credentials);
    await second.relay.start();
    await second.relay.idle();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
    expect(second.relay.snapshot().halted?.error).toBe('bad-credentials');
    const replies: unknown[] = [];
    const login = (force?: { forHalt: number }) => {
      second.operators.input({
        kind: 'command',
        operatorId: ALICE,
        command: 'login',
        ...(force === undefined ? {} : { force: true, ...force }),
        respond: async (notice) => void replies.push(notice),
      });
      return second.relay.idle();
    };
    return { w, second, replies, login };
  }

  it('keeps logins halted across a restart; /login with the same credentials asks first, "Try anyway" goes', async () => {
    const { w, second, replies, login } = await haltedThenRestarted();
    await login();
    const haltAt = (await w.coordination.loadHalt())?.at.getTime();
    expect(replies).toEqual([
      { kind: 'login-request', result: 'halt-confirm', haltError: 'bad-credentials', haltAt },
    ]);
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
    expect(second.relay.snapshot().halted?.error).toBe('bad-credentials');
    await login({ forHalt: haltAt! });
    expect(replies.at(-1)).toEqual({ kind: 'login-request', result: 'started' });
    expect(w.broker.startLogin).toHaveBeenCalledTimes(2);
  });

  it('lifts the halt at the first /login once the credentials were changed (restart with new ones)', async () => {
    const { w, replies, login } = await haltedThenRestarted(['app-key', 'user', 'new-password']);
    await login();
    expect(replies).toEqual([{ kind: 'login-request', result: 'started' }]);
    expect(w.broker.startLogin).toHaveBeenCalledTimes(2);
  });

  it('never keeps the credentials themselves with the halt', async () => {
    const { w } = await haltedThenRestarted();
    const halt = await w.coordination.loadHalt();
    // scrypt's form: `s1.<N>.<salt>.<key>`, nothing else.
    expect(halt?.credentials).toMatch(/^s1\.\d+\.[\w-]+\.[\w-]+$/);
    for (const secret of ['app-key', 'user', 'password']) expect(halt?.credentials).not.toContain(secret);
  });
});

describe('replicas', () => {
  it('two relays started together make one step-1 call and one prompt', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    const b = w.spawn('b');
    await Promise.all([a.relay.start(), b.relay.start()]);
    await w.idle();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
    expect(a.operators.prompts.length + b.operators.prompts.length).toBe(1);
  });

  it('a DM every relay receives is acted on once; the code reaches the broker once', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    const b = w.spawn('b');
    const c = w.spawn('c');
    await a.relay.start();
    await w.idle();
    await Promise.all([b.relay.start(), c.relay.start()]);
    w.deliverToAll({
      kind: 'code',
      operatorId: ALICE,
      code: new Secret('123456'),
      inputId: 'dm-1',
      sentAt: new Date(),
    });
    await w.idle();
    expect(w.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(w.events.events.filter((e) => e.type === 'token.updated')).toHaveLength(1);
    // Exactly one relay answered the operator.
    const answers = w.relays.flatMap(({ operators }) => operators.noticesTo(ALICE));
    expect(answers).toEqual(['logged-in']);
  });

  it('two operators answering through two relays at once: one code is checked, the other told so', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    const b = w.spawn('b');
    await a.relay.start();
    await w.idle();
    let answer!: (value: { kind: 'token'; token: Secret }) => void;
    w.broker.submitCode.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    a.operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-a' });
    b.operators.input({ kind: 'code', operatorId: BOB, code: new Secret('123456'), inputId: 'dm-b' });
    await vi.advanceTimersByTimeAsync(10);
    answer({ kind: 'token', token: new Secret('one-token') });
    await w.idle();
    expect(w.broker.submitCode).toHaveBeenCalledTimes(1);
    expect(b.operators.noticesTo(BOB)).toEqual(['busy']);
    expect((await w.store.read())?.token).toBe('one-token');
  });
  it('a relay whose view of the login is behind still takes a plain reply for the login that waits now', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    const b = w.spawn('b');
    await a.relay.start();
    await w.idle();
    await b.relay.start(); // b takes over login-1 as pending
    a.operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-1' });
    await w.idle();
    expect(await a.relay.requestLogin('operator-request')).toEqual({ result: 'started' });
    await w.idle(); // login-2 waits; b still thinks login-1 does
    b.operators.input({ kind: 'code', operatorId: BOB, code: new Secret('123456'), inputId: 'dm-2' });
    await w.idle();
    expect(w.broker.submitCode).toHaveBeenCalledTimes(2);
    const generations = w.events.events.flatMap((e) => (e.type === 'token.updated' ? [e.generation] : []));
    expect(generations).toHaveLength(2);
    expect((await w.store.read())?.generation).toBe(generations[0]! + 1);
    expect(b.operators.noticesTo(BOB)).toEqual(['logged-in']);
  });
  it('a login nobody answered is reported expired once, though every relay knew it', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    const b = w.spawn('b');
    await a.relay.start();
    await w.idle();
    await b.relay.start(); // b takes over the pending login and arms its deadline too
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await w.idle();
    expect(w.events.events.filter((e) => e.type === 'login.failed')).toEqual([
      { type: 'login.failed', reason: 'expired' },
    ]);
    expect(a.relay.snapshot().login.state).toBe('ended');
    expect(b.relay.snapshot().login.state).toBe('ended');
  });
  it('an answer reaching another relay before the prompt messages are recorded edits them, not new ones', async () => {
    const w = sharedWorld();
    const save = w.coordination.savePrompts.bind(w.coordination);
    let release!: () => void;
    const recorded = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(w.coordination, 'savePrompts').mockImplementation(async (loginId, prompts) => {
      await recorded; // the starting relay is slow to record where its DMs went
      return save(loginId, prompts);
    });
    const a = w.spawn('a');
    const b = w.spawn('b');
    await a.relay.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(a.operators.prompts).toHaveLength(1); // the DMs are out; where they went is not recorded yet
    b.operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-1' });
    await vi.advanceTimersByTimeAsync(250);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    await w.idle();
    expect(w.events.events.filter((e) => e.type === 'token.updated')).toHaveLength(1);
    // b edited a's prompt messages: every prompt b showed came with a's refs.
    expect(b.operators.refsPassed.length).toBeGreaterThan(0);
    expect(
      b.operators.refsPassed.every((refs) => JSON.stringify(refs) === JSON.stringify(a.operators.lastRefs)),
    ).toBe(true);
  });
});

describe('broker errors at step 1', () => {
  it('tries again with backoff after a 503, counting each call against the SMS guard', async () => {
    const w = sharedWorld();
    w.broker.startLogin
      .mockRejectedValueOnce(new BrokerError({ kind: 'server-error', step: 'start-login', status: 503 }))
      .mockRejectedValueOnce(new BrokerError({ kind: 'network', step: 'start-login' }));
    const a = w.spawn('a');
    await a.relay.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await a.relay.idle();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(3);
    expect(a.operators.lastPrompt?.state).toEqual({ kind: 'open', attemptsLeft: 3 });
    expect(await w.coordination.loginsInLastHour()).toBe(3);
  });

  it('honours Retry-After on a 429, and gives up when it is longer than the longest wait', async () => {
    const w = sharedWorld();
    w.broker.startLogin
      .mockRejectedValueOnce(
        new BrokerError({ kind: 'rate-limited', step: 'start-login', status: 429, retryAfterMs: 7_000 }),
      )
      .mockRejectedValueOnce(
        new BrokerError({ kind: 'rate-limited', step: 'start-login', status: 429, retryAfterMs: 3_600_000 }),
      );
    const a = w.spawn('a');
    await a.relay.start();
    await vi.advanceTimersByTimeAsync(6_999);
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await a.relay.idle();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(a.operators.lastPrompt?.state).toEqual({ kind: 'failed', error: 'rate-limited', fatal: false });
  });

  it('never retries bad credentials', async () => {
    const w = sharedWorld();
    w.broker.startLogin.mockRejectedValue(
      new BrokerError({ kind: 'bad-credentials', step: 'start-login', status: 401 }),
    );
    const a = w.spawn('a');
    await a.relay.start();
    await vi.advanceTimersByTimeAsync(120_000);
    await a.relay.idle();
    expect(w.broker.startLogin).toHaveBeenCalledTimes(1);
  });
});

describe('a store that lost the token', () => {
  it('gets the same token back, same generation, after Redis returns empty', async () => {
    const w = sharedWorld();
    const a = w.spawn('a');
    await a.relay.start();
    await a.relay.idle();
    a.operators.input({ kind: 'code', operatorId: ALICE, code: new Secret('123456'), inputId: 'dm-1' });
    await a.relay.idle();
    const before = await w.store.read();
    await w.store.remove(before!.generation); // what a Redis restarted empty looks like to a reader
    expect(await a.relay.tokens.restoreIfLost()).toBe(true);
    expect(await w.store.read()).toEqual(before);
    expect(await a.relay.tokens.restoreIfLost()).toBe(false);
  });
});
