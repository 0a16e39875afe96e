import type { BrokerErrorKind } from './broker-errors.js';

/** Why a login started. Shown to operators and sent in `login.started` events. */
export type LoginReason =
  'startup' | 'renewal' | 'schedule' | 'token-invalid' | 'bot-request' | 'operator-request';

/**
 * How a login ended. `abandoned`: step 1 ran but the login could not be recorded for the other
 * relays (its lock was lost, another login was pending, the store failed, or the relay stopped), so
 * its code is never taken.
 */
export type LoginOutcome = 'succeeded' | 'rejected' | 'expired' | 'cancelled' | 'failed' | 'abandoned';

/**
 * Every value of a closed string union, as a readonly list. The `Record` makes the compiler insist
 * on each member exactly once, so a new member added to the union fails to compile here rather
 * than slipping past the audit parser or becoming an unbounded metric label.
 */
function valuesOf<T extends string>(members: Record<T, true>): readonly T[] {
  return Object.freeze(Object.keys(members) as T[]);
}

/** Every {@link LoginReason}. */
export const LOGIN_REASONS = valuesOf<LoginReason>({
  startup: true,
  renewal: true,
  schedule: true,
  'token-invalid': true,
  'bot-request': true,
  'operator-request': true,
});

/** Every {@link LoginOutcome}. */
export const LOGIN_OUTCOMES = valuesOf<LoginOutcome>({
  succeeded: true,
  rejected: true,
  expired: true,
  cancelled: true,
  failed: true,
  abandoned: true,
});

/** Every {@link BrokerErrorKind}. */
export const BROKER_ERROR_KINDS = valuesOf<BrokerErrorKind>({
  'bad-credentials': true,
  'bad-app-key': true,
  'password-expired': true,
  'pin-required': true,
  'bad-pin': true,
  'unexpected-answer': true,
  network: true,
  timeout: true,
  'server-error': true,
  'rate-limited': true,
});

/** Whether `value` is one of `members` (narrowing it). */
export function isOneOf<T extends string>(members: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (members as readonly string[]).includes(value);
}
