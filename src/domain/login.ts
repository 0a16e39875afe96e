import type { BrokerErrorKind } from './broker-errors.js';
import type { LoginOutcome, LoginReason } from './vocabulary.js';
import type { Secret } from '../shared/secret.js';

/** What every login has from its start. */
export interface LoginBase {
  readonly loginId: string;
  readonly reason: LoginReason;
  readonly startedAt: Date;
}

/** A login that has asked the broker for a code and holds its interim token. */
export interface PendingLogin extends LoginBase {
  /** Interim token from step 1, needed by step 2. */
  readonly interim: Secret;
  /** Until when a code is accepted. */
  readonly deadline: Date;
  /** Codes already sent to the broker for this login. */
  readonly attemptsUsed: number;
  /** When step 1 returned: a plain reply written before it belongs to an earlier login. */
  readonly promptedAt: Date;
  /** This login's key for code digests (see `relay/login/code.ts`). A secret. */
  readonly codeKey: Secret;
  /** The configuration digest of the relay that started it, when known (see `SharedLogin`). */
  readonly fingerprint?: string | undefined;
}

/**
 * Where the current (or last) login stands in one relay's view. The published token is tracked
 * apart from this: a renewal runs while bots still use the token before it.
 *
 * ```
 * none ──request──▶ starting ──step 1: code──▶ awaiting-code ──code claimed──▶ exchanging ──token──▶ ended(succeeded)
 *                     │  └─step 1: token──▶ ended(succeeded)   ▲   │              │ └─refused, attempts left──┘
 *                     ├─broker error──▶ ended(failed)          │   │              └─refused, none left / spent──▶ ended(rejected)
 *                     └─not recorded, or stopped──▶ ended(abandoned)  └─deadline / cancel / new code──▶ ended(expired | cancelled)
 * ended ──"Send a new code", /login, schedule──▶ starting
 * ```
 */
export type LoginState =
  | { readonly kind: 'none' }
  | ({ readonly kind: 'starting' } & LoginBase)
  | ({ readonly kind: 'awaiting-code' } & PendingLogin)
  | ({ readonly kind: 'exchanging'; readonly operatorId: string } & PendingLogin)
  | ({ readonly kind: 'ended' } & EndedLogin);

/** A login that is over: what the audit trail records. */
export interface EndedLogin extends LoginBase {
  readonly outcome: LoginOutcome;
  /** The broker error that ended it, for `failed`. */
  readonly error?: BrokerErrorKind;
  /** The operator whose code decided it (accepted or last refused), or who cancelled it. */
  readonly operatorId?: string;
  /** Codes sent to the broker. */
  readonly attempts: number;
  readonly endedAt: Date;
}

/** The last failure, for readiness output and operators (never a secret). */
export interface FailureSummary {
  readonly reason: string;
  readonly at: string;
  readonly fatal: boolean;
}
