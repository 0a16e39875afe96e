import type { BrokerErrorKind } from './ports/broker-errors.js';
import type { LoginReason } from './ports/operators.js';
import type { Secret } from '../shared/secret.js';

/**
 * How a login ended. `abandoned`: step 1 ran but the login could not be recorded for the other
 * relays (its lock was lost, another login was pending, or the store failed), so its code is never
 * taken.
 */
export type LoginOutcome = 'succeeded' | 'rejected' | 'expired' | 'cancelled' | 'failed' | 'abandoned';

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
  /** This login's key for code digests (see `digest.ts`). A secret. */
  readonly codeKey: Secret;
}

/**
 * Where the current (or last) login stands. The published token is tracked apart from this: a renewal
 * runs while bots still use the token before it. The transitions between these states, and their
 * diagram, are in `login/machine.ts`.
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

/**
 * Hooks for metrics and the audit trail. Called synchronously; an observer that throws is logged and
 * never disturbs a login. Nothing passed holds a secret.
 */
export interface RelayObserver {
  loginStarted?(login: LoginBase): void;
  /** A code was claimed for the broker, `waitedMs` after the prompt went out. */
  codeReceived?(info: {
    readonly loginId: string;
    readonly operatorId: string;
    readonly attempt: number;
    readonly waitedMs: number;
  }): void;
  loginEnded?(login: EndedLogin): void;
  tokenPublished?(token: { readonly generation: number; readonly expiresAt: string }): void;
}

/** The last failure, for readiness output and operators (never a secret). */
export interface FailureSummary {
  readonly reason: string;
  readonly at: string;
  readonly fatal: boolean;
}

/** A read-only picture of the relay for `/readyz` and `/status`. Holds no secret. */
export interface RelaySnapshot {
  readonly account: string;
  readonly token: { readonly generation: number; readonly expiresAt: string } | undefined;
  readonly login: {
    readonly state: LoginState['kind'];
    readonly loginId?: string;
    readonly reason?: LoginReason;
    readonly deadline?: string;
    readonly attemptsUsed?: number;
    readonly outcome?: LoginOutcome;
  };
  /** Set when a broker error that needs a person stopped all logins. */
  readonly halted: { readonly error: BrokerErrorKind; readonly at: string } | undefined;
  readonly lastFailure: FailureSummary | undefined;
}
