import type { BrokerErrorKind } from '../../domain/broker-errors.js';
import type { ClaimRefusal } from '../../domain/rules.js';
import type { Secret } from '../../shared/secret.js';
import type { LoginReason } from '../../domain/vocabulary.js';

/**
 * Where each operator's prompt message is, as the operator channel recorded it (Discord: channel and
 * message IDs per operator). Opaque to the relay core; JSON-serialisable so that another relay, or
 * this one after a restart, can edit the same messages instead of sending new ones.
 */
export type PromptRefs = Readonly<Record<string, unknown>>;

/** Where a shared login stands. */
export type SharedLoginPhase =
  | { readonly kind: 'awaiting-code' }
  /**
   * `relayId` claimed `operatorId`'s code and is the only relay that may send it to the broker.
   * `inputId`: the operator input that carried it (absent from logins of relays from before it), so
   * that a relay whose claim lost its answer can tell its own claim from a later one of the same code.
   */
  | {
      readonly kind: 'exchanging';
      readonly relayId: string;
      readonly operatorId: string;
      readonly inputId?: string | undefined;
    };

/**
 * A login waiting for (or checking) a code, shared by every relay of the account through the
 * coordination store, so that a restarted relay or another replica carries it on: the operators'
 * answer is taken without a new SMS.
 */
export interface SharedLogin {
  readonly loginId: string;
  readonly reason: LoginReason;
  readonly startedAt: Date;
  /** Step 1's interim token: what step 2 needs. A secret. */
  readonly interim: Secret;
  /** Until when a code is accepted; the stored login expires then. */
  readonly deadline: Date;
  /** Codes claimed for the broker so far. */
  readonly attemptsUsed: number;
  /**
   * When step 1 returned, so when the SMS can first have been read: a plain reply written before
   * this belongs to an earlier login and is never sent to this one.
   */
  readonly promptedAt: Date;
  /**
   * A random key of this login (base64url, 32 bytes) for {@link codeDigest}: codes are compared by
   * their keyed hash, never stored. A secret.
   */
  readonly codeKey: Secret;
  /** Keyed hashes ({@link codeDigest}) of the codes already sent to the broker for this login. */
  readonly triedCodes: readonly string[];
  readonly phase: SharedLoginPhase;
  readonly prompts: PromptRefs;
  /**
   * A digest of the login-relevant configuration of the relay that started it (credentials,
   * broker, code rules, limits): a relay configured otherwise never claims or sends a code for it.
   * Absent in a login saved by a relay from before it: then nobody can tell, and nobody stands aside.
   */
  readonly fingerprint?: string | undefined;
}

/** What the caller of {@link LoginCoordination.claimCode} asks for. */
export interface CodeClaim {
  /** The login the code is for. */
  readonly loginId: string;
  /** The relay that will send it to the broker. */
  readonly relayId: string;
  readonly operatorId: string;
  /** {@link codeDigest} of the code with this login's `codeKey`. */
  readonly codeDigest: string;
  /** The operator input that carried the code: recorded with the exchange (see `SharedLoginPhase`). */
  readonly inputId?: string | undefined;
  /**
   * When the operator wrote the code, for a plain DM reply (epoch ms); absent when the input named
   * its login (the modal). Earlier than the login's `promptedAt`: refused as `stale`.
   */
  readonly writtenAtMs?: number;
  /** `MAX_CODE_ATTEMPTS`: a login that used them all takes no more codes. */
  readonly maxAttempts: number;
  /**
   * The operator input that carried the code, claimed first in the same atomic step (as
   * {@link LoginCoordination.claimInput} would): when another relay took it, nothing else is looked
   * at (`input-taken`). One store call between an operator's DM and the broker, not two. A claimed
   * input stays claimed whatever the code's claim finds (this relay then answers the operator).
   */
  readonly input?: { readonly inputId: string; readonly ttlMs: number };
}

/**
 * What {@link LoginCoordination.claimCode} found. Every check is in the same atomic step. On success
 * the caller holds the exchange: `login.phase` is `exchanging` by it, `attemptsUsed` + 1, and the
 * code's digest is in `triedCodes`.
 */
export type ClaimResult = { readonly ok: true; readonly login: SharedLogin } | ClaimRefusal;

/** What {@link LoginCoordination.savePending} did. */
export type SaveResult =
  | 'saved'
  /** The caller does not hold the login lock (any more): another relay may be starting a login. */
  | 'lock-lost'
  /** Another login is pending already: it is the one the operators answer. */
  | 'other-pending';

/** A halt of all logins after a broker error only a person can fix. Survives restarts. */
export interface LoginHalt {
  readonly error: BrokerErrorKind;
  readonly at: Date;
  /**
   * A keyed hash of the credentials the broker refused (`<salt>.<hmac>`, see
   * `credentialsDigest` in relay/digest.ts), so that `/login` can tell whether they changed since.
   * Absent in halts saved before it existed: treated as "unknown", which asks for confirmation.
   */
  readonly credentials?: string;
}

/**
 * What the relays of one account share to act as one: the login lock, the pending login, the halt
 * and the SMS budget. Every transition is atomic across relays (Redis: Lua scripts), so exactly one
 * relay calls step 1 per login and exactly one sends a given code. One contract suite runs against
 * every implementation (memory and Redis).
 */
export interface LoginCoordination {
  /**
   * Takes the account's login lock for `owner` for `ttlMs`, if nobody holds it. The lock guards the
   * start of a login (step 1 and the DMs) until the pending login is stored.
   */
  acquireLock(owner: string, ttlMs: number): Promise<boolean>;
  /** Extends the lock, only if `owner` still holds it. */
  renewLock(owner: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock, only if `owner` holds it. */
  releaseLock(owner: string): Promise<void>;

  /** The pending login, if one is stored and its deadline has not passed. */
  loadPending(): Promise<SharedLogin | undefined>;
  /**
   * Stores `login` as the pending login, expiring at its deadline, in one atomic step that checks
   * that `owner` still holds the login lock and that no other login is pending. Never replaces
   * another login.
   */
  savePending(login: SharedLogin, owner: string): Promise<SaveResult>;
  /** Records where the prompt messages of pending login `loginId` are (no-op if it is gone). */
  savePrompts(loginId: string, prompts: PromptRefs): Promise<void>;
  /**
   * Atomically moves pending login `claim.loginId` from `awaiting-code` to `exchanging` by
   * `claim.relayId` for `claim.operatorId`, counting one more attempt and recording the code's
   * digest; refused when the code is stale, was tried already, or the attempts are used up. With
   * `claim.input`, claims that input first, in the same atomic step.
   */
  claimCode(claim: CodeClaim): Promise<ClaimResult>;
  /**
   * After a refused code: back to `awaiting-code`, only if `relayId` holds the exchange of
   * `loginId`. Resolves to whether it did.
   */
  reopen(loginId: string, relayId: string): Promise<boolean>;
  /**
   * Ends pending login `loginId` (removes it) if it is in the expected phase: `awaiting-code`
   * (a time-out, a cancel, a new code asked for), `exchanging` by `relayId` (the exchange is over),
   * or `any` (a relay found the exchange's owner gone). Resolves to the login as it was, if this
   * caller ended it, so exactly one relay reports each ending.
   */
  endPending(
    loginId: string,
    expect:
      | { readonly kind: 'awaiting-code' }
      | { readonly kind: 'exchanging'; readonly relayId: string }
      | { readonly kind: 'any' },
  ): Promise<SharedLogin | undefined>;

  /**
   * Claims one operator input (a DM or an interaction, by its ID) for this relay: every replica
   * receives the same DM, and only the first to claim it acts and answers. Resolves to whether this
   * caller got it. Claims are forgotten after `ttlMs`.
   */
  claimInput(inputId: string, ttlMs: number): Promise<boolean>;

  /**
   * Whether the last login ended without a token (unanswered, cancelled, refused, failed): automatic
   * triggers (renewal, a dead token, a bot's report) then wait for a person or the schedule, on every
   * relay of the account, also one started after that login ended.
   */
  loadWaitingForPerson(): Promise<boolean>;
  /** Sets or clears {@link LoginCoordination.loadWaitingForPerson}. */
  saveWaitingForPerson(waiting: boolean): Promise<void>;

  /** The current halt, if any. */
  loadHalt(): Promise<LoginHalt | undefined>;
  /** Sets (or, with `undefined`, lifts) the halt. */
  saveHalt(halt: LoginHalt | undefined): Promise<void>;

  /**
   * The SMS guard, shared: records a step-1 call now if fewer than `maxPerHour` were made in the
   * hour before; otherwise says when the next may be. "Now" is the store's clock when the call runs
   * (Redis: `TIME`), never a time the caller read before: a relay paused between reading its clock
   * and the call must not spend at a time long past.
   */
  spendLogin(maxPerHour: number): Promise<{ ok: true } | { ok: false; nextAllowedAt: Date }>;
  /** Step-1 calls in the hour before now (the store's clock). */
  loginsInLastHour(): Promise<number>;
}
