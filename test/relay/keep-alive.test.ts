import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { createLogger } from '../../src/shared/log.js';
import type { OperatorNotice } from '../../src/relay/ports/operators.js';
import { KeepAlive } from '../../src/relay/keep-alive.js';
import { Relay } from '../../src/relay/relay.js';
import { cronPlannedLogins } from '../../src/relay/schedule.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import type { RelayEvent } from '../../src/relay/ports/token-store.js';
import { RecordingOperators } from '../fakes/recording-operators.js';
import { ScriptedBroker } from '../fakes/scripted-broker.js';

const ALICE = '100000000000000001';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface Options {
  tokenLifetimeMs?: number;
  renewBeforeMs?: number;
  validateEveryMs?: number;
  maxLoginsPerHour?: number;
  schedule?: string;
}

function setup(options: Options = {}) {
  const broker = new ScriptedBroker();
  const operators = new RecordingOperators();
  const store = new MemoryTokenStore({ account: 'default' });
  const events = new MemoryEventPublisher();
  const published: RelayEvent[] = [];
  events.subscribe((event) => published.push(event));
  const logger = createLogger({ level: 'silent' });
  let ids = 0;
  const relay: Relay = new Relay({
    account: 'default',
    codeTimeoutMs: 5 * MINUTE,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 24 * HOUR,
    maxCodeAttempts: 3,
    maxLoginsPerHour: options.maxLoginsPerHour ?? 4,
    broker,
    operators,
    store,
    events,
    coordination: new MemoryCoordination(),
    logger,
    newLoginId: () => `login-${++ids}`,
    statusExtras: async () => ({ nextLogin: keepAlive.nextLogin(), recentLogins: [] }),
  });
  // Built after the relay, whose `/status` answer reads it only once running.
  const keepAlive: KeepAlive = new KeepAlive({
    tokens: relay.tokens,
    logins: relay,
    operators,
    account: 'default',
    renewBeforeMs: options.renewBeforeMs ?? HOUR,
    validateEveryMs: options.validateEveryMs ?? 5 * MINUTE,
    planned:
      options.schedule === undefined ? undefined : cronPlannedLogins(options.schedule, 'America/New_York'),
    logger,
  });
  void operators.start((input) => relay.handleInput(input));
  const answer = async (code = '123456') => {
    operators.input({ kind: 'code', operatorId: ALICE, code: new Secret(code) });
    await keepAlive.idle();
  };
  const reasons = () =>
    published.filter((e) => e.type === 'login.started').map((e) => 'reason' in e && e.reason);
  const command = async (name: 'status' | 'login' | 'cancel') => {
    const replies: OperatorNotice[] = [];
    operators.input({
      kind: 'command',
      operatorId: ALICE,
      command: name,
      respond: async (n) => void replies.push(n),
    });
    await keepAlive.idle();
    return replies;
  };
  return { broker, operators, store, published, relay, keepAlive, answer, reasons, command };
}

/** A relay that logged in once at start and holds its first generation, `first`. */
async function loggedIn(options: Options = {}) {
  const t = setup(options);
  await t.relay.start();
  t.keepAlive.start();
  await t.keepAlive.idle();
  await t.answer();
  const first = (await t.store.read())?.generation;
  expect(first).toBeGreaterThan(0);
  return { ...t, first: first! };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date('2026-11-30T13:31:00Z')); // a Monday, 08:31 in New York
});
afterEach(() => {
  vi.useRealTimers();
});

describe('renewal', () => {
  it('starts the next login RENEW_BEFORE ahead of expiry; bots keep the old token until the new one', async () => {
    const t = await loggedIn();
    await vi.advanceTimersByTimeAsync(23 * HOUR - 1);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'renewal']);
    expect((await t.store.read())?.generation).toBe(t.first);
    await t.answer();
    expect((await t.store.read())?.generation).toBe(t.first + 1);
    expect(
      t.published.filter((e) => e.type === 'token.updated').map((e) => 'generation' in e && e.generation),
    ).toEqual([t.first, t.first + 1]);
  });

  it('moves renewal to the last planned login before expiry', async () => {
    const t = await loggedIn({ schedule: '30 8 * * 1-5' });
    expect(t.keepAlive.nextLogin()).toEqual({ at: new Date('2026-12-01T13:30:00Z'), reason: 'schedule' });
    await vi.advanceTimersByTimeAsync(new Date('2026-12-01T13:30:00Z').getTime() - Date.now());
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'schedule']);
  });

  it('warns the operators once, ahead of time, when the token lapses before the next planned login', async () => {
    vi.setSystemTime(new Date('2026-12-04T13:31:00Z')); // Friday 08:31 in New York
    const t = await loggedIn({ schedule: '30 8 * * 1-5' });
    expect(t.operators.broadcasts).toEqual([
      {
        kind: 'expiry-warning',
        account: 'default',
        expiresAt: new Date('2026-12-05T13:31:00Z'),
        nextLoginAt: new Date('2026-12-07T13:30:00Z'),
      },
    ]);
    // Saturday: the token lapses, the bots hear it, and nobody is texted at an unplanned hour.
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    await t.keepAlive.idle();
    expect(t.published.at(-1)).toEqual({ type: 'token.invalidated', generation: t.first, reason: 'expired' });
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    // Monday 08:30: the planned login.
    await vi.advanceTimersByTimeAsync(new Date('2026-12-07T13:30:00Z').getTime() - Date.now());
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'schedule']);
    expect(t.operators.broadcasts).toHaveLength(1);
  });
});

describe('validation', () => {
  it('removes a token the broker refuses, tells the bots and logs in', async () => {
    const t = await loggedIn();
    t.broker.validate.mockResolvedValueOnce('invalid');
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    expect(await t.store.read()).toBeUndefined();
    expect(t.published).toContainEqual({
      type: 'token.invalidated',
      generation: t.first,
      reason: 'rejected by the broker',
    });
    expect(t.reasons()).toEqual(['startup', 'token-invalid']);
  });

  it('writes the token back when the store lost it without a disconnect (a FLUSHALL)', async () => {
    const t = await loggedIn();
    const held = await t.store.read();
    await t.store.remove(t.first); // what a FLUSHALL looks like to a reader
    expect(await t.store.read()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    expect(await t.store.read()).toEqual(held);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
  });

  it('puts a token that went missing back within seconds, same record and generation', async () => {
    const t = await loggedIn();
    const held = await t.store.read();
    const updates = t.published.filter((e) => e.type === 'token.updated').length;
    await t.store.remove(t.first); // an eviction, a mistaken DEL, a failover that missed the write
    await vi.advanceTimersByTimeAsync(5_000);
    await t.keepAlive.idle();
    expect(await t.store.read()).toEqual(held);
    // Bots waiting for a token hear it is back.
    expect(t.published.filter((e) => e.type === 'token.updated')).toHaveLength(updates + 1);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
  });

  it('takes a network error or 5xx for what it is: not a dead token', async () => {
    const t = await loggedIn();
    t.broker.validate.mockRejectedValueOnce(
      new BrokerError({ kind: 'server-error', step: 'validate', status: 503 }),
    );
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    expect((await t.store.read())?.generation).toBe(t.first);
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    expect(t.broker.validate).toHaveBeenCalledTimes(2);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
  });
});

describe('bot requests', () => {
  it('checks the current token with the broker before asking anyone, once for repeats', async () => {
    const t = await loggedIn();
    await Promise.all([
      t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first }),
      t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first }),
    ]);
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    expect(t.broker.validate).toHaveBeenCalledTimes(1);
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    expect((await t.store.read())?.generation).toBe(t.first);
  });

  it('answers each report with token.checked once the broker was asked: still valid', async () => {
    const t = await loggedIn();
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    expect(t.published.at(-1)).toEqual({ type: 'token.checked', generation: t.first, valid: true });
    // A bot reporting after the check hears the same answer (it waits for it), with no second call.
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    expect(t.published.filter((e) => e.type === 'token.checked')).toHaveLength(2);
    expect(t.broker.validate).toHaveBeenCalledTimes(1);
  });

  it('answers token.checked valid:false before invalidating a dead token, and nothing when unchecked', async () => {
    const t = await loggedIn();
    t.broker.validate.mockRejectedValueOnce(new BrokerError({ kind: 'network', step: 'validate' }));
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    expect(t.published.filter((e) => e.type === 'token.checked')).toEqual([]);
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    t.broker.validate.mockResolvedValueOnce('invalid');
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    await t.keepAlive.idle();
    const types = t.published.map((e) => e.type);
    expect(t.published).toContainEqual({ type: 'token.checked', generation: t.first, valid: false });
    expect(types.indexOf('token.checked')).toBeLessThan(types.indexOf('token.invalidated'));
  });

  it('treats a request for an older generation as handled', async () => {
    const t = await loggedIn();
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first - 1 });
    expect(t.broker.validate).not.toHaveBeenCalled();
  });

  it('logs in when the broker confirms the token is dead', async () => {
    const t = await loggedIn();
    t.broker.validate.mockResolvedValueOnce('invalid');
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'bot-request']);
    expect(t.published).toContainEqual(
      expect.objectContaining({ type: 'token.invalidated', generation: t.first }),
    );
  });
});

describe('the SMS guard and runaway logins', () => {
  it('allows MAX_LOGINS_PER_HOUR step-1 calls whatever the trigger, tells when the next may start', async () => {
    const t = setup({ maxLoginsPerHour: 2 });
    await t.relay.start(); // 1
    await t.keepAlive.idle();
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-1' }); // 2
    await t.keepAlive.idle();
    const replies = await t.command('login'); // login-2 still waits for its code
    expect(replies).toEqual([{ kind: 'login-request', result: 'already-running' }]);
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-2' }); // 3: held back
    await t.keepAlive.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    expect(t.operators.notices.at(-1)).toEqual({
      operatorId: ALICE,
      notice: { kind: 'login-request', result: 'rate-limited', nextAllowedAt: new Date(Date.now() + HOUR) },
    });
  });

  it('holds an automatic login back, says so, and starts it by itself when the hour allows', async () => {
    const t = await loggedIn({ maxLoginsPerHour: 1 });
    t.broker.validate.mockResolvedValueOnce('invalid');
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await t.keepAlive.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(1);
    expect(t.operators.broadcasts.at(-1)).toMatchObject({
      kind: 'login-deferred',
      reason: 'token-invalid',
      retrying: true,
    });
    await vi.advanceTimersByTimeAsync(HOUR);
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'token-invalid']);
  });

  it('does not text again on its own after a login nobody answered', async () => {
    const t = await loggedIn();
    await vi.advanceTimersByTimeAsync(23 * HOUR); // renewal login
    await vi.advanceTimersByTimeAsync(5 * MINUTE); // ... nobody answers
    await t.keepAlive.idle();
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'expired' });
    await vi.advanceTimersByTimeAsync(HOUR); // the token lapses; bots complain
    await t.keepAlive.handleBotRequest({ type: 'token.rejected', generation: t.first });
    await t.keepAlive.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(2);
    // An operator's "Send a new code" still works.
    t.operators.input({ kind: 'resend', operatorId: ALICE, loginId: 'login-2' });
    await t.keepAlive.idle();
    expect(t.broker.startLogin).toHaveBeenCalledTimes(3);
  });
});

describe('commands', () => {
  it('/status shows the token, the login state and the next planned login, and no secret', async () => {
    const t = await loggedIn();
    const [reply] = await t.command('status');
    expect(reply).toEqual({
      kind: 'status',
      status: expect.objectContaining({
        account: 'default',
        token: { generation: t.first, expiresAt: new Date(Date.now() + 24 * HOUR) },
        login: { state: 'ended', reason: 'startup', outcome: 'succeeded' },
        nextLogin: { at: new Date(Date.now() + 23 * HOUR), reason: 'renewal' },
        loginsLastHour: 1,
        maxLoginsPerHour: 4,
      }),
    });
    expect(JSON.stringify(reply)).not.toContain('final-token');
  });

  it('/login starts a login now, /cancel drops it', async () => {
    const t = await loggedIn();
    expect(await t.command('login')).toEqual([{ kind: 'login-request', result: 'started' }]);
    await t.keepAlive.idle();
    expect(t.reasons()).toEqual(['startup', 'operator-request']);
    expect(await t.command('cancel')).toEqual([{ kind: 'cancel-request', cancelled: true }]);
    expect(t.operators.lastPrompt?.state).toEqual({ kind: 'cancelled', operatorId: ALICE });
    expect(await t.command('cancel')).toEqual([{ kind: 'cancel-request', cancelled: false }]);
  });
});
