import { BrokerError, type BrokerStep } from '../../domain/broker-errors.js';
import type { EndedLogin, LoginBase } from '../../domain/login.js';
import { abortableSleep } from '../../shared/sleep.js';
import { errorFields } from '../../shared/log.js';
import { CLAIM_TTL_MS, type LoginContext } from './context.js';
import { endedLogin } from './state.js';
import { emit, notify, observe, quietly, showPrompt } from './tell.js';

/**
 * How logins end, for every flow: reporting an ending once across relays, and the one failed-login
 * ending (record the failure, halt when only a person can fix it, tell the bots and the operators).
 */

/** When the store failed while claiming an ending, how long until it is asked again. */
export const STORE_RECHECK_MS = 5_000;

/** A login that had a deadline, as the endings need it. */
export type EndingLogin = LoginBase & { readonly attemptsUsed: number; readonly deadline: Date };

/**
 * Claims the report of login `loginId`'s ending: the first relay to claim it reports it (to the
 * observers, and to the operators where the flow does).
 */
export function claimEndingReport(ctx: LoginContext, loginId: string): Promise<boolean> {
  return ctx.coordination.claimInput(`deadline:${loginId}`, CLAIM_TTL_MS);
}

/**
 * Tells the observers (metrics, audit trail) that `login` ended, and every relay (also one started
 * later) whether the account now waits for a person. `claimed`: this relay already holds the
 * ending's report; otherwise it claims it in the background (so the token write that may follow is
 * not delayed), and a relay that followed the login, or wakes to its own answer after a pause,
 * does not report it again. While the store cannot be asked, it asks again; a relay that stops
 * meanwhile reports it (twice beats none).
 * `waiting`: what "wait for a person" becomes (by default, whether it ended without a token);
 * `undefined` leaves it as it is (another login goes on).
 */
export function reportEnding(
  ctx: LoginContext,
  login: EndedLogin,
  claimed: boolean,
  waiting: boolean | undefined = login.outcome !== 'succeeded',
): void {
  if (claimed) observe(ctx, 'loginEnded', login);
  else {
    // While the store cannot be asked, asked again (claimEnding): another relay may report it
    // meanwhile, and then this one must not.
    ctx.track(claimEnding(ctx, login.loginId).then((mine) => mine && observe(ctx, 'loginEnded', login)));
  }
  if (waiting !== undefined) ctx.track(quietly(ctx, ctx.coordination.saveWaitingForPerson(waiting)));
}

/**
 * Ends this relay's exchange of `loginId` (its code has had the broker's answer): the deadline is
 * no longer this relay's to watch, and the stored login goes (a failure is logged).
 */
export async function endOwnExchange(ctx: LoginContext, loginId: string): Promise<void> {
  ctx.timers.clear('deadline');
  await quietly(ctx, ctx.coordination.endPending(loginId, { kind: 'exchanging', relayId: ctx.relayId }));
}

/**
 * Whether this relay reports the ending of `loginId` (the first relay to claim it does). While the
 * store cannot be asked, it asks again: another relay may report the ending meanwhile. Stopping:
 * it reports (an ending reported twice beats none).
 */
export async function claimEnding(ctx: LoginContext, loginId: string): Promise<boolean> {
  for (;;) {
    try {
      const won = await claimEndingReport(ctx, loginId);
      if (!won) ctx.logger.info({ loginId }, "another relay reported this login's end");
      return won;
    } catch (error) {
      if (ctx.signal.aborted) return true;
      ctx.logger.warn({ loginId, err: errorFields(error) }, 'ending not claimed yet');
      await abortableSleep(STORE_RECHECK_MS, ctx.signal);
    }
  }
}

/** A broker error as the login records it; anything else is an unexpected answer of `step`. */
export function asBrokerError(error: unknown, step: BrokerStep): BrokerError {
  return error instanceof BrokerError
    ? error
    : new BrokerError({ kind: 'unexpected-answer', step, cause: error });
}

/**
 * The failed-login ending, the only one: a broker error at step 1 or 2. A fatal error (credentials,
 * app key, password, PIN) halts every login until a person acts, on every relay and across
 * restarts, with a keyed hash of the credentials so that `/login` can tell whether they changed.
 * After step 2 (`operatorId` set) the relays race to report it: the loser still tells the operator
 * whose code it was.
 */
export async function failLogin(
  ctx: LoginContext,
  login: EndingLogin,
  step: BrokerStep,
  error: unknown,
  operatorId?: string,
): Promise<void> {
  const brokerError = asBrokerError(error, step);
  const { fatal, kind } = brokerError;
  const now = ctx.now();
  const ended = endedLogin(login, 'failed', now, {
    error: kind,
    ...(operatorId === undefined ? {} : { operatorId }),
  });
  const halt = fatal
    ? { error: kind, at: new Date(now), credentials: ctx.settings.credentialsDigest() }
    : undefined;
  ctx.dispatch({
    type: 'ended',
    login: ended,
    failure: { reason: kind, at: new Date(now).toISOString(), fatal },
    halt,
  });
  if (operatorId !== undefined) await endOwnExchange(ctx, login.loginId);
  // A halt stands whoever reports the ending.
  if (halt !== undefined) await quietly(ctx, ctx.coordination.saveHalt(halt));
  if (operatorId !== undefined && !(await claimEnding(ctx, login.loginId))) {
    const notice = { kind: 'login-failed', account: ctx.settings.account, error: kind, fatal } as const;
    return notify(ctx, operatorId, notice);
  }
  reportEnding(ctx, ended, operatorId !== undefined);
  ctx.logger.error(
    { loginId: login.loginId, err: errorFields(brokerError), fatal },
    fatal ? 'login failed; logins halted until an operator acts' : 'login failed',
  );
  await emit(ctx, { type: 'login.failed', reason: kind });
  await showPrompt(ctx, login, {
    kind: 'failed',
    error: kind,
    fatal,
    ...(operatorId === undefined ? {} : { operatorId }),
  });
}
