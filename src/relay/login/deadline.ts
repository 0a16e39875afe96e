import { end, withFailure } from './endings.js';
import type { LoginEffect, LoginInput, LoginSettings, LoginView, Transition } from './types.js';

/**
 * A login's deadline. Every relay that knows the login arms it. An ending taken with `endPending` is
 * this relay's alone; one found already gone (the stored login expired by itself) is reported by the
 * one relay that claims it, and the others only bring their own view up to date.
 */

/** The deadline passed: try to end the stored login (it must still wait for a code). */
export function onDeadline(view: LoginView, input: Extract<LoginInput, { kind: 'deadline' }>): Transition {
  return { view, effects: [{ kind: 'check-deadline', loginId: input.loginId }] };
}

/** What the store said at the deadline. */
export function onDeadlineChecked(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'deadline-checked' }>,
): Transition {
  const { loginId, ended, pending, now } = input;
  const login = view.login;
  if (ended !== undefined) {
    return {
      view,
      effects: [
        {
          kind: 'report-deadline',
          login: ended,
          operatorId: undefined,
          lookForToken: false,
          endedHere: ended,
        },
      ],
    };
  }
  if (pending?.loginId === loginId) {
    // A code being checked (here or on another relay) decides the login itself: look again once the
    // stored login has expired with its deadline.
    const effects: LoginEffect[] =
      pending.phase.kind === 'exchanging'
        ? [{ kind: 'arm-deadline', loginId, at: new Date(now + 1_000) }]
        : [];
    return { view, effects };
  }
  // This relay's own code is at the broker: its answer ends the login (never past the deadline).
  if (view.exchangingHere === loginId) return { view, effects: [] };
  // The relay that claimed a code died mid-exchange (the stored login expired with its deadline,
  // still exchanging): if a token came of it, the login worked; else it is over. Only once a broker
  // call started before the deadline has surely answered: until then that relay may be alive.
  if (login.kind === 'exchanging' && login.loginId === loginId) {
    const surelyOverAt = login.deadline.getTime() + settings.exchangeGraceMs;
    if (now < surelyOverAt) {
      return { view, effects: [{ kind: 'arm-deadline', loginId, at: new Date(surelyOverAt) }] };
    }
    return {
      view,
      effects: [
        {
          kind: 'report-deadline',
          login,
          operatorId: login.operatorId,
          lookForToken: true,
          endedHere: undefined,
        },
      ],
    };
  }
  // Gone already (expired with its deadline, or ended by the relay that took a code or a cancel):
  // report it if no relay did; a token obtained since it started means it worked.
  if (login.kind === 'awaiting-code' && login.loginId === loginId) {
    return {
      view,
      effects: [
        { kind: 'report-deadline', login, operatorId: undefined, lookForToken: true, endedHere: undefined },
      ],
    };
  }
  return { view, effects: [] };
}

/** The deadline's ending, once it is known whether this relay reports it (and whether it worked). */
export function onDeadlineReported(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'deadline-reported' }>,
  now: number,
): Transition {
  const { login, worked, operatorId, report, prompts } = input;
  const closed = end(
    prompts === undefined ? view : { ...view, prompts },
    login,
    worked ? 'succeeded' : 'expired',
    now,
    operatorId === undefined ? {} : { operatorId },
    report,
    true,
  );
  if (worked || !report) return closed;
  return {
    view: withFailure(closed.view, 'expired', false, now),
    effects: [
      ...closed.effects,
      operatorId === undefined
        ? { kind: 'log', level: 'warn', fields: { loginId: login.loginId }, msg: 'no code arrived in time' }
        : {
            kind: 'log',
            level: 'warn',
            fields: { loginId: login.loginId },
            msg: 'the relay checking a code stopped; the login is over',
          },
      { kind: 'emit', event: { type: 'login.failed', reason: 'expired' } },
      { kind: 'show-prompt', login, state: { kind: 'expired' } },
    ],
  };
}
