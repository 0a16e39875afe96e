import { errorFields } from '../../shared/log.js';
import type { PendingLogin } from '../../domain/login.js';
import type { OperatorNotice, PromptState, PromptView } from '../ports/operators.js';
import type { RelayEvent } from '../ports/token-store.js';
import type { RelayObserver } from '../state.js';
import { emitSafely } from '../token-holder.js';
import { CLAIM_TTL_MS, type LoginContext } from './context.js';

/**
 * Telling people and bots what a login did. Nothing here throws into a flow: a DM that fails, an
 * event that is not published or an observer that throws is logged, and the login goes on.
 */

/** A DM to one operator. */
export async function notify(ctx: LoginContext, operatorId: string, notice: OperatorNotice): Promise<void> {
  await contain(ctx, ctx.operators.notify(operatorId, notice), notice, 'notice not sent');
}

/** A DM to every operator. */
export async function broadcast(ctx: LoginContext, notice: OperatorNotice): Promise<void> {
  await contain(ctx, ctx.operators.broadcast(notice), notice, 'broadcast not sent');
}

/**
 * Tells every operator `notice`, once for the whole account: every relay may decide to, and the
 * one that claims `key` (remembered until `until`, at least as long as an input claim) does. If the
 * store cannot be asked, this relay tells them: twice beats never.
 */
export async function broadcastOnce(
  ctx: LoginContext,
  key: string,
  until: Date,
  notice: OperatorNotice,
): Promise<void> {
  const ttlMs = Math.max(CLAIM_TTL_MS, until.getTime() - ctx.now());
  const mine = await ctx.coordination.claimInput(key, ttlMs).catch(() => true);
  if (mine) await broadcast(ctx, notice);
}

/** An event for the bots. */
export async function emit(ctx: LoginContext, event: RelayEvent): Promise<void> {
  await emitSafely(ctx.events, event, ctx.logger);
}

/** Calls an observer hook (metrics, audit trail); a failing observer never disturbs a login. */
export function observe<K extends keyof RelayObserver>(
  ctx: LoginContext,
  hook: K,
  ...args: Parameters<NonNullable<RelayObserver[K]>>
): void {
  const fn = ctx.observer[hook] as ((...a: typeof args) => void) | undefined;
  try {
    fn?.apply(ctx.observer, args);
  } catch (error) {
    ctx.logger.warn({ hook, err: errorFields(error) }, 'observer failed');
  }
}

/** Awaits a coordination write whose failure must not stop the flow (it is logged). */
export async function quietly(ctx: LoginContext, work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    ctx.logger.error({ err: errorFields(error) }, 'coordination store write failed');
  }
}

/** Shows `login`'s prompt in `state` to every operator: sends it, or edits the messages known. */
export async function showPrompt(
  ctx: LoginContext,
  login: Pick<PendingLogin, 'loginId' | 'reason' | 'deadline'>,
  state: PromptState,
): Promise<void> {
  const { loginId } = login;
  const checking = ctx.checking.get(loginId);
  if (checking !== undefined && state.kind !== 'checking') {
    // The last view wins: a later edit waits for the "checking" one.
    await checking;
    ctx.checking.delete(loginId);
  }
  const view: PromptView = {
    loginId,
    account: ctx.settings.account,
    reason: login.reason,
    deadline: login.deadline,
    state,
  };
  try {
    const known = ctx.view().prompts;
    const refs = await ctx.operators.showPrompt(view, known);
    ctx.dispatch({ type: 'prompts', loginId, refs });
    if (state.kind === 'open' && Object.keys(known).length === 0) {
      // Shared, so another relay or a restart edits these messages instead of sending new ones.
      await quietly(ctx, ctx.coordination.savePrompts(loginId, refs));
      ctx.logger.debug({ loginId, operators: Object.keys(refs).length }, 'prompt messages shared');
    }
  } catch (error) {
    ctx.logger.error({ loginId, state: state.kind, err: errorFields(error) }, 'prompt not shown');
  }
}

/** Shows a code as being checked (the broker is slow); later edits of that prompt wait for it. */
export function showChecking(
  ctx: LoginContext,
  login: Pick<PendingLogin, 'loginId' | 'reason' | 'deadline'>,
  operatorId: string,
): void {
  ctx.checking.set(login.loginId, showPrompt(ctx, login, { kind: 'checking', operatorId }));
}

async function contain(
  ctx: LoginContext,
  work: Promise<void>,
  notice: OperatorNotice,
  msg: string,
): Promise<void> {
  try {
    await work;
  } catch (error) {
    ctx.logger.error({ notice: notice.kind, err: errorFields(error) }, msg);
  }
}
