import { BrokerError } from '../../domain/broker-errors.js';
import type { OperatorNotice } from '../ports/operators.js';
import type { ClaimResult } from '../ports/coordination.js';
import { end, failLogin, withFailure } from './endings.js';
import { toPending } from './start.js';
import type { LoginEffect, LoginInput, LoginSettings, LoginView, Transition } from './types.js';
import type { LoginOutcome } from '../../domain/vocabulary.js';
import type { PendingLogin } from '../../domain/login.js';

/**
 * An operator's code: claimed across relays (once, for the login whose prompt was out when it was
 * written, never twice), checked against the deadline, sent to the broker, and what its answer
 * means for the login.
 */

/** This relay's view of the login waiting for (or checking) a code, if any. */
export function pendingLogin(view: LoginView): PendingLogin | undefined {
  const login = view.login;
  return login.kind === 'awaiting-code' || login.kind === 'exchanging' ? login : undefined;
}

/** A code came: claim it (the claim decides which login it is for, and refuses what it must). */
export function onCode(view: LoginView, input: Extract<LoginInput, { kind: 'code' }>): Transition {
  const starting = view.login.kind === 'starting';
  return { view, effects: [{ kind: 'claim-code', input: input.input, known: pendingLogin(view), starting }] };
}

/** The claim's answer. */
export function onCodeClaimed(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'code-claimed' }>,
): Transition {
  const { operatorId } = input.input;
  const claim = input.claim;
  if (claim === 'store-failed') {
    return {
      view,
      effects: [
        {
          kind: 'log',
          level: 'error',
          fields: { operatorId },
          msg: 'code not taken: the coordination store failed',
        },
        { kind: 'notify', operatorId, notice: { kind: 'input-not-taken' } },
      ],
    };
  }
  if (claim !== undefined && !claim.ok && claim.reason === 'input-taken') {
    // Another relay took this DM (every relay receives it) and answers it; or a repeat delivery.
    return {
      view,
      effects: [{ kind: 'log', level: 'debug', fields: { operatorId }, msg: 'input taken by another relay' }],
    };
  }
  if (claim === undefined || !claim.ok) {
    return {
      view,
      effects: [
        { kind: 'notify', operatorId, notice: claimRefusal(claim, input.input.loginId !== undefined) },
      ],
    };
  }
  const shared = claim.login;
  const pending = toPending(shared);
  return {
    view: { ...view, login: { ...pending, kind: 'exchanging', operatorId }, exchangingHere: shared.loginId },
    effects: [
      {
        kind: 'find-prompts',
        shared,
        input: input.input,
        startedHere: view.startedHere === shared.loginId,
        known: view.prompts,
      },
    ],
  };
}

/** What an operator is told when their code was not claimed. */
function claimRefusal(
  claim: Exclude<ClaimResult, { ok: true } | { reason: 'input-taken' }> | undefined,
  namedLogin: boolean,
): OperatorNotice {
  if (claim === undefined) return { kind: 'no-pending-login' };
  switch (claim.reason) {
    case 'none':
      return namedLogin ? { kind: 'prompt-inactive' } : { kind: 'no-pending-login' };
    case 'busy':
      return { kind: 'busy', operatorId: claim.operatorId };
    case 'stale':
      return { kind: 'stale-code', promptSentAt: claim.promptedAt };
    case 'already-tried':
      return { kind: 'code-already-tried' };
    case 'no-attempts-left':
      return { kind: 'no-attempts-left' };
  }
}

/** The prompt messages are known: the code goes to the broker now, unless the deadline passed. */
export function onPromptsFound(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'prompts-found' }>,
): Transition {
  const { login, now } = input;
  const { operatorId } = input.input;
  const { loginId } = login;
  const current = pendingLogin(view)?.loginId === loginId;
  const next: LoginView = current || view.login.kind === 'ended' ? { ...view, prompts: input.refs } : view;
  if (now >= login.deadline.getTime()) {
    // Waiting for the prompt refs may have taken the login past its deadline: never send a code
    // after it. The deadline's own handler finds the login exchanging and leaves it to this one.
    return {
      view: next,
      effects: [{ kind: 'clear-deadline' }, { kind: 'end-late-code', login, operatorId }],
    };
  }
  const attempt = login.attemptsUsed;
  return {
    view: next,
    effects: [
      {
        kind: 'submit-code',
        login,
        operatorId,
        code: input.input.code,
        sent: [
          { kind: 'log', level: 'info', fields: { loginId, operatorId, attempt }, msg: 'code received' },
          {
            kind: 'observe-code',
            loginId,
            operatorId,
            attempt,
            // The deadline was set CODE_TIMEOUT after the prompt went out.
            waitedMs: now - (login.deadline.getTime() - settings.codeTimeoutMs),
          },
        ],
      },
    ],
  };
}

/** A code claimed in time reached the relay's broker call too late: the login is over. */
export function onLateCodeEnded(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'late-code-ended' }>,
  now: number,
): Transition {
  const { login, operatorId, ended } = input;
  const closed = end(view, login, 'expired', now, { operatorId }, ended);
  const effects: LoginEffect[] = [
    ...closed.effects,
    {
      kind: 'log',
      level: 'warn',
      fields: { loginId: login.loginId, operatorId },
      msg: 'code came too late; not sent',
    },
    { kind: 'notify', operatorId, notice: { kind: 'prompt-inactive' } },
  ];
  if (!ended) return { view: closed.view, effects };
  return {
    view: withFailure(closed.view, 'expired', false, now),
    effects: [
      ...effects,
      { kind: 'emit', event: { type: 'login.failed', reason: 'expired' } },
      { kind: 'show-prompt', login, state: { kind: 'expired' } },
    ],
  };
}

/** The broker answered a code. */
export function onCodeAnswered(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'code-answered' }>,
): Transition {
  const { login, operatorId, outcome, now } = input;
  const { loginId } = login;
  const attempt = login.attemptsUsed;
  if (outcome.kind === 'error') {
    // Whether the broker saw the code is unknown, and the same code must never be sent twice: this
    // login is over. "Send a new code" starts a fresh one.
    const failed = failLogin(view, settings, login, 'submit-code', outcome.error, now, operatorId);
    return {
      view: failed.view,
      effects: [
        { kind: 'clear-deadline' },
        { kind: 'end-pending', loginId, expect: 'exchanging' },
        // A halt stands whoever reports the ending.
        ...failed.effects.filter((effect) => effect.kind === 'save-halt'),
        {
          kind: 'claim-ending',
          loginId,
          then: failed.effects.filter((effect) => effect.kind !== 'save-halt'),
          // The operator whose code it was still hears what became of it.
          otherwise: [{ kind: 'notify', operatorId, notice: failedNotice(settings, outcome.error) }],
        },
      ],
    };
  }
  if (outcome.kind === 'token') {
    const ended = end(view, login, 'succeeded', now, { operatorId });
    return {
      view: ended.view,
      effects: [
        { kind: 'clear-deadline' },
        // The token first: it is what the bots wait for, and what a crash must not lose. The
        // login's bookkeeping and the pending login go after.
        {
          kind: 'publish-token',
          login,
          operatorId,
          token: outcome.token,
          then: [
            { kind: 'log', level: 'info', fields: { loginId, operatorId, attempt }, msg: 'code accepted' },
            ...ended.effects,
          ],
        },
      ],
    };
  }
  const attemptsLeft = settings.maxCodeAttempts - attempt;
  const pastDeadline = now >= login.deadline.getTime();
  const logRejected: LoginEffect = {
    kind: 'log',
    level: 'warn',
    fields: { loginId, operatorId, attempt, attemptsLeft, interimSpent: outcome.interimSpent },
    msg: 'code rejected',
  };
  if (!outcome.interimSpent && attemptsLeft > 0 && !pastDeadline) {
    return { view, effects: [logRejected, { kind: 'reopen', login, operatorId, attemptsLeft }] };
  }
  const closed = rejectedEnding(view, login, operatorId, outcome.interimSpent, attemptsLeft, now);
  return { view: closed.view, effects: [logRejected, ...closed.effects] };
}

/** The login is ready for another code after a refused one (or could not be reopened). */
export function onReopened(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'reopened' }>,
  now: number,
): Transition {
  const { login, operatorId, attemptsLeft } = input;
  if (!input.ok) return rejectedEnding(view, login, operatorId, false, attemptsLeft, now);
  const current = pendingLogin(view)?.loginId === login.loginId;
  return {
    view: current ? { ...view, login: { ...login, kind: 'awaiting-code' } } : view,
    effects: [
      { kind: 'notify', operatorId, notice: { kind: 'code-rejected', attemptsLeft } },
      { kind: 'show-prompt', login, state: { kind: 'open', attemptsLeft } },
    ],
  };
}

/** A refused code that ends the login: out of attempts, the interim spent, or past the deadline. */
function rejectedEnding(
  view: LoginView,
  login: PendingLogin,
  operatorId: string,
  interimSpent: boolean,
  attemptsLeft: number,
  now: number,
): Transition {
  const outcome: LoginOutcome = !interimSpent && attemptsLeft > 0 ? 'expired' : 'rejected';
  const ended = end(view, login, outcome, now, { operatorId });
  const reason = outcome === 'expired' ? 'expired' : 'code-rejected';
  return {
    view: withFailure(ended.view, reason, false, now),
    effects: [
      { kind: 'clear-deadline' },
      { kind: 'end-pending', loginId: login.loginId, expect: 'exchanging' },
      // The operator hears what became of their code, whoever reports the login's end.
      {
        kind: 'notify',
        operatorId,
        notice: {
          kind: 'code-rejected',
          attemptsLeft: 0,
          // What is known of why the login is over: the operator's next step depends on it.
          ended: interimSpent ? 'interim-spent' : attemptsLeft > 0 ? 'deadline-passed' : 'no-attempts-left',
        },
      },
      {
        kind: 'claim-ending',
        loginId: login.loginId,
        then: [
          ...ended.effects,
          { kind: 'emit', event: { type: 'login.failed', reason } },
          {
            kind: 'show-prompt',
            login,
            state:
              outcome === 'expired' ? { kind: 'expired' } : { kind: 'rejected', operatorId, interimSpent },
          },
        ],
        otherwise: [],
      },
    ],
  };
}

/**
 * The token of an accepted code is written (or could not be): the login's bookkeeping follows;
 * once stored, the login's record goes, and everyone hears it.
 */
export function onTokenPublished(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'token-published' }>,
): Transition {
  const { login, operatorId, record, then } = input;
  if (record === undefined || login === undefined || operatorId === undefined) return { view, effects: then };
  const expiresAt = new Date(record.expiresAt);
  return {
    view,
    effects: [
      ...then,
      { kind: 'end-pending', loginId: login.loginId, expect: 'exchanging' },
      { kind: 'show-prompt', login, state: { kind: 'succeeded', operatorId, expiresAt } },
      { kind: 'notify', operatorId, notice: { kind: 'logged-in', account: record.account, expiresAt } },
    ],
  };
}

/** The notice of a code whose broker call failed, for its operator. */
function failedNotice(settings: LoginSettings, error: unknown): OperatorNotice {
  const brokerError =
    error instanceof BrokerError
      ? error
      : new BrokerError({ kind: 'unexpected-answer', step: 'submit-code' });
  return {
    kind: 'login-failed',
    account: settings.account,
    error: brokerError.kind,
    fatal: brokerError.fatal,
  };
}
