import type { OperatorNotice } from '../ports/operators.js';
import type { SharedLogin } from '../ports/coordination.js';
import { andThen, end, quietEnding } from './endings.js';
import type { LoginInput, LoginRequestResult, LoginSettings, LoginView, Transition } from './types.js';

/** The prompt's buttons: "Send a new code" and "Cancel" (and `/cancel`, which presses the latter). */

/** "Send a new code": the stored login (if any) was looked up. */
export function onResendFound(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'resend-found' }>,
): Transition {
  const { operatorId, loginId, pending } = input;
  const tell = (notice: OperatorNotice): Transition => ({
    view,
    effects: [{ kind: 'notify', operatorId, notice }],
  });
  if (pending !== undefined && pending.loginId !== loginId) return tell({ kind: 'prompt-inactive' });
  if (pending?.phase.kind === 'exchanging')
    return tell({ kind: 'busy', operatorId: pending.phase.operatorId });
  if (pending === undefined) {
    // Only the last login's prompt may start a new one (after a restart this relay knows none): an
    // old prompt's button must not text anyone while a newer login has done its work.
    const known = view.login;
    const isLast = known.kind === 'none' || (known.kind === 'ended' && known.loginId === loginId);
    if (!isLast) return tell({ kind: 'prompt-inactive' });
  }
  if (view.halted !== undefined) {
    return tell({ kind: 'login-failed', account: settings.account, error: view.halted.error, fatal: true });
  }
  const log = {
    kind: 'log',
    level: 'info',
    fields: { operatorId, previousLoginId: loginId },
    msg: 'new code asked for by an operator',
  } as const;
  // The operator got no SMS (or lost it): a waiting login is replaced by a fresh one.
  return {
    view,
    effects: [
      log,
      pending === undefined
        ? { kind: 'request-login', operatorId }
        : { kind: 'end-for-resend', operatorId, loginId },
    ],
  };
}

/** The login a "Send a new code" replaces was ended (or was gone already). */
export function onResendEnded(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'resend-ended' }>,
  now: number,
): Transition {
  const { operatorId, ended } = input;
  if (ended === undefined) {
    return { view, effects: [{ kind: 'notify', operatorId, notice: { kind: 'prompt-inactive' } }] };
  }
  const closed = end({ ...view, prompts: ended.prompts }, ended, 'cancelled', now, { operatorId });
  return andThen(
    { view: closed.view, effects: [{ kind: 'clear-deadline' }, ...closed.effects] },
    { kind: 'show-prompt', login: ended, state: { kind: 'cancelled', operatorId } },
    { kind: 'request-login', operatorId },
  );
}

/** The login asked for by "Send a new code": the operator hears only when it did not start. */
export function onResendRequested(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'resend-requested' }>,
): Transition {
  const { operatorId, request } = input;
  if (request.result === 'started') return { view, effects: [] };
  return { view, effects: [{ kind: 'notify', operatorId, notice: requestNotice(request) }] };
}

/** A login request's result as the operator who asked hears it. */
export function requestNotice(request: LoginRequestResult): OperatorNotice {
  if (request.result === 'rate-limited') {
    return { kind: 'login-request', result: 'rate-limited', nextAllowedAt: request.nextAllowedAt };
  }
  // An operator's request never waits for an operator; the mapping only satisfies the type.
  const result = request.result === 'needs-operator' ? 'already-running' : request.result;
  return { kind: 'login-request', result };
}

/** "Cancel" (or `/cancel`): the stored login was ended, or found busy or gone. */
export function onCancelEnded(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'cancel-ended' }>,
  now: number,
): Transition {
  const { operatorId, loginId, ended, pending } = input;
  if (ended === undefined) {
    const notice: OperatorNotice =
      pending?.loginId === loginId && pending.phase.kind === 'exchanging'
        ? { kind: 'busy', operatorId: pending.phase.operatorId }
        : { kind: 'prompt-inactive' };
    return {
      view,
      effects: [
        { kind: 'notify', operatorId, notice },
        { kind: 'reply-cancel', cancelled: false },
      ],
    };
  }
  const current = isCurrent(view, ended);
  const closed = quietEnding({ ...view, prompts: ended.prompts }, ended, 'cancelled', now, operatorId);
  return {
    view: closed.view,
    effects: [
      ...(current ? [{ kind: 'clear-deadline' } as const] : []),
      { kind: 'log', level: 'info', fields: { loginId, operatorId }, msg: 'login cancelled by an operator' },
      ...closed.effects,
      { kind: 'reply-cancel', cancelled: true },
    ],
  };
}

function isCurrent(view: LoginView, shared: SharedLogin): boolean {
  const login = view.login;
  return (login.kind === 'awaiting-code' || login.kind === 'exchanging') && login.loginId === shared.loginId;
}
