/** The login's one reducer: each event's effect on a relay's view, with no I/O. */
import { describe, expect, it } from 'vitest';
import type { SharedLogin } from '../../src/relay/ports/coordination.js';
import { apply, INITIAL_VIEW, type LoginEvent, type LoginView } from '../../src/relay/login/state.js';
import { Secret } from '../../src/shared/secret.js';

const T0 = Date.UTC(2026, 11, 7, 13, 30);
const base = { loginId: 'L1', reason: 'startup' as const, startedAt: new Date(T0) };
const shared = (more: Partial<SharedLogin> = {}): SharedLogin => ({
  ...base,
  interim: new Secret('interim'),
  deadline: new Date(T0 + 300_000),
  attemptsUsed: 0,
  promptedAt: new Date(T0),
  codeKey: new Secret('key'),
  triedCodes: [],
  phase: { kind: 'awaiting-code' },
  prompts: { alice: 'm1' },
  ...more,
});
const run = (...events: LoginEvent[]): LoginView => events.reduce(apply, INITIAL_VIEW);
const ended = (outcome: 'succeeded' | 'expired' | 'abandoned', loginId = 'L1') => ({
  ...base,
  loginId,
  outcome,
  attempts: 0,
  endedAt: new Date(T0 + 1),
});

describe('apply', () => {
  it('a start that gives up brings back the login before it', () => {
    const before = run({ type: 'ended', login: ended('expired', 'L0') });
    const started = apply(before, { type: 'starting', base });
    expect(started.login.kind).toBe('starting');
    expect(apply(started, { type: 'start-gave-up', loginId: 'L1' }).login).toEqual(before.login);
    // Only the start it names: a later one is left alone.
    expect(apply(started, { type: 'start-gave-up', loginId: 'L9' }).login.kind).toBe('starting');
  });

  it("this relay's prompt: the login waits for a code, started here, with no prompt messages yet", () => {
    const view = run({ type: 'starting', base }, { type: 'prompted', login: shared() });
    expect(view.login.kind).toBe('awaiting-code');
    expect(view.startedHere).toBe('L1');
    expect(view.prompts).toEqual({});
  });

  it("follows another relay's login, in its phase, with its prompts; never twice over its own", () => {
    const exchanging = shared({ phase: { kind: 'exchanging', relayId: 'r2', operatorId: 'bob' } });
    const view = run({ type: 'followed', login: exchanging });
    expect(view.login).toMatchObject({ kind: 'exchanging', operatorId: 'bob' });
    expect(view.prompts).toEqual({ alice: 'm1' });
    const current = run({ type: 'prompted', login: shared() });
    expect(apply(current, { type: 'followed', login: exchanging })).toBe(current);
  });

  it("a claimed code makes the exchange this relay's until its answer", () => {
    const claimed = run(
      { type: 'followed', login: shared() },
      { type: 'claimed', login: shared({ attemptsUsed: 1 }), operatorId: 'alice' },
    );
    expect(claimed.login).toMatchObject({ kind: 'exchanging', operatorId: 'alice', attemptsUsed: 1 });
    expect(claimed.exchangingHere).toBe('L1');
    expect(apply(claimed, { type: 'exchange-over', loginId: 'L2' }).exchangingHere).toBe('L1');
    expect(apply(claimed, { type: 'exchange-over', loginId: 'L1' }).exchangingHere).toBeUndefined();
  });

  it('reopens only the current login', () => {
    const claimed = run({ type: 'claimed', login: shared({ attemptsUsed: 1 }), operatorId: 'alice' });
    const { login } = claimed;
    if (login.kind !== 'exchanging') throw new Error('not exchanging');
    expect(apply(claimed, { type: 'reopened', login }).login).toMatchObject({
      kind: 'awaiting-code',
      attemptsUsed: 1,
    });
    const other = { ...login, loginId: 'L0' };
    expect(apply(claimed, { type: 'reopened', login: other })).toBe(claimed);
  });

  it('keeps prompt messages for the current login, or the last one once over', () => {
    const waiting = run({ type: 'prompted', login: shared() });
    expect(apply(waiting, { type: 'prompts', loginId: 'L1', refs: { a: 1 } }).prompts).toEqual({ a: 1 });
    expect(apply(waiting, { type: 'prompts', loginId: 'L0', refs: { a: 1 } }).prompts).toEqual({});
    const over = apply(waiting, { type: 'ended', login: ended('expired') });
    expect(apply(over, { type: 'prompts', loginId: 'L1', refs: { b: 2 } }).prompts).toEqual({ b: 2 });
  });

  it('an ending: waits for a person unless it worked or is told otherwise; records failure and halt', () => {
    const failure = { reason: 'expired', at: new Date(T0).toISOString(), fatal: false };
    const expired = run({ type: 'ended', login: ended('expired'), failure });
    expect(expired).toMatchObject({ waitingForOperator: true, lastFailure: failure });
    expect(run({ type: 'ended', login: ended('succeeded') }).waitingForOperator).toBe(false);
    expect(
      run({ type: 'ended', login: ended('abandoned'), waitingForOperator: false }).waitingForOperator,
    ).toBe(false);
    const halt = { error: 'bad-credentials' as const, at: new Date(T0) };
    const halted = run({ type: 'ended', login: ended('expired'), halt });
    expect(halted.halted).toEqual(halt);
    expect(apply(halted, { type: 'halt', halt: undefined }).halted).toBeUndefined();
    // A later ending without a failure keeps the last one.
    expect(apply(expired, { type: 'ended', login: ended('succeeded') }).lastFailure).toEqual(failure);
  });

  it('remembers the deferral it announced, and waiting for a person', () => {
    expect(run({ type: 'deferral-announced', atMs: T0 }).announcedDeferralMs).toBe(T0);
    expect(run({ type: 'waiting-for-person' }).waitingForOperator).toBe(true);
  });
});
