import { resendStep } from '../../domain/rules.js';
import { errorFields } from '../../shared/log.js';
import type { OperatorNotice } from '../ports/operators.js';
import type { LoginContext } from './context.js';
import { reportEnding } from './endings.js';
import { requestLogin, type LoginRequestResult } from './start.js';
import { endedLogin, isCurrent } from './state.js';
import { emit, notify, showPrompt } from './tell.js';

/** The prompt's buttons: "Send a new code" and "Cancel" (and `/cancel`, which presses the latter). */

/** "Send a new code" on the prompt of `loginId`: the operator got no SMS (or lost it). */
export async function resend(ctx: LoginContext, operatorId: string, loginId: string): Promise<void> {
  const { coordination } = ctx;
  let pending;
  try {
    pending = await coordination.loadPending();
  } catch (error) {
    return notTaken(ctx, operatorId, error);
  }
  const view = ctx.view();
  const step = resendStep({
    loginId,
    stored: pending && {
      loginId: pending.loginId,
      busyWith: pending.phase.kind === 'exchanging' ? pending.phase.operatorId : undefined,
    },
    login: view.login,
    halted: view.halted !== undefined,
  });
  switch (step.kind) {
    case 'prompt-inactive':
    case 'busy':
      return notify(ctx, operatorId, step);
    case 'halted': {
      const error = view.halted!.error;
      return notify(ctx, operatorId, {
        kind: 'login-failed',
        account: ctx.settings.account,
        error,
        fatal: true,
      });
    }
    case 'start':
    case 'replace':
  }
  ctx.logger.info({ operatorId, previousLoginId: loginId }, 'new code asked for by an operator');
  if (step.kind === 'replace') {
    // A waiting login is replaced by a fresh one.
    let ended;
    try {
      ended = await coordination.endPending(loginId, { kind: 'awaiting-code' });
    } catch (error) {
      return notTaken(ctx, operatorId, error);
    }
    if (ended === undefined) return notify(ctx, operatorId, { kind: 'prompt-inactive' });
    const closed = endedLogin(ended, 'cancelled', ctx.now(), { operatorId });
    ctx.dispatch({ type: 'ended', login: closed, prompts: ended.prompts });
    ctx.timers.clear('deadline');
    reportEnding(ctx, closed, false);
    await showPrompt(ctx, ended, { kind: 'cancelled', operatorId });
  }
  const request = await requestLogin(ctx, 'operator-request');
  // The operator hears only when it did not start: the new prompt says the rest.
  if (request.result !== 'started') await notify(ctx, operatorId, requestNotice(request));
}

/** "Cancel" (or `/cancel`) on the prompt of `loginId`; resolves to whether it cancelled. */
export async function cancel(ctx: LoginContext, operatorId: string, loginId: string): Promise<boolean> {
  const { coordination } = ctx;
  let ended;
  let pending;
  try {
    ended = await coordination.endPending(loginId, { kind: 'awaiting-code' });
    pending = ended === undefined ? await coordination.loadPending() : undefined;
  } catch (error) {
    await notTaken(ctx, operatorId, error);
    return false;
  }
  if (ended === undefined) {
    const phase = pending?.loginId === loginId ? pending.phase : undefined;
    const notice: OperatorNotice =
      phase?.kind === 'exchanging'
        ? { kind: 'busy', operatorId: phase.operatorId }
        : { kind: 'prompt-inactive' };
    await notify(ctx, operatorId, notice);
    return false;
  }
  const current = isCurrent(ctx.view(), ended.loginId);
  const now = ctx.now();
  const closed = endedLogin(ended, 'cancelled', now, { operatorId });
  const failure = { reason: 'cancelled', at: new Date(now).toISOString(), fatal: false };
  ctx.dispatch({ type: 'ended', login: closed, prompts: ended.prompts, failure });
  if (current) ctx.timers.clear('deadline');
  ctx.logger.info({ loginId, operatorId }, 'login cancelled by an operator');
  reportEnding(ctx, closed, false);
  await emit(ctx, { type: 'login.failed', reason: 'cancelled' });
  await showPrompt(ctx, ended, { kind: 'cancelled', operatorId });
  return true;
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

/** The store failed while taking a button: the operator tries again (nothing was sent). */
async function notTaken(ctx: LoginContext, operatorId: string, error: unknown): Promise<void> {
  ctx.logger.error({ operatorId, err: errorFields(error) }, 'input not taken: the coordination store failed');
  await notify(ctx, operatorId, { kind: 'input-not-taken' });
}
