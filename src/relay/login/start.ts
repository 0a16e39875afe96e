import { BrokerError } from '../../domain/broker-errors.js';
import type { LoginBase } from '../../domain/login.js';
import { isAutomatic, reminderAt, startRefusal } from '../../domain/rules.js';
import type { LoginReason } from '../../domain/vocabulary.js';
import { errorFields } from '../../shared/log.js';
import type { Secret } from '../../shared/secret.js';
import { abortableSleep, backoffDelayMs } from '../../shared/sleep.js';
import type { SharedLogin } from '../ports/coordination.js';
import { newDigestKey } from './code.js';
import type { LoginContext } from './context.js';
import { failLogin, reportEnding } from './endings.js';
import { onDeadline, onReminder } from './deadline.js';
import { endedLogin } from './state.js';
import { broadcast, broadcastOnce, emit, observe, quietly, showPrompt } from './tell.js';

/** What a request for a login decided, for its caller. */
export type LoginRequestResult =
  | { readonly result: 'started' | 'already-running' | 'halted' | 'needs-operator' | 'unavailable' }
  /** The SMS guard held it back until `nextAllowedAt`. */
  | { readonly result: 'rate-limited'; readonly nextAllowedAt: Date };

/**
 * Starts a login unless one runs (here or on another relay), logins are halted, the SMS guard
 * holds it back, or (for automatic triggers) the last login ended without a token and waits for a
 * person. Resolves once that is decided; the login goes on in the background: lock, step 1, save,
 * prompt ({@link runLogin}).
 */
export async function requestLogin(ctx: LoginContext, reason: LoginReason): Promise<LoginRequestResult> {
  const view = ctx.view();
  const refusal = startRefusal({
    stopped: ctx.signal.aborted,
    halted: view.halted !== undefined,
    login: view.login,
    reason,
    waitingForOperator: view.waitingForOperator,
  });
  if (refusal === 'halted') {
    ctx.logger.warn({ reason, error: view.halted?.error }, 'login not started: logins are halted');
  } else if (refusal === 'needs-operator') {
    ctx.logger.warn(
      { reason },
      'login not started: the last one ended without a token; waiting for an operator',
    );
  }
  if (refusal !== undefined) return { result: refusal };

  const base: LoginBase = { loginId: ctx.newLoginId(), reason, startedAt: new Date(ctx.now()) };
  ctx.dispatch({ type: 'starting', base });
  const automatic = isAutomatic(reason);
  const check = await ctx.lock.checkStart(ctx.settings.maxLoginsPerHour, automatic);
  if (check.kind === 'go') {
    ctx.dispatch({ type: 'deferral-announced', atMs: undefined });
    ctx.timers.clear('deferral');
    // Until this login ends with a token, automatic triggers wait for a person, on every relay:
    // recorded now, not at its end, so that no relay starts one by itself between the moment this
    // login is over and the moment a relay records how it ended (a stalled store, a dead relay).
    ctx.track(quietly(ctx, ctx.coordination.saveWaitingForPerson(true)));
    ctx.track(runLogin(ctx, base));
    return { result: 'started' };
  }
  ctx.dispatch({ type: 'start-gave-up', loginId: base.loginId });
  switch (check.kind) {
    case 'lock-busy':
      // Another relay is starting a login, or one died holding the lock: look again once the lock
      // has had time to expire (a live holder will have stored its pending login by then).
      lookAgainAfterLock(ctx, reason);
      return { result: 'already-running' };
    case 'pending':
      await ctx.lock.release();
      follow(ctx, check.pending);
      return { result: 'already-running' };
    case 'waiting-for-person':
      ctx.dispatch({ type: 'waiting-for-person' });
      await ctx.lock.release();
      ctx.logger.warn(
        { reason },
        'login not started: the last one ended without a token; waiting for an operator',
      );
      return { result: 'needs-operator' };
    case 'halted':
      ctx.dispatch({ type: 'halt', halt: check.halt });
      await ctx.lock.release();
      return { result: 'halted' };
    case 'rate-limited':
      await ctx.lock.release();
      defer(ctx, reason, check.nextAllowedAt);
      return { result: 'rate-limited', nextAllowedAt: check.nextAllowedAt };
    case 'store-failed':
      ctx.logger.error(
        { reason, err: errorFields(check.error) },
        'login not started: the coordination store failed',
      );
      if (check.held) await ctx.lock.release();
      return { result: 'unavailable' };
  }
}

/** A login that passed its checks, holding the lock: step 1, then the pending login, then the prompt. */
async function runLogin(ctx: LoginContext, base: LoginBase): Promise<void> {
  const { loginId } = base;
  ctx.logger.info({ loginId, reason: base.reason }, 'login started');
  observe(ctx, 'loginStarted', base);
  await emit(ctx, { type: 'login.started', reason: base.reason });

  const lockLost = ctx.lock.lost();
  const step1 = await stepOne(ctx, base, lockLost);
  const now = ctx.now();
  if (step1.kind === 'error') {
    await ctx.lock.release();
    const { error } = step1;
    const fatal = error instanceof BrokerError && error.fatal;
    // A shutdown is no failure: the next relay (or this one, restarted) starts again by itself.
    if (ctx.signal.aborted && !fatal) return abandon(ctx, base, 'stopped');
    // Another relay may be calling step 1 now: this one's failure is not the account's.
    if (lockLost.aborted && !fatal) return abandon(ctx, base, 'lock-lost');
    return failLogin(ctx, { ...base, attemptsUsed: 0, deadline: new Date(now) }, 'start-login', error);
  }
  if (step1.kind === 'token') {
    // The account has no second factor: nobody was asked, nobody needs telling.
    await ctx.lock.release();
    const ended = endedLogin({ ...base, attemptsUsed: 0 }, 'succeeded', now);
    ctx.dispatch({ type: 'ended', login: ended });
    await ctx.tokens.publish(step1.token).catch((error: unknown) => {
      ctx.logger.error({ err: errorFields(error) }, 'token not published');
    });
    return reportEnding(ctx, ended, false);
  }

  const shared: SharedLogin = {
    ...base,
    interim: step1.interim,
    deadline: new Date(now + ctx.settings.codeTimeoutMs),
    attemptsUsed: 0,
    promptedAt: new Date(step1.sentAtMs),
    codeKey: newDigestKey(),
    triedCodes: [],
    phase: { kind: 'awaiting-code' },
    prompts: {},
    fingerprint: ctx.settings.fingerprint,
  };
  // Saved only while this relay still holds the lock and no other login waits (one atomic step):
  // a relay paused past its lock's TTL must not replace the login another relay started meanwhile.
  const saved = await ctx.coordination.savePending(shared, ctx.relayId).catch((error: unknown) => {
    ctx.logger.error({ loginId, err: errorFields(error) }, 'pending login not shared');
    return 'store-unavailable' as const;
  });
  // The pending login now keeps other relays from starting one: the lock has done its work.
  await ctx.lock.release();
  if (saved !== 'saved') {
    // The SMS is out, but a code for a login no relay can find would be refused by every relay:
    // say so now rather than let the operators type it in vain.
    return abandon(ctx, base, saved === 'other-pending' ? 'another-login' : saved);
  }
  ctx.dispatch({ type: 'prompted', login: shared });
  armTimers(ctx, shared);
  ctx.logger.info({ loginId, deadline: shared.deadline.toISOString() }, 'code requested from operators');
  await showPrompt(ctx, shared, { kind: 'open', attemptsLeft: ctx.settings.maxCodeAttempts });
}

/** Step 1's outcome, retries included. `sentAtMs`: when the call that worked was sent. */
type StepOneOutcome =
  | { readonly kind: 'token'; readonly token: Secret }
  | { readonly kind: 'code-required'; readonly interim: Secret; readonly sentAtMs: number }
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Step 1, tried again after network errors, time-outs, 5xx and 429 (its `Retry-After` honoured),
 * with exponential backoff and jitter, a bounded number of times. Each try counts against the SMS
 * guard: a call that failed on the way back may still have texted someone. Stops when the lock is
 * lost or the relay stops.
 */
async function stepOne(ctx: LoginContext, base: LoginBase, lockLost: AbortSignal): Promise<StepOneOutcome> {
  const signal = AbortSignal.any([lockLost, ctx.signal]);
  const retry = ctx.settings.startRetry;
  for (let attempt = 1; ; attempt += 1) {
    try {
      if (!ctx.lock.stillHeld() || signal.aborted) throw signal.reason;
      const sentAtMs = ctx.now();
      const result = await ctx.broker.startLogin(signal);
      return result.kind === 'token' ? result : { ...result, sentAtMs };
    } catch (error) {
      const retryable =
        error instanceof BrokerError && error.transient && attempt < retry.attempts && !signal.aborted;
      const waitMs = retryable ? (error.retryAfterMs ?? backoffDelayMs(attempt, retry, ctx.random)) : 0;
      if (!retryable || waitMs > retry.maxDelayMs) return { kind: 'error', error };
      ctx.logger.warn(
        { loginId: base.loginId, attempt, kind: error.kind, retryInMs: waitMs },
        'step 1 failed; trying again',
      );
      await abortableSleep(waitMs, signal);
      const spend = signal.aborted
        ? { ok: false }
        : await ctx.coordination.spendLogin(ctx.settings.maxLoginsPerHour).catch(() => ({ ok: false }));
      if (!spend.ok) return { kind: 'error', error };
    }
  }
}

/**
 * Ends a login whose step 1 ran but which could not be recorded for the other relays: its lock was
 * lost, another login was pending, the store failed, or the relay is stopping. An SMS may have gone out for it, so the
 * operators hear that its code will not be taken; with `another-login`, this relay follows that one.
 */
async function abandon(
  ctx: LoginContext,
  base: LoginBase,
  why: 'another-login' | 'lock-lost' | 'store-unavailable' | 'stopped',
): Promise<void> {
  const now = ctx.now();
  const ended = endedLogin({ ...base, attemptsUsed: 0 }, 'abandoned', now);
  // Nothing waits for a person because of this one when another login goes on (whose start set
  // "wait for a person": left as it is), or when the relay stops: it held the lock, so no other
  // login started, and a restart is no failure.
  const another = why === 'another-login';
  const waiting = another ? undefined : why !== 'stopped';
  ctx.dispatch({
    type: 'ended',
    login: ended,
    failure: { reason: `abandoned: ${why}`, at: new Date(now).toISOString(), fatal: false },
    waitingForOperator: waiting === true,
  });
  const level = why === 'stopped' ? 'warn' : 'error';
  ctx.logger[level]({ loginId: base.loginId, why }, 'login abandoned: it could not be recorded');
  reportEnding(ctx, ended, false, waiting);
  await emit(ctx, { type: 'login.failed', reason: 'abandoned' });
  await broadcast(ctx, { kind: 'login-abandoned', account: ctx.settings.account, why });
  if (another) {
    const pending = await ctx.coordination.loadPending().catch(() => undefined);
    if (pending !== undefined) follow(ctx, pending);
  }
}

/** Follows another relay's pending login (or this relay's, after a restart): its deadline, its prompts. */
export function follow(ctx: LoginContext, shared: SharedLogin): void {
  const login = ctx.view().login;
  if ((login.kind === 'awaiting-code' || login.kind === 'exchanging') && login.loginId === shared.loginId)
    return;
  ctx.dispatch({ type: 'followed', login: shared });
  armTimers(ctx, shared);
  ctx.logger.info(
    { loginId: shared.loginId, phase: shared.phase.kind, deadline: shared.deadline.toISOString() },
    'pending login taken over',
  );
}

/** The deadline and the reminder of a pending login, on every relay that knows it. */
function armTimers(ctx: LoginContext, shared: SharedLogin): void {
  const { loginId } = shared;
  ctx.timers.at('deadline', shared.deadline, () => onDeadline(ctx, loginId));
  ctx.timers.at('reminder', reminderAt(shared), () => onReminder(ctx, loginId));
}

/** Another relay held the lock: look again once it has had time to expire. */
function lookAgainAfterLock(ctx: LoginContext, reason: LoginReason): void {
  if (ctx.timers.has('lock-retry') || ctx.signal.aborted) return;
  ctx.timers.at('lock-retry', ctx.now() + ctx.settings.lockTtlMs + 1_000, async () => {
    const pending = await ctx.coordination.loadPending();
    if (pending !== undefined) follow(ctx, pending);
    else if (ctx.tokens.current() === undefined || reason === 'operator-request')
      await requestLogin(ctx, reason);
  });
}

/**
 * The SMS guard held a login back. Operators hear when the next may start (once per deferral, for
 * the whole account: every replica defers the same login); an automatic trigger is tried again then
 * by itself (once), an operator's request waits for the operator.
 */
function defer(ctx: LoginContext, reason: LoginReason, nextAllowedAt: Date): void {
  const retrying = reason !== 'operator-request';
  ctx.logger.warn(
    { reason, nextAllowedAt: nextAllowedAt.toISOString(), retrying },
    'login held back by the SMS guard',
  );
  const atMs = nextAllowedAt.getTime();
  if (!retrying || ctx.view().announcedDeferralMs === atMs) return;
  ctx.dispatch({ type: 'deferral-announced', atMs });
  if (!ctx.timers.has('deferral')) ctx.timers.at('deferral', atMs, () => requestLogin(ctx, reason));
  const notice = {
    kind: 'login-deferred',
    account: ctx.settings.account,
    reason,
    nextAllowedAt,
    retrying,
  } as const;
  ctx.track(broadcastOnce(ctx, `deferral:${atMs}`, nextAllowedAt, notice));
}
