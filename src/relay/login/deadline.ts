import { atDeadline } from '../../domain/rules.js';
import { errorFields } from '../../shared/log.js';
import type { SharedLogin } from '../ports/coordination.js';
import type { LoginContext } from './context.js';
import { claimEndingReport, reportEnding, STORE_RECHECK_MS, type EndingLogin } from './endings.js';
import { endedLogin } from './state.js';
import { broadcastOnce, emit, showPrompt } from './tell.js';

/**
 * A login's deadline and its reminder. Every relay that knows the login arms both. An ending taken
 * with `endPending` is this relay's alone; one found already gone (the stored login expired by
 * itself) is reported by the one relay that claims it, and the others only bring their view up to
 * date.
 */

/** The deadline of `loginId` passed: end the stored login if it still waits for a code. */
export async function onDeadline(ctx: LoginContext, loginId: string): Promise<void> {
  let endedHere: SharedLogin | undefined;
  let stored: SharedLogin | undefined;
  try {
    endedHere = await ctx.coordination.endPending(loginId, { kind: 'awaiting-code' });
    stored = endedHere === undefined ? await ctx.coordination.loadPending() : undefined;
  } catch (error) {
    return lookAgainLater(ctx, loginId, error);
  }
  const view = ctx.view();
  const nowMs = ctx.now();
  const step = atDeadline({
    loginId,
    endedHere: endedHere !== undefined,
    stored: stored && { loginId: stored.loginId, exchanging: stored.phase.kind === 'exchanging' },
    exchangingHere: view.exchangingHere === loginId,
    login: view.login,
    nowMs,
    exchangeGraceMs: ctx.settings.exchangeGraceMs,
  });
  const login = view.login;
  switch (step) {
    case 'report-ended-here':
      return report(ctx, endedHere!, { operatorId: undefined, lookForToken: false, endedHere });
    case 'look-again-soon':
      return ctx.timers.at('deadline', nowMs + 1_000, () => onDeadline(ctx, loginId));
    case 'wait-for-grace':
      if (login.kind !== 'exchanging') return;
      return ctx.timers.at('deadline', login.deadline.getTime() + ctx.settings.exchangeGraceMs, () =>
        onDeadline(ctx, loginId),
      );
    case 'report-dead-exchange':
      // The relay that claimed a code died mid-exchange: if a token came of it, the login worked.
      if (login.kind !== 'exchanging') return;
      return report(ctx, login, { operatorId: login.operatorId, lookForToken: true, endedHere: undefined });
    case 'report-gone':
      if (login.kind !== 'awaiting-code') return;
      return report(ctx, login, { operatorId: undefined, lookForToken: true, endedHere: undefined });
    case 'leave-to-own-exchange':
    case 'nothing':
      return;
  }
}

/** The deadline's ending, reported by the relay that ended it or claims it. */
async function report(
  ctx: LoginContext,
  login: EndingLogin,
  how: {
    readonly operatorId: string | undefined;
    /** A token obtained since the login started means it worked (the relay checking the code got one). */
    readonly lookForToken: boolean;
    readonly endedHere: SharedLogin | undefined;
  },
): Promise<void> {
  let worked = false;
  if (how.lookForToken) {
    const token = await ctx.tokens.refresh().catch(() => undefined);
    worked = token !== undefined && Date.parse(token.obtainedAt) >= login.startedAt.getTime();
  }
  // Claimed also when this relay ended the stored login itself: the claim is what keeps every
  // other relay from reporting the same ending.
  let reports: boolean;
  try {
    const won = await claimEndingReport(ctx, login.loginId);
    reports = how.endedHere !== undefined || won;
  } catch (error) {
    return lookAgainLater(ctx, login.loginId, error);
  }
  const now = ctx.now();
  const { operatorId } = how;
  const ended = endedLogin(
    login,
    worked ? 'succeeded' : 'expired',
    now,
    operatorId === undefined ? {} : { operatorId },
  );
  const failed = !worked && reports;
  ctx.dispatch({
    type: 'ended',
    login: ended,
    prompts: how.endedHere?.prompts,
    failure: failed ? { reason: 'expired', at: new Date(now).toISOString(), fatal: false } : undefined,
  });
  if (reports) reportEnding(ctx, ended, true);
  if (!failed) return;
  ctx.logger.warn(
    { loginId: login.loginId },
    operatorId === undefined
      ? 'no code arrived in time'
      : 'the relay checking a code stopped; the login is over',
  );
  await emit(ctx, { type: 'login.failed', reason: 'expired' });
  await showPrompt(ctx, login, { kind: 'expired' });
}

/**
 * The store decides which relay reports a login's ending: while it fails, every relay would. The
 * deadline is looked at again shortly instead.
 */
function lookAgainLater(ctx: LoginContext, loginId: string, error: unknown): void {
  ctx.logger.warn(
    { loginId, err: errorFields(error) },
    'deadline not checked: the coordination store failed',
  );
  ctx.timers.at('deadline', ctx.now() + STORE_RECHECK_MS, () => onDeadline(ctx, loginId));
}

/** The reminder is due: only if the login still waits and nobody has tried a code for it. */
export async function onReminder(ctx: LoginContext, loginId: string): Promise<void> {
  const login = ctx.view().login;
  if (login.kind !== 'awaiting-code' || login.loginId !== loginId || login.attemptsUsed !== 0) return;
  // Every relay that follows the login arms it; the one that claims it sends it.
  const notice = { kind: 'code-reminder', account: ctx.settings.account, deadline: login.deadline } as const;
  await broadcastOnce(ctx, `reminder:${loginId}`, login.deadline, notice);
}
