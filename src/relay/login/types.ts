import type { BrokerError, BrokerErrorKind } from '../../domain/broker-errors.js';
import type { OperatorInput, OperatorNotice, PromptState } from '../ports/operators.js';
import type { Secret } from '../../shared/secret.js';
import type { RelayEvent, TokenRecord } from '../ports/token-store.js';
import type { ClaimResult, LoginHalt, PromptRefs, SaveResult, SharedLogin } from '../ports/coordination.js';
import type { LoginReason } from '../../domain/vocabulary.js';
import type { EndedLogin, FailureSummary, LoginBase, LoginState, PendingLogin } from '../../domain/login.js';

/**
 * One relay's view of its account's login: everything the transitions decide on. The coordination
 * store (shared by every relay) is the truth; this view follows it through the inputs.
 */
export interface LoginView {
  readonly login: LoginState;
  /** The login before the one `starting` now: restored when that start gives up. */
  readonly beforeStart: LoginState | undefined;
  /** Where the current login's prompt messages are. */
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

/** What {@link LoginInput} `request` decided, for the caller of `requestLogin`. */
export type LoginRequestResult =
  | { readonly result: 'started' | 'already-running' | 'halted' | 'needs-operator' | 'unavailable' }
  /** The SMS guard held it back until `nextAllowedAt`. */
  | { readonly result: 'rate-limited'; readonly nextAllowedAt: Date };

/** What the checks before step 1 found (lock, pending login, halt, SMS budget), in that order. */
export type StartCheck =
  | { readonly kind: 'go' }
  /** Another relay holds the lock (it is starting a login, or died holding it). */
  | { readonly kind: 'lock-busy' }
  | { readonly kind: 'pending'; readonly pending: SharedLogin }
  | { readonly kind: 'halted'; readonly halt: LoginHalt }
  /** An automatic trigger, while the last login (on any relay) ended without a token. */
  | { readonly kind: 'waiting-for-person' }
  | { readonly kind: 'rate-limited'; readonly nextAllowedAt: Date }
  /** The coordination store failed; `held`: the lock was taken before it did. */
  | { readonly kind: 'store-failed'; readonly error: unknown; readonly held: boolean };

/** Step 1's outcome, retries included. */
export type StepOneOutcome =
  | { readonly kind: 'token'; readonly token: Secret }
  /** `sentAtMs`: when the step-1 call that worked was sent (its SMS cannot have been read before). */
  | { readonly kind: 'code-required'; readonly interim: Secret; readonly sentAtMs: number }
  /** `lockLost`: the lock was lost while it ran (the error may be the abort itself). */
  | { readonly kind: 'error'; readonly error: unknown; readonly lockLost: boolean };

/** Step 2's outcome. */
export type StepTwoOutcome =
  | { readonly kind: 'token'; readonly token: Secret }
  | { readonly kind: 'code-rejected'; readonly interimSpent: boolean }
  | { readonly kind: 'error'; readonly error: unknown };

/** A code input from an operator, as the relay received it. */
export type CodeInput = Extract<OperatorInput, { kind: 'code' }>;

/**
 * Everything that moves a login: triggers, operator inputs, timers, and the results of the effects
 * run before (broker answers, coordination results). `now` is epoch ms when the input was made.
 */
export type LoginInput =
  // ── triggers ──
  | {
      readonly kind: 'request';
      readonly reason: LoginReason;
      readonly loginId: string;
      readonly now: number;
      readonly stopped: boolean;
    }
  | { readonly kind: 'start-checked'; readonly base: LoginBase; readonly check: StartCheck }
  | {
      readonly kind: 'step-one-done';
      readonly base: LoginBase;
      readonly outcome: StepOneOutcome;
      readonly now: number;
      readonly codeKey: Secret;
    }
  | {
      readonly kind: 'pending-saved';
      readonly shared: SharedLogin;
      readonly result: SaveResult | 'store-unavailable';
    }
  /** The halt as the store has it now (read at start, or by `/login`; `undefined`: lifted). */
  | { readonly kind: 'halt-known'; readonly halt: LoginHalt | undefined }
  /** Another relay's login (found at start, or when the lock was busy): follow it. */
  | { readonly kind: 'adopt'; readonly pending: SharedLogin }
  // ── an operator's code ──
  | { readonly kind: 'code'; readonly input: CodeInput }
  | {
      readonly kind: 'code-claimed';
      readonly input: CodeInput;
      readonly claim: ClaimResult | undefined | 'store-failed';
    }
  | {
      readonly kind: 'prompts-found';
      readonly login: PendingLogin;
      readonly input: CodeInput;
      readonly refs: PromptRefs;
      readonly now: number;
    }
  | {
      readonly kind: 'code-answered';
      readonly login: PendingLogin;
      readonly operatorId: string;
      readonly outcome: StepTwoOutcome;
      readonly now: number;
    }
  | {
      readonly kind: 'token-published';
      /** The login and the operator whose code it was; absent for a login without a code. */
      readonly login: PendingLogin | undefined;
      readonly operatorId: string | undefined;
      /** The stored record; `undefined` when the token could not be published. */
      readonly record: TokenRecord | undefined;
      /** The publish effect's `then`. */
      readonly then: readonly LoginEffect[];
    }
  | {
      readonly kind: 'reopened';
      readonly login: PendingLogin;
      readonly operatorId: string;
      readonly attemptsLeft: number;
      readonly ok: boolean;
    }
  | {
      readonly kind: 'late-code-ended';
      readonly login: PendingLogin;
      readonly operatorId: string;
      readonly ended: boolean;
    }
  // ── buttons ──
  | { readonly kind: 'resend'; readonly operatorId: string; readonly loginId: string }
  | { readonly kind: 'cancel'; readonly operatorId: string; readonly loginId: string }
  | {
      readonly kind: 'resend-found';
      readonly operatorId: string;
      readonly loginId: string;
      readonly pending: SharedLogin | undefined;
    }
  | { readonly kind: 'resend-ended'; readonly operatorId: string; readonly ended: SharedLogin | undefined }
  | { readonly kind: 'resend-requested'; readonly operatorId: string; readonly request: LoginRequestResult }
  | {
      readonly kind: 'cancel-ended';
      readonly operatorId: string;
      readonly loginId: string;
      readonly ended: SharedLogin | undefined;
      readonly pending: SharedLogin | undefined;
    }
  /** A prompt was shown (sent or edited): where its messages are now. */
  | { readonly kind: 'prompts-shown'; readonly loginId: string; readonly refs: PromptRefs }
  /** Whether this relay claimed the report of a login's ending; `then` is what it reports. */
  | {
      readonly kind: 'ending-claimed';
      readonly loginId: string;
      readonly won: boolean;
      readonly then: readonly LoginEffect[];
      readonly otherwise: readonly LoginEffect[];
    }
  // ── the reminder ──
  | { readonly kind: 'reminder'; readonly loginId: string }
  // ── the deadline ──
  | { readonly kind: 'deadline'; readonly loginId: string }
  | {
      readonly kind: 'deadline-checked';
      readonly loginId: string;
      /** The stored login, if this relay ended it (so it reports it). */
      readonly ended: SharedLogin | undefined;
      /** The stored login still there (a code being checked), when not ended. */
      readonly pending: SharedLogin | undefined;
      readonly now: number;
    }
  | {
      readonly kind: 'deadline-reported';
      readonly login: LoginBase & { readonly attemptsUsed: number; readonly deadline: Date };
      /** A token obtained since the login started (the relay checking the code got one). */
      readonly worked: boolean;
      readonly operatorId: string | undefined;
      /** This relay is the one that reports the ending. */
      readonly report: boolean;
      readonly prompts: PromptRefs | undefined;
    };

/**
 * What a transition asks to be done. `call` effects run in order and feed their result back as the
 * next input; the others only tell someone something. The file that runs each: login/runner.ts.
 */
export type LoginEffect =
  // ── calls: each one's result is the next input ──
  /** `automatic`: a trigger no person asked for, which waits while the account waits for a person. */
  | { readonly kind: 'check-start'; readonly base: LoginBase; readonly automatic: boolean }
  | { readonly kind: 'step-one'; readonly base: LoginBase }
  | { readonly kind: 'save-pending'; readonly shared: SharedLogin }
  | {
      readonly kind: 'claim-code';
      readonly input: CodeInput;
      readonly known: PendingLogin | undefined;
      /** This relay is starting a login (step 1 sent, its pending login not stored yet). */
      readonly starting: boolean;
    }
  | {
      readonly kind: 'find-prompts';
      readonly shared: SharedLogin;
      readonly input: CodeInput;
      readonly startedHere: boolean;
      readonly known: PromptRefs;
    }
  | {
      readonly kind: 'submit-code';
      readonly login: PendingLogin;
      readonly operatorId: string;
      readonly code: Secret;
      /**
       * Told once the code is on its way to the broker, while it judges it (the log line and the
       * metrics of a received code): nothing is done between an operator's code and the broker
       * that could wait.
       */
      readonly sent: readonly LoginEffect[];
    }
  | {
      readonly kind: 'publish-token';
      readonly login: PendingLogin | undefined;
      readonly operatorId: string | undefined;
      readonly token: Secret;
      /**
       * What comes once the write is done (or failed): the bookkeeping of the login's end, which
       * must not stand between an operator's code and the bots (metrics, audit trail, flags).
       */
      readonly then: readonly LoginEffect[];
    }
  | {
      readonly kind: 'reopen';
      readonly login: PendingLogin;
      readonly operatorId: string;
      readonly attemptsLeft: number;
    }
  | { readonly kind: 'end-late-code'; readonly login: PendingLogin; readonly operatorId: string }
  | { readonly kind: 'find-pending'; readonly purpose: 'adopt' }
  | { readonly kind: 'find-resend'; readonly operatorId: string; readonly loginId: string }
  | { readonly kind: 'end-for-resend'; readonly operatorId: string; readonly loginId: string }
  | { readonly kind: 'end-for-cancel'; readonly operatorId: string; readonly loginId: string }
  | { readonly kind: 'request-login'; readonly operatorId: string }
  | { readonly kind: 'check-deadline'; readonly loginId: string }
  /**
   * Claims the report of a login's ending (`deadline:<loginId>`), then runs `then` only if this
   * relay won it: a relay that wakes from a pause to its own broker answer does not report (nor show)
   * an ending another relay reported meanwhile.
   */
  | {
      readonly kind: 'claim-ending';
      readonly loginId: string;
      readonly then: readonly LoginEffect[];
      /** What to do instead when another relay reported it (e.g. tell the operator of their code). */
      readonly otherwise: readonly LoginEffect[];
    }
  | {
      readonly kind: 'report-deadline';
      readonly login: LoginBase & { readonly attemptsUsed: number; readonly deadline: Date };
      readonly operatorId: string | undefined;
      /** Whether to look for a token obtained since the login started (a dead exchange). */
      readonly lookForToken: boolean;
      /** Set when this relay ended the stored login itself: it reports, no claim needed. */
      readonly endedHere: SharedLogin | undefined;
    }
  // ── tells ──
  | { readonly kind: 'reply'; readonly result: LoginRequestResult }
  /** For `/cancel`: whether the login was cancelled. */
  | { readonly kind: 'reply-cancel'; readonly cancelled: boolean }
  | { readonly kind: 'release-lock' }
  | {
      readonly kind: 'end-pending';
      readonly loginId: string;
      readonly expect: 'awaiting-code' | 'exchanging';
    }
  | { readonly kind: 'save-halt'; readonly halt: LoginHalt }
  /** Shares whether the account waits for a person (in the background: never on the token's path). */
  | { readonly kind: 'save-waiting'; readonly waiting: boolean }
  | { readonly kind: 'arm-deadline'; readonly loginId: string; readonly at: Date }
  | { readonly kind: 'clear-deadline' }
  /** Feeds `reminder` at `at`: half of `CODE_TIMEOUT` after the prompt went out. */
  | { readonly kind: 'arm-reminder'; readonly loginId: string; readonly at: Date }
  /** One short new DM to every operator; one relay sends it (claimed as `reminder:<loginId>`). */
  | { readonly kind: 'remind'; readonly loginId: string; readonly deadline: Date }
  | { readonly kind: 'look-again-after-lock'; readonly reason: LoginReason }
  | {
      readonly kind: 'defer-login';
      readonly reason: LoginReason;
      readonly nextAllowedAt: Date;
      readonly announce: boolean;
    }
  | { readonly kind: 'clear-deferral' }
  | { readonly kind: 'emit'; readonly event: RelayEvent }
  | {
      readonly kind: 'show-prompt';
      readonly login: Pick<PendingLogin, 'loginId' | 'reason' | 'deadline'>;
      readonly state: PromptState;
    }
  | { readonly kind: 'notify'; readonly operatorId: string; readonly notice: OperatorNotice }
  | { readonly kind: 'broadcast'; readonly notice: OperatorNotice }
  | { readonly kind: 'observe-started'; readonly login: LoginBase }
  | {
      readonly kind: 'observe-code';
      readonly loginId: string;
      readonly operatorId: string;
      readonly attempt: number;
      readonly waitedMs: number;
    }
  /** `claimed`: this relay already claimed the ending's report (`deadline:<loginId>`). */
  | { readonly kind: 'observe-ended'; readonly login: EndedLogin; readonly claimed: boolean }
  | {
      readonly kind: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly fields: Record<string, unknown>;
      readonly msg: string;
    }
  /** A broker error, as the failed-login ending needs it. */
  | {
      readonly kind: 'log-failure';
      readonly loginId: string;
      readonly error: BrokerError;
      readonly fatal: boolean;
    };

/** What one transition returns. */
export interface Transition {
  readonly view: LoginView;
  readonly effects: readonly LoginEffect[];
}

/** Bounded retries of step 1 after a transient broker error. */
export interface StartRetryOptions {
  /** Step-1 calls at most, the first included. */
  attempts: number;
  /** Wait before the second call; it doubles with each call, with jitter. */
  baseDelayMs: number;
  /** Longest wait; a `Retry-After` beyond it ends the login instead. */
  maxDelayMs: number;
}

/** The account's settings the transitions need. */
export interface LoginSettings {
  readonly account: string;
  readonly codeTimeoutMs: number;
  readonly maxCodeAttempts: number;
  /**
   * How long after a login's deadline a code sent to the broker just before it may still be
   * answered: longer than one broker call may take. Until then a relay that saw another relay take
   * a code does not call that exchange dead.
   */
  readonly exchangeGraceMs: number;
  /** The keyed hash of the credentials, for a halt (computed once by the runner: it is random). */
  readonly credentialsDigest: () => string;
}

/** The broker error kinds, as the failed-login ending records them. */
export type FailureKind = BrokerErrorKind;
