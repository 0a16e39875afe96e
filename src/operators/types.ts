import type { BrokerErrorKind } from '../broker/errors.js';
import type { Secret } from '../secret.js';

/** Why a login started. Shown to operators and sent in `login.started` events. */
export type LoginReason =
  | 'startup'
  | 'renewal'
  | 'schedule'
  | 'token-invalid'
  | 'bot-request'
  | 'operator-request';

/** Where one login's prompt stands; each state decides the prompt's text and its live buttons. */
export type PromptState =
  /** Waiting for a code. `attemptsLeft` codes may still be tried. */
  | { readonly kind: 'open'; readonly attemptsLeft: number }
  /** A code from `operatorId` is at the broker. No button works meanwhile. */
  | { readonly kind: 'checking'; readonly operatorId: string }
  /** Logged in with `operatorId`'s code. */
  | { readonly kind: 'succeeded'; readonly operatorId: string; readonly expiresAt: Date }
  /**
   * The last code was refused and this login cannot go on: no attempts left, or the broker's answer
   * says the interim token is spent. Only "Send a new code" works.
   */
  | { readonly kind: 'rejected'; readonly operatorId: string; readonly interimSpent: boolean }
  /** No code came before the deadline. Only "Send a new code" works. */
  | { readonly kind: 'expired' }
  /** `operatorId` cancelled it. Only "Send a new code" works. */
  | { readonly kind: 'cancelled'; readonly operatorId: string }
  /**
   * The broker failed. When `fatal` (credentials, app key, password, PIN) no button works: a person
   * must fix the configuration first. Otherwise "Send a new code" tries again.
   */
  | { readonly kind: 'failed'; readonly error: BrokerErrorKind; readonly fatal: boolean };

/** Everything a prompt shows: rendered whole every time, so every edit is idempotent. */
export interface PromptView {
  /** Identifies the login; buttons carry it, so a stale prompt's buttons can be recognised. */
  readonly loginId: string;
  readonly account: string;
  readonly reason: LoginReason;
  /** Until when the code is accepted. */
  readonly deadline: Date;
  readonly state: PromptState;
}

/** A message to one operator (or all), outside the prompt itself. */
export type OperatorNotice =
  /** The text was not clearly one code: how to answer. */
  | { readonly kind: 'help' }
  /** The code was taken and goes to the broker now. */
  | { readonly kind: 'code-received' }
  /** The broker refused the code; `attemptsLeft` may still be tried on this login. */
  | { readonly kind: 'code-rejected'; readonly attemptsLeft: number }
  /** The login succeeded; the token is published until `expiresAt`. */
  | { readonly kind: 'logged-in'; readonly account: string; readonly expiresAt: Date }
  /** A code came but no login waits for one. */
  | { readonly kind: 'no-pending-login' }
  /** A code came while `operatorId`'s code is being checked. */
  | { readonly kind: 'busy'; readonly operatorId: string }
  /** A button of a login that is over was pressed. */
  | { readonly kind: 'prompt-inactive' }
  /** A login failed before or outside any prompt (e.g. step 1 refused the credentials). */
  | {
      readonly kind: 'login-failed';
      readonly account: string;
      readonly error: BrokerErrorKind;
      readonly fatal: boolean;
    }
  /** The account asked for a PIN and `ETNA_PIN` is not set. */
  | { readonly kind: 'pin-missing'; readonly account: string };

/** What an operator did, already parsed: the core never sees raw text. */
export type OperatorInput =
  /** A clean code (digits only), from a DM reply or the modal. */
  | {
      readonly kind: 'code';
      readonly operatorId: string;
      readonly code: Secret;
      /** The prompt's login when the code came through its modal; absent for a plain DM reply. */
      readonly loginId?: string;
    }
  /** "Send a new code". */
  | { readonly kind: 'resend'; readonly operatorId: string; readonly loginId: string }
  /** "Cancel". */
  | { readonly kind: 'cancel'; readonly operatorId: string; readonly loginId: string };

/** Receives operator inputs. Must not throw; the core handles its own errors. */
export type OperatorInputHandler = (input: OperatorInput) => void;

/**
 * A way to reach the operators: Discord DMs in production, the terminal in the demo. The relay core
 * speaks only this interface.
 */
export interface OperatorChannel {
  /** Connects and starts delivering inputs to `onInput`. */
  start(onInput: OperatorInputHandler): Promise<void>;
  /**
   * Shows a login's prompt to every operator: the first call for a `loginId` sends it, later calls
   * edit the messages already sent.
   */
  showPrompt(view: PromptView): Promise<void>;
  /** Tells one operator something. */
  notify(operatorId: string, notice: OperatorNotice): Promise<void>;
  /** Tells every operator something. */
  broadcast(notice: OperatorNotice): Promise<void>;
  /** Whether the channel is connected (readiness). */
  isConnected(): boolean;
  /** Disconnects; no input is delivered afterwards. */
  stop(): Promise<void>;
}
