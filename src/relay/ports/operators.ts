import type { BrokerErrorKind } from '../../domain/broker-errors.js';
import type { LoginReason } from '../../domain/vocabulary.js';
import type { PromptRefs } from './coordination.js';
import type { Secret } from '../../shared/secret.js';

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
   * must fix the configuration first. Otherwise "Send a new code" tries again. `operatorId`: whose
   * code was at the broker when it failed (step 2), so that a channel can tell them; absent when
   * step 1 failed.
   */
  | {
      readonly kind: 'failed';
      readonly error: BrokerErrorKind;
      readonly fatal: boolean;
      readonly operatorId?: string;
    };

/** Everything a prompt shows: rendered whole every time, so every edit is idempotent. */
export interface PromptView {
  /** Identifies the login; buttons carry it, so a stale prompt's buttons can be recognised. */
  readonly loginId: string;
  readonly account: string;
  readonly reason: LoginReason;
  /** Until when the code is accepted. */
  readonly deadline: Date;
  readonly state: PromptState;
  /**
   * Who gets the prompt: the account's operators (`ACCOUNT_<NAME>_DISCORD_OPERATOR_IDS`), set by
   * the operator hub. Every operator of the channel when absent.
   */
  readonly operatorIds?: readonly string[];
}

/** A message to one operator (or all), outside the prompt itself. */
export type OperatorNotice =
  /** The text was not clearly one code: how to answer. */
  | { readonly kind: 'help' }
  /** The code was taken and goes to the broker now. */
  | { readonly kind: 'code-received' }
  /**
   * The broker refused the code; `attemptsLeft` may still be tried on this login. `ended`, when the
   * refusal ended the login, says why: `interim-spent` (the broker's answer shows the login is over),
   * `no-attempts-left` (`MAX_CODE_ATTEMPTS` used) or `deadline-passed`. Without it, no attempt left
   * is told as "this login is over".
   */
  | {
      readonly kind: 'code-rejected';
      readonly attemptsLeft: number;
      readonly ended?: 'interim-spent' | 'no-attempts-left' | 'deadline-passed';
    }
  /**
   * Nobody has answered a login's prompt by half of `CODE_TIMEOUT`: a short new DM (an edit of the
   * prompt does not notify a phone).
   */
  | { readonly kind: 'code-reminder'; readonly account: string; readonly deadline: Date }
  /** The login succeeded; the token is published until `expiresAt`. */
  | { readonly kind: 'logged-in'; readonly account: string; readonly expiresAt: Date }
  /** A code came but no login waits for one. */
  | { readonly kind: 'no-pending-login' }
  /**
   * A plain reply written before the current login's prompt went out (the operator typed the code of
   * an earlier login's SMS): not sent to the broker. `promptSentAt` is when the current login's SMS
   * was asked for.
   */
  | { readonly kind: 'stale-code'; readonly promptSentAt: Date }
  /** The same code was already sent for this login and refused: not sent again. */
  | { readonly kind: 'code-already-tried' }
  /** The login has used every attempt (`MAX_CODE_ATTEMPTS`): nothing more is sent for it. */
  | { readonly kind: 'no-attempts-left' }
  /**
   * The input could not be taken (the coordination store, Redis, failed while claiming it): nothing
   * was sent to the broker; the operator should try again in a moment.
   */
  | { readonly kind: 'input-not-taken' }
  /**
   * A code whose claim the store ran but whose answer was lost (a failover cut the link): once the
   * store answered again, the relay found the code was its to send, and sends it now.
   */
  | { readonly kind: 'code-taken-after-all' }
  /** The relay was stopping when the operator's message came: it was not read; send it again. */
  | { readonly kind: 'restarting' }
  /**
   * The login waiting was started by a relay configured otherwise (a deploy under way, or replicas
   * set up differently), and no relay configured alike took the code: nothing was sent.
   */
  | { readonly kind: 'config-mismatch' }
  /**
   * A login's SMS may have gone out but the login could not be recorded: `another-login` (another
   * relay's login is the one waiting; its prompt is the one to answer), `lock-lost` (this relay lost
   * its login lock while step 1 ran), `store-unavailable` (Redis failed) or `stopped` (the relay was
   * stopping: a restart, not a failure). Its code will not be taken.
   */
  | {
      readonly kind: 'login-abandoned';
      readonly account: string;
      readonly why: 'another-login' | 'lock-lost' | 'store-unavailable' | 'stopped';
    }
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
  /**
   * The SMS guard (`MAX_LOGINS_PER_HOUR`) held a login back. `retrying` says whether the relay will
   * start it by itself at `nextAllowedAt` (automatic triggers) or waits for an operator.
   */
  | {
      readonly kind: 'login-deferred';
      readonly account: string;
      readonly reason: LoginReason;
      readonly nextAllowedAt: Date;
      readonly retrying: boolean;
    }
  /**
   * The token will lapse before the next planned login (`LOGIN_SCHEDULE`): sent ahead of time, so
   * an operator can `/login` while someone is awake.
   */
  | {
      readonly kind: 'expiry-warning';
      readonly account: string;
      readonly expiresAt: Date;
      readonly nextLoginAt: Date;
    }
  /** The answer to `/status`. */
  | { readonly kind: 'status'; readonly status: StatusView }
  /** The answer to `/login`. */
  | {
      readonly kind: 'login-request';
      /**
       * `unavailable`: the coordination store (Redis) could not be reached. `halt-confirm`: logins
       * are halted after `haltError` and the credentials are the same as when the broker refused
       * them: the answer explains the risk (a repeated refusal may lock the account) and offers a
       * "Try anyway" button, which comes back as the `login` command with `force: true` and
       * `forHalt: haltAt`.
       */
      readonly result:
        'started' | 'already-running' | 'halted' | 'halt-confirm' | 'rate-limited' | 'unavailable';
      /** With `rate-limited`: when a login may start. */
      readonly nextAllowedAt?: Date;
      /** With `halt-confirm`: the broker error that halted logins. */
      readonly haltError?: BrokerErrorKind;
      /**
       * With `halt-confirm`: which halt the answer is about, its `at` in epoch milliseconds. The
       * "Try anyway" it offers names this halt, and lifts no other.
       */
      readonly haltAt?: number;
      /**
       * The account the answer is about, set by the operator hub when it serves several: its "Try
       * anyway" names it, so the press goes to that account's login.
       */
      readonly account?: string;
    }
  /** The answer to `/cancel`: whether a pending login was dropped. */
  | { readonly kind: 'cancel-request'; readonly cancelled: boolean }
  /**
   * Several accounts: the relay asks which one an input is for, one button per account. `code`: a
   * plain reply with a code while several of the operator's accounts wait for one (`inputId`: the
   * operator's message; the code itself stays in the relays' memory, never in a message or a key).
   * `command`: `/login` or `/cancel` without `account:` by an operator of several accounts.
   */
  | {
      readonly kind: 'choose-account';
      readonly question:
        | { readonly kind: 'code'; readonly inputId: string }
        | { readonly kind: 'command'; readonly command: 'login' | 'cancel' };
      readonly accounts: readonly string[];
    }
  /** The answer to an `account-chosen` press: the code went to `account`'s login. */
  | { readonly kind: 'code-routed'; readonly account: string }
  /**
   * The answer to an `account-chosen` press that cannot be acted on: `answered` (the question was
   * already answered, by this or another press) or `code-gone` (this relay no longer holds the code:
   * it restarted, or the question is older than a login's time for a code). Nothing was sent.
   */
  | { readonly kind: 'choice-over'; readonly why: 'answered' | 'code-gone' }
  /** A command named an account the operator does not serve (or that does not exist here). */
  | { readonly kind: 'unknown-account'; readonly account: string; readonly accounts: readonly string[] }
  /** The answer to `/status` without `account:` by an operator of several accounts: one view each. */
  | { readonly kind: 'statuses'; readonly statuses: readonly StatusView[] };

/** What `/status` shows. No secret: the token's generation and expiry only. */
export interface StatusView {
  readonly account: string;
  readonly token: { readonly generation: number; readonly expiresAt: Date } | undefined;
  /** The login state (`none`, `starting`, `awaiting-code`, `exchanging`, `ended`). */
  readonly login: {
    readonly state: string;
    readonly reason?: LoginReason;
    readonly deadline?: Date;
    readonly attemptsUsed?: number;
    readonly outcome?: string;
  };
  /** When the next login is planned (renewal or schedule), if one is. */
  readonly nextLogin: { readonly at: Date; readonly reason: LoginReason } | undefined;
  readonly lastFailure: { readonly reason: string; readonly at: Date } | undefined;
  /** A broker error that stopped all logins until the configuration is fixed. */
  readonly halted: { readonly error: BrokerErrorKind; readonly at: Date } | undefined;
  /** Step-1 calls (SMS) in the last hour, and the cap. */
  readonly loginsLastHour: number;
  readonly maxLoginsPerHour: number;
  /** The last few logins, newest first (from the audit trail, when there is one). */
  readonly recentLogins: readonly {
    readonly reason: LoginReason;
    readonly outcome: string;
    readonly operatorId?: string;
    readonly attempts: number;
    readonly endedAt: Date;
  }[];
}

/** Operator commands (Discord slash commands in the DM with the bot). */
export type OperatorCommand = 'status' | 'login' | 'cancel';

/**
 * What an operator did, already parsed: the core never sees raw text. Every input carries an
 * `inputId` unique to the operator's action (Discord: the message or interaction ID): several relays
 * each receive the same DM through their own gateway connection, and only the one that claims the
 * input acts on it and answers.
 */
export type OperatorInput =
  /** A clean code (digits only), from a DM reply or the modal. */
  (
    | {
        readonly kind: 'code';
        readonly operatorId: string;
        readonly code: Secret;
        /** The prompt's login when the code came through its modal; absent for a plain DM reply. */
        readonly loginId?: string;
        /**
         * The account the input names: the modal of a prompt that names its account, or `otp-relay
         * code --account`. The operator hub routes by it; absent when the channel cannot tell.
         */
        readonly account?: string;
        /** The message a DM reply answers (Discord's reply): the hub routes a reply to a prompt by it. */
        readonly replyTo?: string;
        /**
         * When the operator wrote it (Discord: the message's or interaction's timestamp; terminal:
         * when the line was read). A plain reply written before the current login's prompt went out
         * belongs to an earlier login and is never sent to the broker.
         */
        readonly sentAt: Date;
      }
    /** A DM that is not clearly one code: the core answers with the `help` notice, never the broker. */
    | { readonly kind: 'unclear'; readonly operatorId: string; readonly replyTo?: string }
    /**
     * A DM that came while this relay's channel stops taking input (a shutdown): not read. The core
     * answers "restarting, send it again" unless another relay took the same DM meanwhile.
     */
    | { readonly kind: 'during-shutdown'; readonly operatorId: string }
    /** "Send a new code". */
    | {
        readonly kind: 'resend';
        readonly operatorId: string;
        readonly loginId: string;
        /** The prompt's account, when its button names one (prompts sent before several accounts do not). */
        readonly account?: string;
      }
    /** "Cancel". */
    | {
        readonly kind: 'cancel';
        readonly operatorId: string;
        readonly loginId: string;
        /** The prompt's account, as with `resend`. */
        readonly account?: string;
      }
    /**
     * The operator pressed one account's button of a `choose-account` question about a code:
     * `codeInputId` is the message that held the code. Acknowledged by the channel; `respond`
     * replaces the question (buttons included) with the answer, exactly once.
     */
    | {
        readonly kind: 'account-chosen';
        readonly operatorId: string;
        readonly account: string;
        readonly codeInputId: string;
        readonly respond: (notice: OperatorNotice) => Promise<void>;
      }
    /**
     * A command (`/status`, `/login`, `/cancel`). The core answers through `respond` exactly once;
     * the channel has already acknowledged the command to Discord.
     */
    | {
        readonly kind: 'command';
        readonly operatorId: string;
        readonly command: OperatorCommand;
        /**
         * With `login`: the operator pressed "Try anyway" on a `halt-confirm` answer, and accepts the
         * risk of retrying credentials the broker refused.
         */
        readonly force?: boolean;
        /**
         * With `force`: the halt that "Try anyway" was offered for (the answer's `haltAt`, epoch
         * milliseconds). A forced `/login` lifts the halt only when this names the one stored now;
         * an older button, or one naming none, is answered `halt-confirm` again for the current halt.
         */
        readonly forHalt?: number;
        /**
         * The account the command is for (`account:` option, a "which account?" button, or the
         * account a "Try anyway" names). Without it the hub decides: see docs/contract.md.
         */
        readonly account?: string;
        readonly respond: (notice: OperatorNotice) => Promise<void>;
      }
  ) & { readonly inputId: string };

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
   * edit the messages already sent. `refs` (from an earlier call, possibly by another relay or before
   * a restart) say where those messages are when this channel has not seen the login. Resolves with
   * the refs of every operator's message, to be shared.
   */
  showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs>;
  /** Tells one operator something. */
  notify(operatorId: string, notice: OperatorNotice): Promise<void>;
  /** Tells every operator something. */
  broadcast(notice: OperatorNotice): Promise<void>;
  /** Whether the channel is connected (readiness). */
  isConnected(): boolean;
  /** Disconnects; no input is delivered afterwards. */
  stop(): Promise<void>;
}
