import { randomUUID } from 'node:crypto';
import { BrokerError, type BrokerStep } from '../broker/errors.js';
import type { Broker, StartLoginResult } from '../broker/types.js';
import { errorFields, type Logger } from '../log.js';
import type {
  LoginReason,
  OperatorChannel,
  OperatorInput,
  OperatorNotice,
  PromptState,
  PromptView,
  StatusView,
} from '../operators/types.js';
import type { Secret } from '../secret.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from '../store/types.js';
import type { ClaimResult, LoginCoordination, LoginHalt, PromptRefs, SharedLogin } from './coordination.js';
import { codeDigest, credentialsDigest, newDigestKey, sameCredentials } from './digest.js';
import { abortableSleep, backoffDelayMs } from '../shared/sleep.js';
import type {
  EndedLogin,
  FailureSummary,
  LoginBase,
  LoginOutcome,
  LoginState,
  PendingLogin,
  RelayObserver,
  RelaySnapshot,
} from './state.js';
import { emitSafely, TokenHolder, type TokenListener } from './token-holder.js';

export type { TokenListener } from './token-holder.js';

/** Bounded retries of step 1 after a transient broker error. */
export interface StartRetryOptions {
  /** Step-1 calls at most, the first included. */
  attempts: number;
  /** Wait before the second call; it doubles with each call, with jitter. */
  baseDelayMs: number;
  /** Longest wait; a `Retry-After` beyond it ends the login instead. */
  maxDelayMs: number;
}

/** Options of {@link Relay}. */
export interface RelayOptions {
  /** `RELAY_ACCOUNT`. */
  account: string;
  /** How long a login waits for a code (`CODE_TIMEOUT`). */
  codeTimeoutMs: number;
  /** How long a token is taken to live after it is obtained (`TOKEN_LIFETIME`). */
  tokenLifetimeMs: number;
  /** Codes tried for one login before it gives up (`MAX_CODE_ATTEMPTS`). */
  maxCodeAttempts: number;
  /** Step-1 calls (so SMS messages) allowed in any hour, whatever triggers them (`MAX_LOGINS_PER_HOUR`). */
  maxLoginsPerHour: number;
  broker: Broker;
  operators: OperatorChannel;
  store: TokenStore;
  events: EventPublisher;
  /** What the relays of the account share: lock, pending login, halt, SMS budget. */
  coordination: LoginCoordination;
  logger: Logger;
  /** This relay's name in the lock and in claims; unique per process. */
  relayId?: string;
  /** Current time in epoch ms; injectable for tests. */
  now?: () => number;
  /** New login ids; injectable for tests. */
  newLoginId?: () => string;
  /** First wait before publishing a token again after a failed store write. */
  publishRetryMs?: number;
  /** How long the login lock lives unless renewed (it is renewed while held). */
  lockTtlMs?: number;
  startRetry?: StartRetryOptions;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
  /** Metrics and audit hooks. */
  observer?: RelayObserver;
  /**
   * The broker credentials (app key, username, password, PIN), only to keep a keyed hash of them
   * with a halt: `/login` then tells whether they changed since the broker refused them.
   */
  credentials?: readonly Secret[];
  /** What `/status` shows beyond the relay's own state: the next planned login, recent logins. */
  statusExtras?: () => Promise<Pick<StatusView, 'nextLogin' | 'recentLogins'>>;
}

const DEFAULTS = {
  // Per relay, not per process: two relays in one process must not share a lock owner.
  relayId: undefined as unknown as string,
  now: () => Date.now(),
  newLoginId: () => randomUUID().slice(0, 8),
  publishRetryMs: 1_000,
  lockTtlMs: 15_000,
  startRetry: { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 30_000 },
  random: Math.random,
  observer: {},
  credentials: [],
  statusExtras: async () => ({ nextLogin: undefined, recentLogins: [] }),
} as const satisfies Required<Omit<RelayOptions, keyof RelayRequiredOptions>>;

type RelayRequiredOptions = Pick<
  RelayOptions,
  | 'account'
  | 'codeTimeoutMs'
  | 'tokenLifetimeMs'
  | 'maxCodeAttempts'
  | 'maxLoginsPerHour'
  | 'broker'
  | 'operators'
  | 'store'
  | 'events'
  | 'coordination'
  | 'logger'
>;

/** How long, at most, a relay waits for another relay to record where its prompts went. */
const PROMPT_REFS_WAIT_MS = 100;
const PROMPT_REFS_WAITS = 20;

/** A code the broker has not judged by then is shown as being checked. */
const CHECKING_PROMPT_AFTER_MS = 250;

/** How long a claimed input is remembered across relays (a DM is delivered to each once). */
const INPUT_CLAIM_TTL_MS = 10 * 60_000;

/** What {@link Relay.requestLogin} did. */
export type LoginRequestResult =
  | { readonly result: 'started' | 'already-running' | 'halted' | 'needs-operator' | 'unavailable' }
  /** The SMS guard held it back until `nextAllowedAt`. */
  | { readonly result: 'rate-limited'; readonly nextAllowedAt: Date };

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

/**
 * The login flow of one account: from a trigger, through step 1, the operators' prompt and step 2,
 * to the published token. It speaks only ports: broker, operators, token store + events, and the
 * coordination store that several relays (or one relay across restarts) share.
 *
 * Exactly-once rests on the coordination store: the lock and the pending login let one relay call
 * step 1 per login; each operator input is claimed once; a code is claimed for the broker with an
 * atomic compare-and-set, so it reaches the broker once, whichever relay received it.
 */
export class Relay {
  readonly #options: Required<RelayOptions>;
  readonly #log: Logger;
  readonly #tokens: TokenHolder;
  /** This relay's view of the current (or last) login. The coordination store decides. */
  #login: LoginState = { kind: 'none' };
  /** Where the current login's prompt messages are. */
  #prompts: PromptRefs = {};
  /** The login this relay started (and so sent the prompts of), if it is the current one. */
  #startedHere: string | undefined;
  #halted: LoginHalt | undefined;
  #lastFailure: FailureSummary | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #deferredTimer: NodeJS.Timeout | undefined;
  #lockTimer: NodeJS.Timeout | undefined;
  /** Aborted by {@link Relay.stop}: every wait and broker call of this relay ends with it. */
  readonly #stopping = new AbortController();
  /** The SMS guard deferral already announced to the operators (its `nextAllowedAt`, epoch ms). */
  #announcedDeferralMs: number | undefined;
  /** Set when the last login ended without a token: automatic triggers then wait for a person. */
  #waitingForOperator = false;
  #stopped = false;
  /** Work started by inputs and timers, awaited by {@link Relay.idle} and {@link Relay.stop}. */
  readonly #inFlight = new Set<Promise<void>>();

  public constructor(options: RelayOptions) {
    this.#options = {
      ...DEFAULTS,
      ...options,
      relayId: options.relayId ?? `relay-${randomUUID().slice(0, 8)}`,
    };
    this.#log = options.logger.child({
      component: 'relay',
      account: options.account,
      relayId: this.#options.relayId,
    });
    this.#tokens = new TokenHolder({
      store: options.store,
      events: options.events,
      broker: options.broker,
      logger: this.#log,
      tokenLifetimeMs: options.tokenLifetimeMs,
      now: this.#options.now,
      publishRetryMs: this.#options.publishRetryMs,
      onPublished: (record) =>
        this.#observe('tokenPublished', { generation: record.generation, expiresAt: record.expiresAt }),
    });
  }

  /**
   * Carries on a pending login (after a restart, no new SMS and no new DM), then looks at what is
   * published: a token the broker still accepts is kept, and nothing else happens. Otherwise a login
   * starts.
   */
  public async start(): Promise<void> {
    const coordination = this.#options.coordination;
    this.#halted = await coordination.loadHalt();
    const pending = await coordination.loadPending();
    if (pending !== undefined) this.#adoptPending(pending);
    const record = await this.#options.store.read();
    if (record !== undefined) {
      const verdict = await this.#tokens.check(record);
      if (verdict !== 'invalid') {
        this.#tokens.adopt(record);
        this.#log.info(
          { generation: record.generation, expiresAt: record.expiresAt, check: verdict },
          'published token kept',
        );
        return;
      }
      await this.#tokens.invalidate(record, 'rejected by the broker at startup');
    }
    if (pending === undefined) await this.requestLogin('startup');
  }

  /**
   * Starts a login unless one is running (here or on another relay), logins are halted, the SMS
   * guard holds it back, or (for automatic triggers) the last login ended without a token and waits
   * for an operator. The login goes on in the background (see {@link Relay.idle}).
   */
  public async requestLogin(reason: LoginReason): Promise<LoginRequestResult> {
    if (this.#stopped) return { result: 'unavailable' };
    if (this.#halted !== undefined) {
      this.#log.warn({ reason, error: this.#halted.error }, 'login not started: logins are halted');
      return { result: 'halted' };
    }
    if (this.#loginRunning()) return { result: 'already-running' };
    if (AUTOMATIC_REASONS.has(reason) && this.#waitingForOperator) {
      this.#log.warn(
        { reason },
        'login not started: the last one ended without a token; waiting for an operator',
      );
      return { result: 'needs-operator' };
    }

    // Claim the login in this process before any await: a second trigger now finds it running.
    const previous = this.#login;
    const base: LoginBase = {
      loginId: this.#options.newLoginId(),
      reason,
      startedAt: new Date(this.#options.now()),
    };
    this.#login = { ...base, kind: 'starting' };
    const giveUp = async <R extends LoginRequestResult>(result: R, held: boolean): Promise<R> => {
      if (held) await this.#releaseLock();
      if (this.#login.kind === 'starting' && this.#login.loginId === base.loginId) this.#login = previous;
      return result;
    };

    const coordination = this.#options.coordination;
    let held = false;
    let lockLost: AbortSignal | undefined;
    try {
      held = await coordination.acquireLock(this.#options.relayId, this.#options.lockTtlMs);
      if (!held) {
        // Another relay is starting a login, or one died holding the lock: look again once the
        // lock has had time to expire (a live holder will have stored its pending login by then).
        this.#lookAgainAfterLock(reason);
        return await giveUp({ result: 'already-running' }, false);
      }
      lockLost = this.#keepLock();
      const pending = await coordination.loadPending();
      if (pending !== undefined) {
        await giveUp({ result: 'already-running' }, true);
        this.#adoptPending(pending);
        return { result: 'already-running' };
      }
      const halt = await coordination.loadHalt();
      if (halt !== undefined) {
        this.#halted = halt;
        return await giveUp({ result: 'halted' }, true);
      }
      const spend = await coordination.spendLogin(this.#options.now(), this.#options.maxLoginsPerHour);
      if (!spend.ok) {
        const limited = { result: 'rate-limited', nextAllowedAt: spend.nextAllowedAt } as const;
        await giveUp(limited, true);
        this.#deferLogin(reason, spend.nextAllowedAt);
        return limited;
      }
    } catch (error) {
      this.#log.error(
        { reason, err: errorFields(error) },
        'login not started: the coordination store failed',
      );
      return await giveUp({ result: 'unavailable' }, held).catch(() => ({ result: 'unavailable' as const }));
    }
    clearTimeout(this.#deferredTimer);
    this.#deferredTimer = undefined;
    this.#announcedDeferralMs = undefined;
    this.#track(this.#runLogin(base, lockLost ?? AbortSignal.abort()));
    return { result: 'started' };
  }

  /** Handles one parsed operator input. Never throws; failures are logged and told to the operator. */
  public handleInput(input: OperatorInput): void {
    if (this.#stopped) return;
    this.#track(this.#handle(input));
  }

  /** The published token, if it has not expired. Served from memory. */
  public currentToken(): TokenRecord | undefined {
    return this.#tokens.current();
  }

  /** Calls `listener` whenever the published token changes. Returns the function that stops it. */
  public onTokenChange(listener: TokenListener): () => void {
    return this.#tokens.onChange(listener);
  }

  /** See {@link TokenHolder.check}. */
  public checkToken(record: TokenRecord): Promise<'valid' | 'invalid' | 'unchecked'> {
    return this.#tokens.check(record);
  }

  /** See {@link TokenHolder.invalidate}. */
  public invalidate(record: TokenRecord, reason: string): Promise<void> {
    return this.#tokens.invalidate(record, reason);
  }

  /** See {@link TokenHolder.expire}. */
  public expire(generation: number): Promise<void> {
    return this.#tokens.expire(generation);
  }

  /** Reads the token store again: another relay may have published. */
  public refreshToken(): Promise<TokenRecord | undefined> {
    return this.#tokens.refresh();
  }

  /** After Redis came back: writes the token held back if Redis lost it. */
  public restoreToken(): Promise<boolean> {
    return this.#tokens.restoreIfLost();
  }

  /** A picture of the relay with no secret in it. */
  public snapshot(): RelaySnapshot {
    const login = this.#login;
    const token = this.#tokens.current();
    return {
      account: this.#options.account,
      token: token === undefined ? undefined : { generation: token.generation, expiresAt: token.expiresAt },
      login:
        login.kind === 'none'
          ? { state: 'none' }
          : login.kind === 'starting'
            ? { state: login.kind, loginId: login.loginId, reason: login.reason }
            : login.kind === 'ended'
              ? { state: login.kind, loginId: login.loginId, reason: login.reason, outcome: login.outcome }
              : {
                  state: login.kind,
                  loginId: login.loginId,
                  reason: login.reason,
                  deadline: login.deadline.toISOString(),
                  attemptsUsed: login.attemptsUsed,
                },
      halted:
        this.#halted === undefined
          ? undefined
          : { error: this.#halted.error, at: this.#halted.at.toISOString() },
      lastFailure: this.#lastFailure,
    };
  }

  /** Whether a token is published and not past its expiry. */
  public hasValidToken(): boolean {
    return this.#tokens.current() !== undefined;
  }

  /** Resolves when no work started by inputs or timers is still running (for tests and shutdown). */
  public async idle(): Promise<void> {
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /**
   * Stops timers, waits for work under way and releases the login lock. The pending login stays in
   * the coordination store for another relay, or this one after a restart.
   */
  public async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#deferredTimer);
    clearTimeout(this.#lockRetryTimer);
    // Step-1 backoffs and waits end now. A code already at the broker, and the token write after it,
    // are awaited: the token came from a human's code (the caller bounds the wait).
    this.#stopping.abort();
    await this.idle();
    this.#tokens.stop();
    await this.#releaseLock();
  }

  /** What this relay is still doing, for the log when a shutdown's deadline passes. No secret. */
  public unfinished(): { readonly codeExchange?: string; readonly tokenWrite?: { expiresAt: string } } {
    const login = this.#login;
    const write = this.#tokens.writing();
    return {
      ...(login.kind === 'exchanging' ? { codeExchange: login.loginId } : {}),
      ...(write === undefined ? {} : { tokenWrite: { expiresAt: write.expiresAt.toISOString() } }),
    };
  }

  /** Publishes an event for the bots (e.g. `token.checked`); a failure is logged, never thrown. */
  public async publishEvent(event: RelayEvent): Promise<void> {
    await this.#emit(event);
  }

  // ── the login ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs a login whose lock this relay holds, from step 1 to the prompt (or the token). `lockLost`
   * aborts when the lock could not be renewed: step 1 stops, and the login is not recorded.
   */
  async #runLogin(base: LoginBase, lockLost: AbortSignal): Promise<void> {
    const { loginId, reason } = base;
    this.#log.info({ loginId, reason }, 'login started');
    this.#observe('loginStarted', base);
    await this.#emit({ type: 'login.started', reason });

    let result: StartLoginResult;
    // When the step-1 call that worked was sent: its SMS cannot have been read before. A reply
    // written earlier is another login's (a quick genuine reply is never refused for a slow step 1).
    const sentAt = { ms: this.#options.now() };
    try {
      result = await this.#startLoginWithRetries(loginId, lockLost, sentAt);
    } catch (error) {
      await this.#releaseLock();
      if (lockLost.aborted && !(error instanceof BrokerError && error.fatal)) {
        // Another relay may be calling step 1 now: this one's failure is not the account's.
        await this.#abandon(base, 'lock-lost');
        return;
      }
      await this.#failLogin(
        { ...base, attemptsUsed: 0 },
        'start-login',
        error,
        new Date(this.#options.now()),
      );
      return;
    }

    if (result.kind === 'token') {
      // The account has no second factor: nobody was asked, nobody needs telling.
      await this.#releaseLock();
      this.#end({ ...base, attemptsUsed: 0 }, 'succeeded');
      await this.#tokens.publish(result.token);
      return;
    }

    const promptedAt = new Date(sentAt.ms);
    const deadline = new Date(this.#options.now() + this.#options.codeTimeoutMs);
    const shared: SharedLogin = {
      ...base,
      interim: result.interim,
      deadline,
      attemptsUsed: 0,
      promptedAt,
      codeKey: newDigestKey(),
      triedCodes: [],
      phase: { kind: 'awaiting-code' },
      prompts: {},
    };
    // Saved only while this relay still holds the lock and no other login waits (one atomic step):
    // a relay paused past its lock's TTL must not replace the login another relay started meanwhile.
    let saved: 'saved' | 'lock-lost' | 'other-pending' | 'store-unavailable';
    try {
      saved = await this.#options.coordination.savePending(shared, this.#options.relayId);
    } catch (error) {
      this.#log.error({ loginId, err: errorFields(error) }, 'pending login not shared');
      saved = 'store-unavailable';
    }
    // The pending login now keeps other relays from starting one: the lock has done its work.
    await this.#releaseLock();
    if (saved !== 'saved') {
      // The SMS is out, but a code for a login no relay can find would be refused by every relay:
      // say so now rather than let the operators type it in vain.
      await this.#abandon(base, saved === 'other-pending' ? 'another-login' : saved);
      return;
    }
    this.#login = { ...shared, kind: 'awaiting-code' };
    this.#prompts = {};
    this.#startedHere = loginId;
    this.#armDeadline(loginId, deadline);
    this.#log.info({ loginId, deadline: deadline.toISOString() }, 'code requested from operators');
    await this.#showPrompt(shared, { kind: 'open', attemptsLeft: this.#options.maxCodeAttempts });
  }

  /**
   * Step 1, tried again after network errors, time-outs, 5xx and 429 (its `Retry-After` honoured),
   * with exponential backoff and jitter, a bounded number of times. Each try counts against the SMS
   * guard: a call that failed on the way back may still have texted someone.
   */
  async #startLoginWithRetries(
    loginId: string,
    lockLost: AbortSignal,
    sentAt: { ms: number },
  ): Promise<StartLoginResult> {
    const retry = this.#options.startRetry;
    const signal = AbortSignal.any([lockLost, this.#stopping.signal]);
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (signal.aborted) throw signal.reason;
        sentAt.ms = this.#options.now();
        return await this.#options.broker.startLogin(signal);
      } catch (error) {
        if (
          !(error instanceof BrokerError) ||
          !error.transient ||
          attempt >= retry.attempts ||
          signal.aborted
        ) {
          throw error;
        }
        const waitMs = error.retryAfterMs ?? backoffDelayMs(attempt, retry, this.#options.random);
        if (waitMs > retry.maxDelayMs) throw error;
        this.#log.warn(
          { loginId, attempt, kind: error.kind, retryInMs: waitMs },
          'step 1 failed; trying again',
        );
        await abortableSleep(waitMs, signal);
        if (signal.aborted) throw error;
        const spend = await this.#options.coordination.spendLogin(
          this.#options.now(),
          this.#options.maxLoginsPerHour,
        );
        if (!spend.ok) throw error;
      }
    }
  }

  async #handle(input: OperatorInput): Promise<void> {
    // Every relay receives the same DM: only the one that claims it acts and answers. Commands are
    // already single: only one relay's acknowledgement of an interaction succeeds.
    if (input.kind !== 'command') {
      let claimed: boolean;
      try {
        claimed = await this.#options.coordination.claimInput(input.inputId, INPUT_CLAIM_TTL_MS);
      } catch (error) {
        // Whether another relay took it is unknown; nothing was sent. Never silence: the operator
        // tries again (a replica that can claim it answers then).
        this.#log.error(
          { operatorId: input.operatorId, err: errorFields(error) },
          'input not taken: the coordination store failed',
        );
        await this.#notify(input.operatorId, { kind: 'input-not-taken' });
        return;
      }
      if (!claimed) {
        this.#log.debug({ operatorId: input.operatorId, input: input.kind }, 'input taken by another relay');
        return;
      }
    }
    switch (input.kind) {
      case 'code':
        return this.#onCode(input);
      case 'unclear':
        return this.#notify(input.operatorId, { kind: 'help' });
      case 'resend':
        return this.#onResend(input.operatorId, input.loginId);
      case 'cancel':
        await this.#onCancel(input.operatorId, input.loginId);
        return;
      case 'command':
        return input.command === 'status'
          ? this.#answerStatus(input.respond)
          : input.command === 'login'
            ? this.#onLoginCommand(input)
            : this.#onCancelCommand(input);
    }
  }

  async #onCode(input: Extract<OperatorInput, { kind: 'code' }>): Promise<void> {
    const { operatorId } = input;
    let claim: ClaimResult | undefined;
    try {
      claim = await this.#claimCode(input);
    } catch (error) {
      this.#log.error(
        { operatorId, err: errorFields(error) },
        'code not taken: the coordination store failed',
      );
      await this.#notify(operatorId, { kind: 'input-not-taken' });
      return;
    }
    if (claim === undefined || !claim.ok) {
      await this.#notify(operatorId, this.#claimRefusal(claim, input.loginId !== undefined));
      return;
    }
    const { code } = input;
    const coordination = this.#options.coordination;
    const loginId = claim.login.loginId;
    const shared = claim.login;
    const attempt = shared.attemptsUsed;
    const pending = toPending(shared);
    const holder = { kind: 'exchanging', relayId: this.#options.relayId } as const;
    this.#login = { ...pending, kind: 'exchanging', operatorId };
    this.#prompts = await this.#promptsOf(shared);
    if (this.#options.now() >= shared.deadline.getTime()) {
      // Waiting for the prompt refs may have taken the login past its deadline: never send a code
      // after it. The deadline's own handler finds the login exchanging and leaves it to this one.
      clearTimeout(this.#deadlineTimer);
      const ended = await coordination.endPending(loginId, holder).catch(() => undefined);
      this.#end(pending, 'expired', { operatorId }, ended !== undefined);
      this.#log.warn({ loginId, operatorId }, 'code came too late; not sent');
      await this.#notify(operatorId, { kind: 'prompt-inactive' });
      if (ended === undefined) return;
      this.#recordFailure('expired', false);
      await this.#emit({ type: 'login.failed', reason: 'expired' });
      await this.#showPrompt(pending, { kind: 'expired' });
      return;
    }
    this.#log.info({ loginId, operatorId, attempt }, 'code received');
    this.#observe('codeReceived', {
      loginId,
      operatorId,
      attempt,
      // The deadline was set CODE_TIMEOUT after the prompt went out.
      waitedMs: this.#options.now() - (shared.deadline.getTime() - this.#options.codeTimeoutMs),
    });
    // "Checking…" is shown only if the broker is slow to answer: most answers come first, and the
    // edits would cost the answer-to-token path CPU for a view nobody sees. Later edits of this
    // prompt wait for it, so the last view wins.
    let checking: Promise<void> = Promise.resolve();
    const checkingTimer = setTimeout(() => {
      checking = this.#showPrompt(pending, { kind: 'checking', operatorId });
    }, CHECKING_PROMPT_AFTER_MS);
    checkingTimer.unref();

    let result;
    try {
      result = await this.#options.broker.submitCode(shared.interim, code);
    } catch (error) {
      clearTimeout(checkingTimer);
      await checking;
      // Whether the broker saw the code is unknown, and the same code must never be sent twice:
      // this login is over. "Send a new code" starts a fresh one.
      clearTimeout(this.#deadlineTimer);
      await this.#quietly(coordination.endPending(loginId, holder));
      await this.#failLogin(pending, 'submit-code', error, shared.deadline, operatorId);
      return;
    }

    clearTimeout(checkingTimer);
    if (result.kind === 'token') {
      clearTimeout(this.#deadlineTimer);
      this.#end(pending, 'succeeded', { operatorId });
      this.#log.info({ loginId, operatorId, attempt }, 'code accepted');
      // The token first: it is what a crash must not lose. The pending login goes after.
      const record = await this.#tokens.publish(result.token);
      await checking;
      await this.#quietly(coordination.endPending(loginId, holder));
      const expiresAt = new Date(record.expiresAt);
      await this.#showPrompt(pending, { kind: 'succeeded', operatorId, expiresAt });
      await this.#notify(operatorId, { kind: 'logged-in', account: this.#options.account, expiresAt });
      return;
    }

    await checking;
    const attemptsLeft = this.#options.maxCodeAttempts - attempt;
    const pastDeadline = this.#options.now() >= shared.deadline.getTime();
    this.#log.warn(
      { loginId, operatorId, attempt, attemptsLeft, interimSpent: result.interimSpent },
      'code rejected',
    );
    const reopened =
      !result.interimSpent && attemptsLeft > 0 && !pastDeadline
        ? await coordination.reopen(loginId, this.#options.relayId).catch(() => false)
        : false;
    if (!reopened) {
      clearTimeout(this.#deadlineTimer);
      await this.#quietly(coordination.endPending(loginId, holder));
      const outcome: LoginOutcome = !result.interimSpent && attemptsLeft > 0 ? 'expired' : 'rejected';
      this.#end(pending, outcome, { operatorId });
      this.#recordFailure(outcome === 'expired' ? 'expired' : 'code-rejected', false);
      await this.#emit({ type: 'login.failed', reason: outcome === 'expired' ? 'expired' : 'code-rejected' });
      await this.#notify(operatorId, { kind: 'code-rejected', attemptsLeft: 0 });
      await this.#showPrompt(
        pending,
        outcome === 'expired'
          ? { kind: 'expired' }
          : { kind: 'rejected', operatorId, interimSpent: result.interimSpent },
      );
      return;
    }

    this.#login = { ...pending, kind: 'awaiting-code' };
    await this.#notify(operatorId, { kind: 'code-rejected', attemptsLeft });
    await this.#showPrompt(pending, { kind: 'open', attemptsLeft });
  }

  /**
   * Claims `input`'s code for the broker, across relays, in one atomic step that also refuses a
   * stale reply, a code already tried and a login out of attempts. A code from the modal names its
   * login; a plain reply goes to the login that waits now, and only if it was written after that
   * login's prompt went out. `undefined`: no login waits.
   */
  async #claimCode(input: Extract<OperatorInput, { kind: 'code' }>): Promise<ClaimResult | undefined> {
    const coordination = this.#options.coordination;
    const claimFor = (login: Pick<SharedLogin, 'loginId' | 'codeKey'>): Promise<ClaimResult> =>
      coordination.claimCode({
        loginId: login.loginId,
        relayId: this.#options.relayId,
        operatorId: input.operatorId,
        codeDigest: codeDigest(login.codeKey, input.code),
        ...(input.loginId === undefined ? { writtenAtMs: input.sentAt.getTime() } : {}),
        maxAttempts: this.#options.maxCodeAttempts,
      });
    const known = this.#pendingLogin();
    if (input.loginId !== undefined) {
      const target = known?.loginId === input.loginId ? known : await coordination.loadPending();
      return target?.loginId === input.loginId ? claimFor(target) : { ok: false, reason: 'none' };
    }
    const target = known ?? (await coordination.loadPending());
    if (target === undefined) return undefined;
    const claim = await claimFor(target);
    if (claim.ok || claim.reason !== 'none') return claim;
    // This relay's view may be behind another's: the login that waits now is the one to answer.
    const current = await coordination.loadPending();
    if (current === undefined) return undefined;
    return current.loginId === target.loginId ? claim : claimFor(current);
  }

  /** What an operator is told when their code was not claimed. */
  #claimRefusal(claim: ClaimResult | undefined, namedLogin: boolean): OperatorNotice {
    if (claim === undefined) return { kind: 'no-pending-login' };
    if (claim.ok) throw new TypeError('not a refusal');
    switch (claim.reason) {
      case 'none':
        return namedLogin ? { kind: 'prompt-inactive' } : { kind: 'no-pending-login' };
      case 'busy':
        return { kind: 'busy', operatorId: claim.operatorId };
      case 'stale':
        return { kind: 'stale-code', promptSentAt: claim.promptedAt };
      case 'already-tried':
        return { kind: 'code-already-tried' };
      case 'no-attempts-left':
        return { kind: 'no-attempts-left' };
    }
  }

  /** This relay's view of the login waiting for (or checking) a code, if any. */
  #pendingLogin(): PendingLogin | undefined {
    const login = this.#login;
    return login.kind === 'awaiting-code' || login.kind === 'exchanging' ? login : undefined;
  }

  async #onResend(operatorId: string, loginId: string): Promise<void> {
    const coordination = this.#options.coordination;
    const pending = await coordination.loadPending();
    if (pending !== undefined && pending.loginId !== loginId) {
      await this.#notify(operatorId, { kind: 'prompt-inactive' });
      return;
    }
    if (pending?.phase.kind === 'exchanging') {
      await this.#notify(operatorId, { kind: 'busy', operatorId: pending.phase.operatorId });
      return;
    }
    if (pending === undefined) {
      // Only the last login's prompt may start a new one (after a restart this relay knows none):
      // an old prompt's button must not text anyone while a newer login has done its work.
      const known = this.#login;
      const isLast = known.kind === 'none' || (known.kind === 'ended' && known.loginId === loginId);
      if (!isLast) {
        await this.#notify(operatorId, { kind: 'prompt-inactive' });
        return;
      }
    }
    if (this.#halted !== undefined) {
      await this.#notify(operatorId, {
        kind: 'login-failed',
        account: this.#options.account,
        error: this.#halted.error,
        fatal: true,
      });
      return;
    }
    this.#log.info({ operatorId, previousLoginId: loginId }, 'new code asked for by an operator');
    if (pending !== undefined) {
      // The operator got no SMS (or lost it): this login is replaced by a fresh one.
      const ended = await coordination.endPending(loginId, { kind: 'awaiting-code' });
      if (ended === undefined) {
        await this.#notify(operatorId, { kind: 'prompt-inactive' });
        return;
      }
      clearTimeout(this.#deadlineTimer);
      this.#prompts = ended.prompts;
      this.#end(ended, 'cancelled', { operatorId });
      await this.#showPrompt(ended, { kind: 'cancelled', operatorId });
    }
    const request = await this.requestLogin('operator-request');
    if (request.result !== 'started') {
      await this.#notify(
        operatorId,
        request.result === 'rate-limited'
          ? { kind: 'login-request', result: 'rate-limited', nextAllowedAt: request.nextAllowedAt }
          : { kind: 'login-request', result: toRequestNotice(request.result) },
      );
    }
  }

  async #onCancel(operatorId: string, loginId: string): Promise<boolean> {
    const coordination = this.#options.coordination;
    const ended = await coordination.endPending(loginId, { kind: 'awaiting-code' });
    if (ended === undefined) {
      const pending = await coordination.loadPending();
      await this.#notify(
        operatorId,
        pending?.loginId === loginId && pending.phase.kind === 'exchanging'
          ? { kind: 'busy', operatorId: pending.phase.operatorId }
          : { kind: 'prompt-inactive' },
      );
      return false;
    }
    if (this.#pendingLoginId() === loginId) clearTimeout(this.#deadlineTimer);
    this.#prompts = ended.prompts;
    this.#end(ended, 'cancelled', { operatorId });
    this.#log.info({ loginId, operatorId }, 'login cancelled by an operator');
    this.#recordFailure('cancelled', false);
    await this.#emit({ type: 'login.failed', reason: 'cancelled' });
    await this.#showPrompt(ended, { kind: 'cancelled', operatorId });
    return true;
  }

  /**
   * Where the prompt messages of `shared` are, for a relay about to edit them. Only the relay that
   * started a login sends its prompts; it records where they went right after. An answer can reach
   * another relay first, within that moment: it waits for the record (briefly) rather than send
   * every operator a second prompt.
   */
  async #promptsOf(shared: SharedLogin): Promise<PromptRefs> {
    if (Object.keys(shared.prompts).length > 0) return shared.prompts;
    if (this.#startedHere === shared.loginId) return this.#prompts;
    for (let wait = 0; wait < PROMPT_REFS_WAITS; wait += 1) {
      await abortableSleep(PROMPT_REFS_WAIT_MS, this.#stopping.signal);
      const pending = await this.#options.coordination.loadPending().catch(() => undefined);
      if (pending?.loginId !== shared.loginId) break;
      if (Object.keys(pending.prompts).length > 0) return pending.prompts;
    }
    return {};
  }

  /** Takes over a pending login from the coordination store: its deadline, its prompt messages. */
  #adoptPending(shared: SharedLogin): void {
    if (this.#pendingLoginId() === shared.loginId) return;
    const pending = toPending(shared);
    this.#login =
      shared.phase.kind === 'exchanging'
        ? { ...pending, kind: 'exchanging', operatorId: shared.phase.operatorId }
        : { ...pending, kind: 'awaiting-code' };
    this.#prompts = shared.prompts;
    this.#armDeadline(shared.loginId, shared.deadline);
    this.#log.info(
      { loginId: shared.loginId, phase: shared.phase.kind, deadline: shared.deadline.toISOString() },
      'pending login taken over',
    );
  }

  #armDeadline(loginId: string, deadline: Date): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#track(this.#onDeadline(loginId)),
      Math.max(0, deadline.getTime() - this.#options.now()),
    );
    this.#deadlineTimer.unref();
  }

  async #onDeadline(loginId: string): Promise<void> {
    const coordination = this.#options.coordination;
    const ended = await coordination.endPending(loginId, { kind: 'awaiting-code' }).catch(() => undefined);
    const login = this.#login;
    // Every relay that knows the login arms its deadline. An ending taken with endPending is this
    // relay's alone; one found already gone (the stored login expired by itself) is reported by the
    // one relay that claims it, and the others only bring their own view up to date.
    const reportHere = async (): Promise<boolean> =>
      ended !== undefined ||
      (await coordination.claimInput(`deadline:${loginId}`, INPUT_CLAIM_TTL_MS).catch(() => true));
    if (ended === undefined) {
      // A code being checked (here or on another relay) decides the login itself...
      const pending = await coordination.loadPending().catch(() => undefined);
      if (pending?.loginId === loginId) {
        // Look again once the stored login has expired with its deadline.
        if (pending.phase.kind === 'exchanging')
          this.#armDeadline(loginId, new Date(this.#options.now() + 1_000));
        return;
      }
      // ...unless the relay that claimed it died mid-exchange (the stored login expired with its
      // deadline, still exchanging): if a token came of it, the login worked; else it is over.
      if (login.kind === 'exchanging' && login.loginId === loginId) {
        const token = await this.#tokens.refresh().catch(() => undefined);
        const worked = token !== undefined && Date.parse(token.obtainedAt) >= login.startedAt.getTime();
        const report = await reportHere();
        this.#end(login, worked ? 'succeeded' : 'expired', { operatorId: login.operatorId }, report);
        if (worked || !report) return;
        this.#log.warn({ loginId }, 'the relay checking a code stopped; the login is over');
        this.#recordFailure('expired', false);
        await this.#emit({ type: 'login.failed', reason: 'expired' });
        await this.#showPrompt(login, { kind: 'expired' });
        return;
      }
      // Gone already (the stored login expired with its deadline): report it if this relay knows it.
      if (login.kind !== 'awaiting-code' || login.loginId !== loginId) return;
    }
    const base = ended ?? (login.kind === 'awaiting-code' ? login : undefined);
    if (base === undefined) return;
    const report = await reportHere();
    this.#end(base, 'expired', {}, report);
    if (!report) return;
    if (ended !== undefined) this.#prompts = ended.prompts;
    this.#log.warn({ loginId }, 'no code arrived in time');
    this.#recordFailure('expired', false);
    await this.#emit({ type: 'login.failed', reason: 'expired' });
    await this.#showPrompt(base, { kind: 'expired' });
  }

  /**
   * Ends a login whose step 1 ran but which could not be recorded for the other relays: its lock was
   * lost, another login was pending, or the store failed. An SMS may have gone out for it, so the
   * operators hear that its code will not be taken; with `another-login`, this relay follows that one.
   */
  async #abandon(base: LoginBase, why: 'another-login' | 'lock-lost' | 'store-unavailable'): Promise<void> {
    this.#log.error({ loginId: base.loginId, why }, 'login abandoned: it could not be recorded');
    this.#end({ ...base, attemptsUsed: 0 }, 'abandoned');
    this.#recordFailure(`abandoned: ${why}`, false);
    await this.#emit({ type: 'login.failed', reason: 'abandoned' });
    await this.#broadcast({ kind: 'login-abandoned', account: this.#options.account, why });
    if (why === 'another-login') {
      // That login goes on: nothing waits for a person because of this one.
      this.#waitingForOperator = false;
      const pending = await this.#options.coordination.loadPending().catch(() => undefined);
      if (pending !== undefined) this.#adoptPending(pending);
    }
  }

  async #failLogin(
    login: LoginBase & { attemptsUsed: number },
    step: BrokerStep,
    error: unknown,
    deadline: Date,
    operatorId?: string,
  ): Promise<void> {
    const { loginId } = login;
    const brokerError =
      error instanceof BrokerError
        ? error
        : new BrokerError({ kind: 'unexpected-answer', step, cause: error });
    const fatal = brokerError.fatal;
    this.#end(login, 'failed', {
      error: brokerError.kind,
      ...(operatorId === undefined ? {} : { operatorId }),
    });
    this.#recordFailure(brokerError.kind, fatal);
    if (fatal) {
      // Retrying bad credentials can lock the account: nothing starts a login until a person acts,
      // on any relay and across restarts.
      this.#halted = {
        error: brokerError.kind,
        at: new Date(this.#options.now()),
        // A keyed hash, never the credentials: /login can tell later whether they were changed.
        credentials: credentialsDigest(this.#options.credentials),
      };
      await this.#quietly(this.#options.coordination.saveHalt(this.#halted));
    }
    this.#log.error(
      { loginId, err: errorFields(brokerError), fatal },
      fatal ? 'login failed; logins halted until an operator acts' : 'login failed',
    );
    await this.#emit({ type: 'login.failed', reason: brokerError.kind });
    await this.#showPrompt({ ...login, deadline }, { kind: 'failed', error: brokerError.kind, fatal });
  }

  /**
   * Ends this relay's view of a login. `report`: this relay is the one that tells the observers
   * (metrics, audit trail) about it; another relay's view is only brought up to date.
   */
  #end(
    login: LoginBase & { readonly attemptsUsed: number },
    outcome: LoginOutcome,
    details: Pick<EndedLogin, 'error' | 'operatorId'> = {},
    report = true,
  ): void {
    const ended: EndedLogin = {
      loginId: login.loginId,
      reason: login.reason,
      startedAt: login.startedAt,
      outcome,
      ...details,
      attempts: login.attemptsUsed,
      endedAt: new Date(this.#options.now()),
    };
    this.#login = { ...ended, kind: 'ended' };
    this.#waitingForOperator = outcome !== 'succeeded';
    if (report) this.#observe('loginEnded', ended);
  }

  #recordFailure(reason: string, fatal: boolean): void {
    this.#lastFailure = { reason, at: new Date(this.#options.now()).toISOString(), fatal };
  }

  #loginRunning(): boolean {
    const kind = this.#login.kind;
    return kind === 'starting' || kind === 'awaiting-code' || kind === 'exchanging';
  }

  #pendingLoginId(): string | undefined {
    const login = this.#login;
    return login.kind === 'awaiting-code' || login.kind === 'exchanging' ? login.loginId : undefined;
  }

  /**
   * The SMS guard held a login back. Operators hear when the next may start; an automatic trigger
   * is tried again then by itself (once), an operator's request waits for the operator.
   */
  #deferLogin(reason: LoginReason, nextAllowedAt: Date): void {
    const retrying = reason !== 'operator-request';
    this.#log.warn(
      { reason, nextAllowedAt: nextAllowedAt.toISOString(), retrying },
      'login held back by the SMS guard',
    );
    if (!retrying) return;
    if (this.#announcedDeferralMs === nextAllowedAt.getTime()) return;
    this.#announcedDeferralMs = nextAllowedAt.getTime();
    if (this.#deferredTimer === undefined) {
      this.#deferredTimer = setTimeout(
        () => {
          this.#deferredTimer = undefined;
          this.#track(this.requestLogin(reason).then(() => undefined));
        },
        Math.max(0, nextAllowedAt.getTime() - this.#options.now()),
      );
      this.#deferredTimer.unref();
    }
    // One notice per deferral for the whole account: every replica defers the same login (each
    // receives the bots' requests), and only the one that claims the deferral tells the operators.
    const deferral = `deferral:${nextAllowedAt.getTime()}`;
    this.#track(
      this.#options.coordination
        .claimInput(deferral, Math.max(INPUT_CLAIM_TTL_MS, nextAllowedAt.getTime() - this.#options.now()))
        .catch(() => true)
        .then(async (mine) => {
          if (!mine) return;
          await this.#broadcast({
            kind: 'login-deferred',
            account: this.#options.account,
            reason,
            nextAllowedAt,
            retrying,
          });
        }),
    );
  }

  // ── the lock ─────────────────────────────────────────────────────────────────────────────────

  #lockRetryTimer: NodeJS.Timeout | undefined;

  #lookAgainAfterLock(reason: LoginReason): void {
    if (this.#lockRetryTimer !== undefined || this.#stopped) return;
    this.#lockRetryTimer = setTimeout(() => {
      this.#lockRetryTimer = undefined;
      this.#track(
        this.#options.coordination.loadPending().then(async (pending) => {
          if (pending !== undefined) this.#adoptPending(pending);
          else if (this.#tokens.current() === undefined || reason === 'operator-request')
            await this.requestLogin(reason);
        }),
      );
    }, this.#options.lockTtlMs + 1_000);
    this.#lockRetryTimer.unref();
  }

  /**
   * Renews the login lock while this relay holds it (step 1 may take a while with retries). The
   * returned signal aborts when the lock is lost: renewal refused (another relay holds it, or it
   * expired while this process was paused), or not confirmed for a whole TTL (Redis unreachable), so
   * the lock may have expired. Step 1 stops then, and the login is not recorded.
   */
  #keepLock(): AbortSignal {
    clearInterval(this.#lockTimer);
    const lost = new AbortController();
    const { relayId, lockTtlMs } = this.#options;
    let confirmedAtMs = this.#options.now();
    const lose = (why: string): void => {
      if (lost.signal.aborted) return;
      this.#log.warn({ why }, 'login lock lost; this login stops');
      clearInterval(this.#lockTimer);
      this.#lockTimer = undefined;
      lost.abort(new Error(`login lock lost: ${why}`));
    };
    this.#lockTimer = setInterval(() => {
      // A renewal that hangs (a stalled Redis) never answers: the TTL passing is enough.
      if (this.#options.now() - confirmedAtMs >= lockTtlMs) {
        lose('not renewed within its TTL');
        return;
      }
      // Judged against when the renewal was sent: a reply delayed past the TTL proves nothing.
      const sentAtMs = this.#options.now();
      void this.#options.coordination.renewLock(relayId, lockTtlMs).then(
        (held) => {
          if (held) confirmedAtMs = sentAtMs;
          else lose('renewal refused');
        },
        (error: unknown) => {
          this.#log.warn({ err: errorFields(error) }, 'login lock not renewed');
          if (this.#options.now() - confirmedAtMs >= lockTtlMs) lose('not renewed within its TTL');
        },
      );
    }, lockTtlMs / 3);
    this.#lockTimer.unref();
    return lost.signal;
  }

  async #releaseLock(): Promise<void> {
    if (this.#lockTimer === undefined) return;
    clearInterval(this.#lockTimer);
    this.#lockTimer = undefined;
    await this.#quietly(this.#options.coordination.releaseLock(this.#options.relayId));
  }

  // ── commands ─────────────────────────────────────────────────────────────────────────────────

  async #onLoginCommand(input: {
    operatorId: string;
    force?: boolean;
    respond: (notice: OperatorNotice) => Promise<void>;
  }): Promise<void> {
    const force = input.force === true;
    this.#log.info({ operatorId: input.operatorId, force }, '/login');
    // Another relay (or an earlier run) may have halted logins since this one last looked.
    const halt = await this.#options.coordination.loadHalt().catch(() => this.#halted);
    this.#halted = halt;
    if (halt !== undefined) {
      // The same credentials the broker refused would most likely be refused again, and repeated
      // refusals may lock the account: only an explicit "Try anyway" retries them. Changed ones
      // (the configuration was fixed and the relay restarted) just go.
      const unchanged =
        halt.credentials === undefined || sameCredentials(halt.credentials, this.#options.credentials);
      if (unchanged && !force) {
        this.#log.warn(
          { operatorId: input.operatorId, error: halt.error },
          '/login: halt kept; asked to confirm',
        );
        await this.#respond(input.respond, {
          kind: 'login-request',
          result: 'halt-confirm',
          haltError: halt.error,
        });
        return;
      }
      this.#log.warn(
        { operatorId: input.operatorId, error: halt.error, credentialsChanged: !unchanged },
        'halt lifted by an operator',
      );
      this.#halted = undefined;
      await this.#quietly(this.#options.coordination.saveHalt(undefined));
    }
    const request = await this.requestLogin('operator-request');
    await this.#respond(
      input.respond,
      request.result === 'rate-limited'
        ? { kind: 'login-request', result: 'rate-limited', nextAllowedAt: request.nextAllowedAt }
        : { kind: 'login-request', result: toRequestNotice(request.result) },
    );
  }

  async #onCancelCommand(input: {
    operatorId: string;
    respond: (notice: OperatorNotice) => Promise<void>;
  }): Promise<void> {
    const pending = await this.#options.coordination.loadPending();
    const cancellable = pending?.phase.kind === 'awaiting-code';
    this.#log.info({ operatorId: input.operatorId, cancellable }, '/cancel');
    const cancelled = cancellable ? await this.#onCancel(input.operatorId, pending.loginId) : false;
    await this.#respond(input.respond, { kind: 'cancel-request', cancelled });
  }

  async #answerStatus(respond: (notice: OperatorNotice) => Promise<void>): Promise<void> {
    let extras: Pick<StatusView, 'nextLogin' | 'recentLogins'> = { nextLogin: undefined, recentLogins: [] };
    let loginsLastHour = 0;
    try {
      extras = await this.#options.statusExtras();
      loginsLastHour = await this.#options.coordination.loginsInLastHour(this.#options.now());
    } catch (error) {
      // A status without its extras beats no status: they live in a Redis that may be down.
      this.#log.warn({ err: errorFields(error) }, 'status extras unavailable');
    }
    await this.#respond(respond, {
      kind: 'status',
      status: { ...this.statusView(loginsLastHour), ...extras },
    });
  }

  /** The `/status` view from the relay alone (no schedule, no audit trail). */
  public statusView(loginsLastHour = 0): StatusView {
    // The same picture as the readiness snapshot, with dates as dates.
    const { token, login } = this.snapshot();
    const { loginId: _loginId, deadline, ...loginState } = login;
    return {
      account: this.#options.account,
      token:
        token === undefined
          ? undefined
          : { generation: token.generation, expiresAt: new Date(token.expiresAt) },
      login: deadline === undefined ? loginState : { ...loginState, deadline: new Date(deadline) },
      nextLogin: undefined,
      lastFailure:
        this.#lastFailure === undefined
          ? undefined
          : { reason: this.#lastFailure.reason, at: new Date(this.#lastFailure.at) },
      halted: this.#halted,
      loginsLastHour,
      maxLoginsPerHour: this.#options.maxLoginsPerHour,
      recentLogins: [],
    };
  }

  // ── ports, with their failures contained ──────────────────────────────────────────────────────

  async #emit(event: RelayEvent): Promise<void> {
    await emitSafely(this.#options.events, event, this.#log);
  }

  async #showPrompt(
    login: Pick<PendingLogin, 'loginId' | 'reason' | 'deadline'>,
    state: PromptState,
  ): Promise<void> {
    const view: PromptView = {
      loginId: login.loginId,
      account: this.#options.account,
      reason: login.reason,
      deadline: login.deadline,
      state,
    };
    try {
      const known = this.#prompts;
      const refs = await this.#options.operators.showPrompt(view, known);
      if (this.#pendingLoginId() === login.loginId || this.#login.kind === 'ended') this.#prompts = refs;
      if (state.kind === 'open' && Object.keys(known).length === 0) {
        // Shared, so another relay or a restart edits these messages instead of sending new ones.
        await this.#quietly(this.#options.coordination.savePrompts(login.loginId, refs));
        this.#log.debug(
          { loginId: login.loginId, operators: Object.keys(refs).length },
          'prompt messages shared',
        );
      }
    } catch (error) {
      this.#log.error(
        { loginId: login.loginId, state: state.kind, err: errorFields(error) },
        'prompt not shown',
      );
    }
  }

  async #notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    try {
      await this.#options.operators.notify(operatorId, notice);
    } catch (error) {
      this.#log.error({ operatorId, notice: notice.kind, err: errorFields(error) }, 'notice not sent');
    }
  }

  async #broadcast(notice: OperatorNotice): Promise<void> {
    try {
      await this.#options.operators.broadcast(notice);
    } catch (error) {
      this.#log.error({ notice: notice.kind, err: errorFields(error) }, 'broadcast not sent');
    }
  }

  async #respond(respond: (notice: OperatorNotice) => Promise<void>, notice: OperatorNotice): Promise<void> {
    try {
      await respond(notice);
    } catch (error) {
      this.#log.error({ notice: notice.kind, err: errorFields(error) }, 'command answer not sent');
    }
  }

  /** Awaits a coordination write whose failure must not stop the flow (it is logged). */
  async #quietly(work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (error) {
      this.#log.error({ err: errorFields(error) }, 'coordination store write failed');
    }
  }

  /** Calls an observer hook; a failing observer never disturbs a login. */
  #observe<K extends keyof RelayObserver>(hook: K, ...args: Parameters<NonNullable<RelayObserver[K]>>): void {
    const observer = this.#options.observer;
    const fn = observer[hook] as ((...a: typeof args) => void) | undefined;
    try {
      fn?.apply(observer, args);
    } catch (error) {
      this.#log.warn({ hook, err: errorFields(error) }, 'observer failed');
    }
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.then(
      () => undefined,
      (error: unknown) => {
        this.#log.error({ err: errorFields(error) }, 'relay task failed');
      },
    );
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}

/** A login request's result as `/login` reports it. */
function toRequestNotice(
  result: 'started' | 'already-running' | 'halted' | 'needs-operator' | 'unavailable',
): 'started' | 'already-running' | 'halted' | 'unavailable' {
  // An operator's request never waits for an operator; the mapping only satisfies the type.
  return result === 'needs-operator' ? 'already-running' : result;
}

/** This relay's view of a shared pending login. */
function toPending(shared: SharedLogin): PendingLogin {
  return {
    loginId: shared.loginId,
    reason: shared.reason,
    startedAt: shared.startedAt,
    interim: shared.interim,
    deadline: shared.deadline,
    attemptsUsed: shared.attemptsUsed,
    promptedAt: shared.promptedAt,
    codeKey: shared.codeKey,
  };
}
