/**
 * The login's pure rules, as tables: every fact they decide on comes in as an argument, so each row
 * is one situation a relay can be in, and its answer.
 */
import { describe, expect, it } from 'vitest';
import type { LoginState } from '../../src/domain/login.js';
import {
  afterRefusal,
  atDeadline,
  isAutomatic,
  isRunning,
  refusalNotice,
  reminderAt,
  resendStep,
  startRefusal,
} from '../../src/domain/rules.js';
import type { LoginReason } from '../../src/domain/vocabulary.js';
import { Secret } from '../../src/shared/secret.js';

const T0 = Date.UTC(2026, 11, 7, 13, 30);
const base = { loginId: 'L1', reason: 'startup' as const, startedAt: new Date(T0) };
const pending = {
  ...base,
  interim: new Secret('interim'),
  deadline: new Date(T0 + 300_000),
  attemptsUsed: 0,
  promptedAt: new Date(T0),
  codeKey: new Secret('key'),
};
const none: LoginState = { kind: 'none' };
const starting: LoginState = { kind: 'starting', ...base };
const awaiting: LoginState = { kind: 'awaiting-code', ...pending };
const exchanging: LoginState = { kind: 'exchanging', operatorId: 'op', ...pending };
const ended: LoginState = {
  kind: 'ended',
  ...base,
  outcome: 'expired',
  attempts: 0,
  endedAt: new Date(T0 + 300_000),
};

describe('when a login may start', () => {
  it.each<[string, Partial<Parameters<typeof startRefusal>[0]>, ReturnType<typeof startRefusal>]>([
    ['nothing in the way', {}, undefined],
    ['the relay stopping', { stopped: true, halted: true }, 'unavailable'],
    ['a halt', { halted: true, login: awaiting }, 'halted'],
    ['a login starting', { login: starting }, 'already-running'],
    ['a login waiting for a code', { login: awaiting }, 'already-running'],
    ['a code at the broker', { login: exchanging }, 'already-running'],
    ['the last login over', { login: ended }, undefined],
    [
      'an automatic trigger while the account waits for a person',
      { reason: 'renewal', waitingForOperator: true },
      'needs-operator',
    ],
    [
      'a person asking while the account waits for one',
      { reason: 'operator-request', waitingForOperator: true },
      undefined,
    ],
    [
      'the schedule while the account waits for a person',
      { reason: 'schedule', waitingForOperator: true },
      undefined,
    ],
  ])('%s', (_, facts, expected) => {
    const all = {
      stopped: false,
      halted: false,
      login: none,
      reason: 'startup' as LoginReason,
      waitingForOperator: false,
    };
    expect(startRefusal({ ...all, ...facts })).toBe(expected);
  });

  it.each<[LoginReason, boolean]>([
    ['renewal', true],
    ['token-invalid', true],
    ['bot-request', true],
    ['startup', false],
    ['schedule', false],
    ['operator-request', false],
  ])('%s is automatic: %s', (reason, automatic) => expect(isAutomatic(reason)).toBe(automatic));

  it.each<[LoginState, boolean]>([
    [none, false],
    [starting, true],
    [awaiting, true],
    [exchanging, true],
    [ended, false],
  ])('a login %o is running: %s', (login, running) => expect(isRunning(login)).toBe(running));
});

describe('what a refused claim tells its operator', () => {
  it.each<[Parameters<typeof refusalNotice>[0], boolean, ReturnType<typeof refusalNotice>]>([
    [undefined, false, { kind: 'no-pending-login' }],
    [undefined, true, { kind: 'no-pending-login' }],
    [{ ok: false, reason: 'none' }, false, { kind: 'no-pending-login' }],
    [{ ok: false, reason: 'none' }, true, { kind: 'prompt-inactive' }],
    [{ ok: false, reason: 'busy', operatorId: 'bob' }, false, { kind: 'busy', operatorId: 'bob' }],
    [
      { ok: false, reason: 'stale', promptedAt: new Date(T0) },
      false,
      { kind: 'stale-code', promptSentAt: new Date(T0) },
    ],
    [{ ok: false, reason: 'already-tried' }, false, { kind: 'code-already-tried' }],
    [{ ok: false, reason: 'no-attempts-left' }, true, { kind: 'no-attempts-left' }],
  ])('%o (named login: %s)', (refusal, named, notice) =>
    expect(refusalNotice(refusal, named)).toEqual(notice),
  );
});

describe('what follows a refused code', () => {
  const facts = { attemptsUsed: 1, maxCodeAttempts: 3, interimSpent: false, pastDeadline: false };
  it.each<[string, Partial<Parameters<typeof afterRefusal>[0]>, ReturnType<typeof afterRefusal>]>([
    ['attempts left, in time', {}, { next: 'reopen', attemptsLeft: 2 }],
    [
      'a different attempt limit',
      { maxCodeAttempts: 5, attemptsUsed: 2 },
      { next: 'reopen', attemptsLeft: 3 },
    ],
    [
      'the last attempt',
      { attemptsUsed: 3 },
      { next: 'end', outcome: 'rejected', reason: 'code-rejected', why: 'no-attempts-left' },
    ],
    [
      'a limit of one',
      { maxCodeAttempts: 1 },
      { next: 'end', outcome: 'rejected', reason: 'code-rejected', why: 'no-attempts-left' },
    ],
    [
      'the interim spent',
      { interimSpent: true },
      { next: 'end', outcome: 'rejected', reason: 'code-rejected', why: 'interim-spent' },
    ],
    [
      'the interim spent on the last attempt',
      { interimSpent: true, attemptsUsed: 3 },
      { next: 'end', outcome: 'rejected', reason: 'code-rejected', why: 'interim-spent' },
    ],
    [
      'past the deadline',
      { pastDeadline: true },
      { next: 'end', outcome: 'expired', reason: 'expired', why: 'deadline-passed' },
    ],
    [
      'the store could not reopen it',
      { reopenable: false },
      { next: 'end', outcome: 'expired', reason: 'expired', why: 'deadline-passed' },
    ],
  ])('%s', (_, more, expected) => expect(afterRefusal({ ...facts, ...more })).toEqual(expected));
});

describe('what a deadline finds', () => {
  const facts = {
    loginId: 'L1',
    endedHere: false,
    stored: undefined,
    exchangingHere: false,
    login: awaiting,
    nowMs: T0 + 300_000,
    exchangeGraceMs: 30_000,
  };
  it.each<[string, Partial<Parameters<typeof atDeadline>[0]>, ReturnType<typeof atDeadline>]>([
    ['this relay ended the stored login', { endedHere: true }, 'report-ended-here'],
    ['a code being checked somewhere', { stored: { loginId: 'L1', exchanging: true } }, 'look-again-soon'],
    [
      'the stored login still waiting (ended by nobody: a clock ahead)',
      { stored: { loginId: 'L1', exchanging: false } },
      'nothing',
    ],
    ['this relay checking the code', { exchangingHere: true, login: exchanging }, 'leave-to-own-exchange'],
    [
      'another relay checking, within the grace',
      { login: exchanging, nowMs: T0 + 329_999 },
      'wait-for-grace',
    ],
    [
      'another relay checking, the grace over',
      { login: exchanging, nowMs: T0 + 330_000 },
      'report-dead-exchange',
    ],
    ['the stored login gone', {}, 'report-gone'],
    ['another login stored', { stored: { loginId: 'L2', exchanging: false } }, 'report-gone'],
    ['another login current here', { login: { ...awaiting, loginId: 'L2' } }, 'nothing'],
    ['the login over here', { login: ended }, 'nothing'],
  ])('%s', (_, more, expected) => expect(atDeadline({ ...facts, ...more })).toBe(expected));
});

describe('"Send a new code"', () => {
  const facts = { loginId: 'L1', stored: undefined, login: ended, halted: false };
  it.each<[string, Partial<Parameters<typeof resendStep>[0]>, ReturnType<typeof resendStep>]>([
    ['on the last prompt, nothing waiting', {}, { kind: 'start' }],
    ['after a restart (no login known)', { login: none }, { kind: 'start' }],
    ['on an older prompt', { login: { ...ended, loginId: 'L2' } }, { kind: 'prompt-inactive' }],
    ['while its login waits', { stored: { loginId: 'L1', busyWith: undefined } }, { kind: 'replace' }],
    [
      'while another login waits',
      { stored: { loginId: 'L2', busyWith: undefined } },
      { kind: 'prompt-inactive' },
    ],
    [
      'while a code of it is checked',
      { stored: { loginId: 'L1', busyWith: 'bob' } },
      { kind: 'busy', operatorId: 'bob' },
    ],
    ['while logins are halted', { halted: true }, { kind: 'halted' }],
    [
      'halted, on an older prompt',
      { halted: true, login: { ...ended, loginId: 'L2' } },
      { kind: 'prompt-inactive' },
    ],
  ])('%s', (_, more, expected) => expect(resendStep({ ...facts, ...more })).toEqual(expected));
});

it('reminds halfway between the SMS and the deadline', () => {
  expect(reminderAt({ promptedAt: new Date(T0), deadline: new Date(T0 + 300_000) })).toEqual(
    new Date(T0 + 150_000),
  );
  expect(reminderAt({ promptedAt: new Date(T0), deadline: new Date(T0 + 600_000) })).toEqual(
    new Date(T0 + 300_000),
  );
});
