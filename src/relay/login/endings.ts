import { BrokerError, type BrokerStep } from '../../domain/broker-errors.js';
import type { LoginEffect, LoginSettings, LoginView, Transition } from './types.js';
import type { LoginOutcome } from '../../domain/vocabulary.js';
import type { EndedLogin, LoginBase } from '../../domain/login.js';

/**
 * The endings every flow shares: how a login ends in this relay's view, and the one failed-login
 * ending (record the failure, halt when only a person can fix it, tell the bots and the operators).
 */

/**
 * Ends this relay's view of a login. `report`: this relay is the one that tells the observers
 * (metrics, audit trail) about it; another relay's view is only brought up to date.
 */
export function end(
  view: LoginView,
  login: LoginBase & { readonly attemptsUsed: number },
  outcome: LoginOutcome,
  now: number,
  details: Pick<EndedLogin, 'error' | 'operatorId'> = {},
  report = true,
  claimed = false,
): Transition {
  const ended: EndedLogin = {
    loginId: login.loginId,
    reason: login.reason,
    startedAt: login.startedAt,
    outcome,
    ...details,
    attempts: login.attemptsUsed,
    endedAt: new Date(now),
  };
  return {
    view: { ...view, login: { ...ended, kind: 'ended' }, waitingForOperator: outcome !== 'succeeded' },
    effects: report
      ? [
          { kind: 'observe-ended', login: ended, claimed },
          // Every relay, also one started later, learns whether the account waits for a person.
          { kind: 'save-waiting', waiting: outcome !== 'succeeded' },
        ]
      : [],
  };
}

/** Records the last failure, for `/readyz` and `/status`. */
export function withFailure(view: LoginView, reason: string, fatal: boolean, now: number): LoginView {
  return { ...view, lastFailure: { reason, at: new Date(now).toISOString(), fatal } };
}

/**
 * The failed-login ending, the only one: a broker error at step 1 or 2. A fatal error (credentials,
 * app key, password, PIN) halts every login until a person acts, on every relay and across
 * restarts, with a keyed hash of the credentials so that `/login` can tell whether they changed.
 */
export function failLogin(
  view: LoginView,
  settings: LoginSettings,
  login: LoginBase & { readonly attemptsUsed: number; readonly deadline: Date },
  step: BrokerStep,
  error: unknown,
  now: number,
  operatorId?: string,
): Transition {
  const brokerError =
    error instanceof BrokerError ? error : new BrokerError({ kind: 'unexpected-answer', step, cause: error });
  const fatal = brokerError.fatal;
  const ended = end(view, login, 'failed', now, {
    error: brokerError.kind,
    ...(operatorId === undefined ? {} : { operatorId }),
  });
  let next = withFailure(ended.view, brokerError.kind, fatal, now);
  const effects: LoginEffect[] = [...ended.effects];
  if (fatal) {
    const halt = { error: brokerError.kind, at: new Date(now), credentials: settings.credentialsDigest() };
    next = { ...next, halted: halt };
    effects.push({ kind: 'save-halt', halt });
  }
  effects.push(
    { kind: 'log-failure', loginId: login.loginId, error: brokerError, fatal },
    { kind: 'emit', event: { type: 'login.failed', reason: brokerError.kind } },
    { kind: 'show-prompt', login, state: { kind: 'failed', error: brokerError.kind, fatal } },
  );
  return { view: next, effects };
}

/**
 * A login that ended without a token by itself or by a person (`expired`, `cancelled`): recorded,
 * told to the bots, shown on the prompt.
 */
export function quietEnding(
  view: LoginView,
  login: LoginBase & { readonly attemptsUsed: number; readonly deadline: Date },
  outcome: 'expired' | 'cancelled',
  now: number,
  operatorId?: string,
): Transition {
  const ended = end(view, login, outcome, now, operatorId === undefined ? {} : { operatorId });
  return {
    view: withFailure(ended.view, outcome, false, now),
    effects: [
      ...ended.effects,
      { kind: 'emit', event: { type: 'login.failed', reason: outcome } },
      {
        kind: 'show-prompt',
        login,
        state:
          outcome === 'expired' ? { kind: 'expired' } : { kind: 'cancelled', operatorId: operatorId ?? '' },
      },
    ],
  };
}

/** Appends effects to a transition. */
export function andThen(transition: Transition, ...effects: readonly LoginEffect[]): Transition {
  return { view: transition.view, effects: [...transition.effects, ...effects] };
}
