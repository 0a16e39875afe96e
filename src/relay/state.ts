import type { BrokerErrorKind } from '../domain/broker-errors.js';
import type { EndedLogin, FailureSummary, LoginBase, LoginState } from '../domain/login.js';
import type { LoginOutcome, LoginReason } from '../domain/vocabulary.js';

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
  /**
   * Set while the login that waits was started by a relay configured otherwise: this relay stands
   * aside from it (never claims or sends its codes).
   */
  readonly configMismatch?: { readonly loginId: string } | undefined;
}
