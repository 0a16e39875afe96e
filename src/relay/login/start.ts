import { BrokerError } from '../../domain/broker-errors.js';
import type { SharedLogin } from '../ports/coordination.js';
import { andThen, end, failLogin, withFailure } from './endings.js';
import type { LoginEffect, LoginInput, LoginSettings, LoginView, Transition } from './types.js';
import type { LoginReason } from '../../domain/vocabulary.js';
import type { LoginBase } from '../../domain/login.js';

/**
 * Starting a login: the trigger, the checks before step 1 (lock, pending login, halt, SMS guard),
 * step 1, and recording the pending login for every relay.
 */

/**
 * Triggers that start a login without a person asking. After a login ended without a token
 * (unanswered, cancelled, refused, failed), these wait for an operator: a relay that texted nobody
 * awake does not text again on its own, so it never loops logins towards an account lock.
 */
const AUTOMATIC_REASONS: ReadonlySet<LoginReason> = new Set<LoginReason>([
  'renewal',
  'token-invalid',
  'bot-request',
]);

/** Whether a login is under way in this relay's view. */
export function loginRunning(view: LoginView): boolean {
  const kind = view.login.kind;
  return kind === 'starting' || kind === 'awaiting-code' || kind === 'exchanging';
}

/** A trigger: start a login unless one runs, logins are halted, or an automatic one must wait. */
export function onRequest(view: LoginView, input: Extract<LoginInput, { kind: 'request' }>): Transition {
  const { reason } = input;
  const reply = (result: 'halted' | 'already-running' | 'needs-operator' | 'unavailable'): Transition => ({
    view,
    effects: [{ kind: 'reply', result: { result } }],
  });
  if (input.stopped) return reply('unavailable');
  if (view.halted !== undefined) {
    return andThen(reply('halted'), {
      kind: 'log',
      level: 'warn',
      fields: { reason, error: view.halted.error },
      msg: 'login not started: logins are halted',
    });
  }
  if (loginRunning(view)) return reply('already-running');
  if (AUTOMATIC_REASONS.has(reason) && view.waitingForOperator) {
    return andThen(reply('needs-operator'), {
      kind: 'log',
      level: 'warn',
      fields: { reason },
      msg: 'login not started: the last one ended without a token; waiting for an operator',
    });
  }
  // Claimed in this relay at once: a second trigger now finds it running.
  const base: LoginBase = { loginId: input.loginId, reason, startedAt: new Date(input.now) };
  return {
    view: { ...view, login: { ...base, kind: 'starting' }, beforeStart: view.login },
    effects: [{ kind: 'check-start', base, automatic: AUTOMATIC_REASONS.has(reason) }],
  };
}

/** What the checks before step 1 found. */
export function onStartChecked(
  view: LoginView,
  input: Extract<LoginInput, { kind: 'start-checked' }>,
): Transition {
  const { base, check } = input;
  // A start that gives up restores the view it replaced (unless something moved it on meanwhile).
  const current = view.login.kind === 'starting' && view.login.loginId === base.loginId;
  const restored: LoginView = current ? { ...view, login: view.beforeStart ?? { kind: 'none' } } : view;
  switch (check.kind) {
    case 'go':
      return {
        view: { ...view, announcedDeferralMs: undefined },
        effects: [
          { kind: 'clear-deferral' },
          // A person (or the schedule) asked for this one: the account no longer waits for one.
          ...(AUTOMATIC_REASONS.has(base.reason) ? [] : [{ kind: 'save-waiting', waiting: false } as const]),
          { kind: 'reply', result: { result: 'started' } },
          {
            kind: 'log',
            level: 'info',
            fields: { loginId: base.loginId, reason: base.reason },
            msg: 'login started',
          },
          { kind: 'observe-started', login: base },
          { kind: 'emit', event: { type: 'login.started', reason: base.reason } },
          { kind: 'step-one', base },
        ],
      };
    case 'lock-busy':
      // Another relay is starting a login, or one died holding the lock: look again once the lock
      // has had time to expire (a live holder will have stored its pending login by then).
      return {
        view: restored,
        effects: [
          { kind: 'look-again-after-lock', reason: base.reason },
          { kind: 'reply', result: { result: 'already-running' } },
        ],
      };
    case 'pending': {
      const adopted = adopt(restored, check.pending);
      return {
        view: adopted.view,
        effects: [
          { kind: 'release-lock' },
          ...adopted.effects,
          { kind: 'reply', result: { result: 'already-running' } },
        ],
      };
    }
    case 'waiting-for-person':
      return {
        view: { ...restored, waitingForOperator: true },
        effects: [
          { kind: 'release-lock' },
          {
            kind: 'log',
            level: 'warn',
            fields: { reason: base.reason },
            msg: 'login not started: the last one ended without a token; waiting for an operator',
          },
          { kind: 'reply', result: { result: 'needs-operator' } },
        ],
      };
    case 'halted':
      return {
        view: { ...restored, halted: check.halt },
        effects: [{ kind: 'release-lock' }, { kind: 'reply', result: { result: 'halted' } }],
      };
    case 'rate-limited':
      return deferLogin(restored, base.reason, check.nextAllowedAt);
    case 'store-failed':
      return {
        view: restored,
        effects: [
          {
            kind: 'log',
            level: 'error',
            fields: { reason: base.reason, err: check.error },
            msg: 'login not started: the coordination store failed',
          },
          ...(check.held ? [{ kind: 'release-lock' } as const] : []),
          { kind: 'reply', result: { result: 'unavailable' } },
        ],
      };
  }
}

/**
 * The SMS guard held a login back. Operators hear when the next may start (once per deferral); an
 * automatic trigger is tried again then by itself (once), an operator's request waits for the
 * operator.
 */
function deferLogin(view: LoginView, reason: LoginReason, nextAllowedAt: Date): Transition {
  const retrying = reason !== 'operator-request';
  const announce = retrying && view.announcedDeferralMs !== nextAllowedAt.getTime();
  const effects: LoginEffect[] = [
    { kind: 'release-lock' },
    { kind: 'reply', result: { result: 'rate-limited', nextAllowedAt } },
    {
      kind: 'log',
      level: 'warn',
      fields: { reason, nextAllowedAt: nextAllowedAt.toISOString(), retrying },
      msg: 'login held back by the SMS guard',
    },
  ];
  if (announce) effects.push({ kind: 'defer-login', reason, nextAllowedAt, announce });
  return {
    view: announce ? { ...view, announcedDeferralMs: nextAllowedAt.getTime() } : view,
    effects,
  };
}

/** Step 1 answered (after its retries). */
export function onStepOneDone(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'step-one-done' }>,
): Transition {
  const { base, outcome, now } = input;
  if (outcome.kind === 'error') {
    if (outcome.lockLost && !(outcome.error instanceof BrokerError && outcome.error.fatal)) {
      // Another relay may be calling step 1 now: this one's failure is not the account's.
      const abandoned = abandon(view, settings, base, 'lock-lost', now);
      return { view: abandoned.view, effects: [{ kind: 'release-lock' }, ...abandoned.effects] };
    }
    const failed = failLogin(
      view,
      settings,
      { ...base, attemptsUsed: 0, deadline: new Date(now) },
      'start-login',
      outcome.error,
      now,
    );
    return { view: failed.view, effects: [{ kind: 'release-lock' }, ...failed.effects] };
  }
  if (outcome.kind === 'token') {
    // The account has no second factor: nobody was asked, nobody needs telling.
    const ended = end(view, { ...base, attemptsUsed: 0 }, 'succeeded', now);
    return {
      view: ended.view,
      effects: [
        { kind: 'release-lock' },
        {
          kind: 'publish-token',
          login: undefined,
          operatorId: undefined,
          token: outcome.token,
          then: ended.effects,
        },
      ],
    };
  }
  const shared: SharedLogin = {
    ...base,
    interim: outcome.interim,
    deadline: new Date(now + settings.codeTimeoutMs),
    attemptsUsed: 0,
    promptedAt: new Date(outcome.sentAtMs),
    codeKey: input.codeKey,
    triedCodes: [],
    phase: { kind: 'awaiting-code' },
    prompts: {},
  };
  // Saved only while this relay still holds the lock and no other login waits (one atomic step):
  // a relay paused past its lock's TTL must not replace the login another relay started meanwhile.
  return { view, effects: [{ kind: 'save-pending', shared }] };
}

/** The pending login was recorded for every relay (or could not be). */
export function onPendingSaved(
  view: LoginView,
  settings: LoginSettings,
  input: Extract<LoginInput, { kind: 'pending-saved' }>,
  now: number,
): Transition {
  const { shared, result } = input;
  // The pending login now keeps other relays from starting one: the lock has done its work.
  if (result !== 'saved') {
    // The SMS is out, but a code for a login no relay can find would be refused by every relay:
    // say so now rather than let the operators type it in vain.
    const abandoned = abandon(
      view,
      settings,
      shared,
      result === 'other-pending' ? 'another-login' : result,
      now,
    );
    return { view: abandoned.view, effects: [{ kind: 'release-lock' }, ...abandoned.effects] };
  }
  const { loginId, deadline } = shared;
  return {
    view: {
      ...view,
      login: { ...toPending(shared), kind: 'awaiting-code' },
      prompts: {},
      startedHere: loginId,
    },
    effects: [
      { kind: 'release-lock' },
      { kind: 'arm-deadline', loginId, at: deadline },
      { kind: 'arm-reminder', loginId, at: reminderAt(shared) },
      {
        kind: 'log',
        level: 'info',
        fields: { loginId, deadline: deadline.toISOString() },
        msg: 'code requested from operators',
      },
      { kind: 'show-prompt', login: shared, state: { kind: 'open', attemptsLeft: settings.maxCodeAttempts } },
    ],
  };
}

/**
 * Ends a login whose step 1 ran but which could not be recorded for the other relays: its lock was
 * lost, another login was pending, or the store failed. An SMS may have gone out for it, so the
 * operators hear that its code will not be taken; with `another-login`, this relay follows that one.
 */
function abandon(
  view: LoginView,
  settings: LoginSettings,
  base: LoginBase,
  why: 'another-login' | 'lock-lost' | 'store-unavailable',
  now: number,
): Transition {
  const ended = end(view, { ...base, attemptsUsed: 0 }, 'abandoned', now);
  const next = withFailure(ended.view, `abandoned: ${why}`, false, now);
  return {
    // That other login goes on: nothing waits for a person because of this one.
    view: why === 'another-login' ? { ...next, waitingForOperator: false } : next,
    effects: [
      {
        kind: 'log',
        level: 'error',
        fields: { loginId: base.loginId, why },
        msg: 'login abandoned: it could not be recorded',
      },
      // That other login goes on: the account does not wait for a person because of this one.
      ...ended.effects.filter((effect) => why !== 'another-login' || effect.kind !== 'save-waiting'),
      { kind: 'emit', event: { type: 'login.failed', reason: 'abandoned' } },
      { kind: 'broadcast', notice: { kind: 'login-abandoned', account: settings.account, why } },
      ...(why === 'another-login' ? [{ kind: 'find-pending', purpose: 'adopt' } as const] : []),
    ],
  };
}

/** Follows another relay's pending login (or this relay's, after a restart): its deadline, its prompts. */
export function adopt(view: LoginView, shared: SharedLogin): { view: LoginView; effects: LoginEffect[] } {
  const login = view.login;
  if ((login.kind === 'awaiting-code' || login.kind === 'exchanging') && login.loginId === shared.loginId) {
    return { view, effects: [] };
  }
  const pending = toPending(shared);
  return {
    view: {
      ...view,
      login:
        shared.phase.kind === 'exchanging'
          ? { ...pending, kind: 'exchanging', operatorId: shared.phase.operatorId }
          : { ...pending, kind: 'awaiting-code' },
      prompts: shared.prompts,
    },
    effects: [
      { kind: 'arm-deadline', loginId: shared.loginId, at: shared.deadline },
      { kind: 'arm-reminder', loginId: shared.loginId, at: reminderAt(shared) },
      {
        kind: 'log',
        level: 'info',
        fields: {
          loginId: shared.loginId,
          phase: shared.phase.kind,
          deadline: shared.deadline.toISOString(),
        },
        msg: 'pending login taken over',
      },
    ],
  };
}

/** This relay's view of a shared pending login. */
export function toPending(shared: SharedLogin) {
  return {
    loginId: shared.loginId,
    reason: shared.reason,
    startedAt: shared.startedAt,
    interim: shared.interim,
    deadline: shared.deadline,
    attemptsUsed: shared.attemptsUsed,
    promptedAt: shared.promptedAt,
    codeKey: shared.codeKey,
  };
}

/**
 * When nobody having answered is worth one more DM: halfway between the SMS and the deadline (half
 * of `CODE_TIMEOUT`). A phone shows a new message; an edited prompt it does not.
 */
function reminderAt(shared: Pick<SharedLogin, 'promptedAt' | 'deadline'>): Date {
  return new Date((shared.promptedAt.getTime() + shared.deadline.getTime()) / 2);
}

/** The reminder is due: only if the login still waits and nobody has tried a code for it. */
export function onReminder(view: LoginView, input: Extract<LoginInput, { kind: 'reminder' }>): Transition {
  const login = view.login;
  const due = login.kind === 'awaiting-code' && login.loginId === input.loginId && login.attemptsUsed === 0;
  return { view, effects: due ? [{ kind: 'remind', loginId: login.loginId, deadline: login.deadline }] : [] };
}
