import type { EndedLogin, FailureSummary, LoginBase, LoginState, PendingLogin } from '../../domain/login.js';
import type { LoginHalt, PromptRefs, SharedLogin } from '../ports/coordination.js';

/**
 * One relay's view of its account's login, and the one reducer that changes it. The coordination
 * store (shared by every relay) is the truth; this view follows it as the flows learn things.
 */
export interface LoginView {
  readonly login: LoginState;
  /** The login before the one `starting` now: restored when that start gives up. */
  readonly beforeStart: LoginState | undefined;
  /** Where the current (or last) login's prompt messages are. */
  readonly prompts: PromptRefs;
  /** The login this relay started (and so sent the prompts of), if it is the current one. */
  readonly startedHere: string | undefined;
  readonly halted: LoginHalt | undefined;
  readonly lastFailure: FailureSummary | undefined;
  /** Set when the last login ended without a token: automatic triggers then wait for a person. */
  readonly waitingForOperator: boolean;
  /** The SMS-guard deferral already announced (its `nextAllowedAt`, epoch ms). */
  readonly announcedDeferralMs: number | undefined;
  /** The login whose code this relay has claimed and not had answered yet: that answer ends it. */
  readonly exchangingHere: string | undefined;
}

/** A view with no login yet. */
export const INITIAL_VIEW: LoginView = {
  login: { kind: 'none' },
  beforeStart: undefined,
  prompts: {},
  startedHere: undefined,
  halted: undefined,
  lastFailure: undefined,
  waitingForOperator: false,
  announcedDeferralMs: undefined,
  exchangingHere: undefined,
};

/** What a flow learned; {@link apply} turns it into the next view. */
export type LoginEvent =
  /** A trigger passed this relay's own checks: a second trigger now finds a login running. */
  | { readonly type: 'starting'; readonly base: LoginBase }
  /** That start gave up before step 1 (lock busy, halted, SMS guard…): the view before it is back. */
  | { readonly type: 'start-gave-up'; readonly loginId: string }
  /** The halt as the store has it now (`undefined`: lifted). */
  | { readonly type: 'halt'; readonly halt: LoginHalt | undefined }
  | { readonly type: 'waiting-for-person' }
  | { readonly type: 'deferral-announced'; readonly atMs: number | undefined }
  /** This relay's step 1 is recorded for every relay: its prompt goes out now. */
  | { readonly type: 'prompted'; readonly login: SharedLogin }
  /** Another relay's pending login (or this relay's, after a restart): followed from here. */
  | { readonly type: 'followed'; readonly login: SharedLogin }
  /** This relay claimed `operatorId`'s code for the broker. */
  | { readonly type: 'claimed'; readonly login: SharedLogin; readonly operatorId: string }
  /** This relay's code for `loginId` has its answer (or was never sent). */
  | { readonly type: 'exchange-over'; readonly loginId: string }
  /** A refused code left the login open for another. */
  | { readonly type: 'reopened'; readonly login: PendingLogin }
  /** Where the prompt messages of `loginId` are now. */
  | { readonly type: 'prompts'; readonly loginId: string; readonly refs: PromptRefs }
  | {
      readonly type: 'ended';
      readonly login: EndedLogin;
      /** Recorded as the last failure, for `/readyz` and `/status`. */
      readonly failure?: FailureSummary | undefined;
      readonly halt?: LoginHalt | undefined;
      /** Whether automatic triggers now wait for a person; by default, when it ended without a token. */
      readonly waitingForOperator?: boolean;
      /** The ended login's prompt messages, when the store handed them back. */
      readonly prompts?: PromptRefs | undefined;
    };

/** The only place the login's view changes. Pure. */
export function apply(view: LoginView, event: LoginEvent): LoginView {
  switch (event.type) {
    case 'starting':
      return { ...view, login: { ...event.base, kind: 'starting' }, beforeStart: view.login };
    case 'start-gave-up':
      return isLogin(view.login, 'starting', event.loginId)
        ? { ...view, login: view.beforeStart ?? { kind: 'none' } }
        : view;
    case 'halt':
      return { ...view, halted: event.halt };
    case 'waiting-for-person':
      return { ...view, waitingForOperator: true };
    case 'deferral-announced':
      return { ...view, announcedDeferralMs: event.atMs };
    case 'prompted':
      return {
        ...view,
        login: { ...toPending(event.login), kind: 'awaiting-code' },
        prompts: {},
        startedHere: event.login.loginId,
      };
    case 'followed': {
      const shared = event.login;
      if (isCurrent(view, shared.loginId)) return view;
      const pending = toPending(shared);
      return {
        ...view,
        login:
          shared.phase.kind === 'exchanging'
            ? { ...pending, kind: 'exchanging', operatorId: shared.phase.operatorId }
            : { ...pending, kind: 'awaiting-code' },
        prompts: shared.prompts,
      };
    }
    case 'claimed':
      return {
        ...view,
        login: { ...toPending(event.login), kind: 'exchanging', operatorId: event.operatorId },
        exchangingHere: event.login.loginId,
      };
    case 'exchange-over':
      return view.exchangingHere === event.loginId ? { ...view, exchangingHere: undefined } : view;
    case 'reopened':
      return isCurrent(view, event.login.loginId)
        ? { ...view, login: { ...event.login, kind: 'awaiting-code' } }
        : view;
    case 'prompts':
      // Kept for the login they belong to (or the last one, ended), so later edits find them.
      return isCurrent(view, event.loginId) || view.login.kind === 'ended'
        ? { ...view, prompts: event.refs }
        : view;
    case 'ended':
      return {
        ...view,
        login: { ...event.login, kind: 'ended' },
        prompts: event.prompts ?? view.prompts,
        waitingForOperator: event.waitingForOperator ?? event.login.outcome !== 'succeeded',
        lastFailure: event.failure ?? view.lastFailure,
        halted: event.halt ?? view.halted,
      };
  }
}

/** The login waiting for (or checking) a code in `view`, if any. */
export function pendingLogin(view: LoginView): PendingLogin | undefined {
  const login = view.login;
  return login.kind === 'awaiting-code' || login.kind === 'exchanging' ? login : undefined;
}

/** Whether `loginId` is the login that waits for (or checks) a code in `view`. */
export function isCurrent(view: LoginView, loginId: string): boolean {
  return pendingLogin(view)?.loginId === loginId;
}

function isLogin(login: LoginState, kind: LoginState['kind'], loginId: string): boolean {
  return login.kind === kind && 'loginId' in login && login.loginId === loginId;
}

/** This relay's view of a shared pending login. */
export function toPending(shared: SharedLogin): PendingLogin {
  const { loginId, reason, startedAt, interim, deadline, attemptsUsed, promptedAt, codeKey, fingerprint } =
    shared;
  return { loginId, reason, startedAt, interim, deadline, attemptsUsed, promptedAt, codeKey, fingerprint };
}

/** An ended login as the audit trail records it. */
export function endedLogin(
  login: LoginBase & { readonly attemptsUsed: number },
  outcome: EndedLogin['outcome'],
  nowMs: number,
  details: Pick<EndedLogin, 'error' | 'operatorId'> = {},
): EndedLogin {
  const { loginId, reason, startedAt } = login;
  return {
    loginId,
    reason,
    startedAt,
    outcome,
    ...details,
    attempts: login.attemptsUsed,
    endedAt: new Date(nowMs),
  };
}
