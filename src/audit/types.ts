import type { BrokerErrorKind } from '../domain/broker-errors.js';
import type { RelayObserver } from '../relay/state.js';
import type { LoginOutcome, LoginReason } from '../domain/vocabulary.js';

/** One ended login, as the audit trail keeps it. Holds no secret: never a code, token or interim. */
export interface AuditEntry {
  /** Where the entry sits in the trail: the stream entry ID (`<ms>-<seq>`), growing with time. */
  readonly id: string;
  readonly loginId: string;
  /** Why the login started. */
  readonly trigger: LoginReason;
  readonly outcome: LoginOutcome;
  /** The broker error that ended a `failed` login. */
  readonly error?: BrokerErrorKind;
  /** Discord user ID of the operator whose code decided the login, or who cancelled it. */
  readonly operator?: string;
  /** Codes sent to the broker. */
  readonly attempts: number;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601. */
  readonly endedAt: string;
}

/**
 * A record of every ended login, fed by the relay through {@link AuditTrail.observer}. One contract
 * suite (test/audit) runs against every implementation.
 */
export interface AuditTrail {
  /**
   * Pass to the relay (alone or through `combineObservers`). Its `loginEnded` returns at once;
   * the entry is written in the background, in order, and a failed write is logged, never thrown.
   */
  readonly observer: RelayObserver;
  /** Up to `count` entries, newest first; unreadable entries are skipped. Rejects when the store fails. */
  recent(count: number): Promise<AuditEntry[]>;
  /** Resolves once every entry handed to the observer so far is written (or its failure logged). */
  flush(): Promise<void>;
}
