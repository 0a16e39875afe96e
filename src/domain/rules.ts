import type { LoginState } from './login.js';
import type { LoginReason } from './vocabulary.js';

/**
 * The pure rules of a login: when one may start, what a refused claim means for the operator, what
 * follows the broker's answer to a code, what a deadline finds, and what "Send a new code" does.
 * No I/O and no clock: every fact comes in as an argument, so each rule is a table test.
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

/** Whether `reason` is a trigger no person asked for. */
export function isAutomatic(reason: LoginReason): boolean {
  return AUTOMATIC_REASONS.has(reason);
}

/** Whether a login is under way (started and not over). */
export function isRunning(login: LoginState): boolean {
  return login.kind === 'starting' || login.kind === 'awaiting-code' || login.kind === 'exchanging';
}

/** Why a login may not start, as a relay can tell from its own view; `undefined`: it may try. */
export type StartRefusal = 'unavailable' | 'halted' | 'already-running' | 'needs-operator';

/** What this relay alone can tell before it asks the store (which checks again, for every relay). */
export function startRefusal(facts: {
  readonly stopped: boolean;
  readonly halted: boolean;
  readonly login: LoginState;
  readonly reason: LoginReason;
  readonly waitingForOperator: boolean;
}): StartRefusal | undefined {
  if (facts.stopped) return 'unavailable';
  if (facts.halted) return 'halted';
  if (isRunning(facts.login)) return 'already-running';
  if (isAutomatic(facts.reason) && facts.waitingForOperator) return 'needs-operator';
  return undefined;
}

/** Why the store refused to claim a code for the broker (checked in one atomic step). */
export type ClaimRefusal =
  /** No login `loginId` waits for a code (none, another one, or it ended). */
  | { readonly ok: false; readonly reason: 'none' }
  /** Another code of this login is at the broker right now. */
  | { readonly ok: false; readonly reason: 'busy'; readonly operatorId: string }
  /** Written before the login's prompt went out (`promptedAt`): it belongs to an earlier login. */
  | { readonly ok: false; readonly reason: 'stale'; readonly promptedAt: Date }
  /** This code was already sent to the broker for this login. */
  | { readonly ok: false; readonly reason: 'already-tried' }
  /** The login has used `MAX_CODE_ATTEMPTS` codes. */
  | { readonly ok: false; readonly reason: 'no-attempts-left' }
  /** The operator input was claimed already (another relay took this DM, or a repeat delivery). */
  | { readonly ok: false; readonly reason: 'input-taken' };

/** What the operator whose code was not claimed hears (the words of the operator notices). */
export type RefusalNotice =
  | { readonly kind: 'no-pending-login' }
  | { readonly kind: 'prompt-inactive' }
  | { readonly kind: 'busy'; readonly operatorId: string }
  | { readonly kind: 'stale-code'; readonly promptSentAt: Date }
  | { readonly kind: 'code-already-tried' }
  | { readonly kind: 'no-attempts-left' };

/**
 * What a refused claim means for its operator. `undefined` refusal: no login waits at all.
 * `namedLogin`: the code named its login (the modal of a prompt), which is then over.
 * `input-taken` has no notice: the relay that took the input answers it.
 */
export function refusalNotice(
  refusal: Exclude<ClaimRefusal, { reason: 'input-taken' }> | undefined,
  namedLogin: boolean,
): RefusalNotice {
  if (refusal === undefined) return { kind: 'no-pending-login' };
  switch (refusal.reason) {
    case 'none':
      return namedLogin ? { kind: 'prompt-inactive' } : { kind: 'no-pending-login' };
    case 'busy':
      return { kind: 'busy', operatorId: refusal.operatorId };
    case 'stale':
      return { kind: 'stale-code', promptSentAt: refusal.promptedAt };
    case 'already-tried':
      return { kind: 'code-already-tried' };
    case 'no-attempts-left':
      return { kind: 'no-attempts-left' };
  }
}

/** What follows the broker's refusal of a code. */
export type AfterRefusal =
  | { readonly next: 'reopen'; readonly attemptsLeft: number }
  | {
      readonly next: 'end';
      readonly outcome: 'expired' | 'rejected';
      /** The `login.failed` event's reason. */
      readonly reason: 'expired' | 'code-rejected';
      /** Why the login is over, for the operator whose code it was: their next step depends on it. */
      readonly why: 'interim-spent' | 'no-attempts-left' | 'deadline-passed';
    };

/**
 * A refused code: the login takes another one while its interim token lives, attempts are left and
 * the deadline has not passed (`reopenable: false` when the store could not reopen it); else it ends.
 */
export function afterRefusal(facts: {
  /** Codes sent for this login, this one included. */
  readonly attemptsUsed: number;
  readonly maxCodeAttempts: number;
  readonly interimSpent: boolean;
  readonly pastDeadline: boolean;
  readonly reopenable?: boolean;
}): AfterRefusal {
  const attemptsLeft = facts.maxCodeAttempts - facts.attemptsUsed;
  const open = !facts.interimSpent && attemptsLeft > 0;
  if (open && !facts.pastDeadline && facts.reopenable !== false) return { next: 'reopen', attemptsLeft };
  // With attempts left and the interim alive, only time (or a store that cannot reopen it) ended it.
  if (open) return { next: 'end', outcome: 'expired', reason: 'expired', why: 'deadline-passed' };
  return {
    next: 'end',
    outcome: 'rejected',
    reason: 'code-rejected',
    why: facts.interimSpent ? 'interim-spent' : 'no-attempts-left',
  };
}

/** What a relay does when a login's deadline passes, given what the store and its view say. */
export type AtDeadline =
  /** This relay ended the stored login (it still waited for a code): it reports the ending. */
  | 'report-ended-here'
  /** A code is being checked (on some relay): look again shortly, once the stored login expires. */
  | 'look-again-soon'
  /** This relay's own code is at the broker: its answer ends the login. */
  | 'leave-to-own-exchange'
  /** The relay checking a code went silent: wait until any broker call of it has surely answered. */
  | 'wait-for-grace'
  /** That relay is gone: the login is over (or worked, if a token came of it). */
  | 'report-dead-exchange'
  /** The stored login is gone (expired or ended elsewhere): report it if no relay did. */
  | 'report-gone'
  /** Another login is current: nothing to do. */
  | 'nothing';

/** The deadline's rule (see {@link AtDeadline}). */
export function atDeadline(facts: {
  readonly loginId: string;
  readonly endedHere: boolean;
  /** The stored pending login now, when this relay did not end it. */
  readonly stored: { readonly loginId: string; readonly exchanging: boolean } | undefined;
  readonly exchangingHere: boolean;
  readonly login: LoginState;
  readonly nowMs: number;
  /** How long after the deadline a code sent just before it may still be answered. */
  readonly exchangeGraceMs: number;
}): AtDeadline {
  const { loginId, login } = facts;
  if (facts.endedHere) return 'report-ended-here';
  if (facts.stored?.loginId === loginId) return facts.stored.exchanging ? 'look-again-soon' : 'nothing';
  if (facts.exchangingHere) return 'leave-to-own-exchange';
  if (login.kind === 'exchanging' && login.loginId === loginId) {
    const surelyOverAt = login.deadline.getTime() + facts.exchangeGraceMs;
    return facts.nowMs < surelyOverAt ? 'wait-for-grace' : 'report-dead-exchange';
  }
  if (login.kind === 'awaiting-code' && login.loginId === loginId) return 'report-gone';
  return 'nothing';
}

/** What "Send a new code" on the prompt of login `loginId` does. */
export type ResendStep =
  | { readonly kind: 'prompt-inactive' }
  | { readonly kind: 'busy'; readonly operatorId: string }
  | { readonly kind: 'halted' }
  /** No login waits: start one. */
  | { readonly kind: 'start' }
  /** That login waits: end it, then start a fresh one. */
  | { readonly kind: 'replace' };

/** The rule of "Send a new code" (see {@link ResendStep}). */
export function resendStep(facts: {
  readonly loginId: string;
  readonly stored: { readonly loginId: string; readonly busyWith: string | undefined } | undefined;
  /** This relay's view of the last login. */
  readonly login: LoginState;
  readonly halted: boolean;
}): ResendStep {
  const { stored, loginId, login } = facts;
  if (stored !== undefined && stored.loginId !== loginId) return { kind: 'prompt-inactive' };
  if (stored?.busyWith !== undefined) return { kind: 'busy', operatorId: stored.busyWith };
  // Only the last login's prompt may start a new one (after a restart this relay knows none): an
  // old prompt's button must not text anyone while a newer login has done its work.
  const isLast = login.kind === 'none' || (login.kind === 'ended' && login.loginId === loginId);
  if (stored === undefined && !isLast) return { kind: 'prompt-inactive' };
  if (facts.halted) return { kind: 'halted' };
  return stored === undefined ? { kind: 'start' } : { kind: 'replace' };
}

/**
 * When nobody having answered is worth one more DM: halfway between the SMS and the deadline (half
 * of `CODE_TIMEOUT`). A phone shows a new message; an edited prompt it does not.
 */
export function reminderAt(login: { readonly promptedAt: Date; readonly deadline: Date }): Date {
  return new Date((login.promptedAt.getTime() + login.deadline.getTime()) / 2);
}
