import { randomUUID } from 'node:crypto';
import { BrokerError, type BrokerStep } from '../broker/errors.js';
import type { Broker } from '../broker/types.js';
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
import { Secret } from '../secret.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from '../store/types.js';
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
import { LoginBudget } from './login-budget.js';

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
  logger: Logger;
  /** Current time in epoch ms; injectable for tests. */
  now?: () => number;
  /** New login ids; injectable for tests. */
  newLoginId?: () => string;
  /** First wait before publishing a token again after a failed store write. */
  publishRetryMs?: number;
  /** Metrics and audit hooks. */
  observer?: RelayObserver;
  /** What `/status` shows beyond the relay's own state: the next planned login, recent logins. */
  statusExtras?: () => Promise<Pick<StatusView, 'nextLogin' | 'recentLogins'>>;
}

const DEFAULTS = {
  now: () => Date.now(),
  newLoginId: () => randomUUID().slice(0, 8),
  publishRetryMs: 1_000,
  observer: {},
  statusExtras: async () => ({ nextLogin: undefined, recentLogins: [] }),
} as const satisfies Required<
  Pick<RelayOptions, 'now' | 'newLoginId' | 'publishRetryMs' | 'observer' | 'statusExtras'>
>;

/** The longest wait between two tries of a failed token write. */
const MAX_PUBLISH_RETRY_MS = 30_000;

/** What {@link Relay.requestLogin} did. */
export type LoginRequestResult =
  | { readonly result: 'started' | 'already-running' | 'halted' | 'needs-operator' }
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

/** Receives the published token whenever it changes (`undefined`: there is none now). */
export type TokenListener = (token: TokenRecord | undefined) => void;

/**
 * The login flow of one account: from a trigger, through step 1, the operators' prompt and step 2,
 * to the published token. It speaks only the three ports (broker, operators, store + events).
 *
 * Every handler checks and changes {@link LoginState} synchronously before its first `await`, so two
 * inputs arriving together can never both claim the same login: a code reaches the broker once.
 */
export class Relay {
  readonly #options: Required<RelayOptions>;
  readonly #log: Logger;
  #login: LoginState = { kind: 'none' };
  #token: TokenRecord | undefined;
  #halted: { error: BrokerError['kind']; at: string } | undefined;
  #lastFailure: FailureSummary | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #publishTimer: NodeJS.Timeout | undefined;
  #deferredTimer: NodeJS.Timeout | undefined;
  /** Set when the last login ended without a token: automatic triggers then wait for a person. */
  #waitingForOperator = false;
  readonly #budget: LoginBudget;
  readonly #tokenListeners = new Set<TokenListener>();
  #stopped = false;
  /** Work started by inputs and timers, awaited by {@link Relay.idle} and {@link Relay.stop}. */
  readonly #inFlight = new Set<Promise<void>>();

  public constructor(options: RelayOptions) {
    this.#options = { ...DEFAULTS, ...options };
    this.#log = options.logger.child({ component: 'relay', account: options.account });
    this.#budget = new LoginBudget({ maxPerHour: options.maxLoginsPerHour });
  }

  /**
   * Looks at what is published. A token the broker still accepts is kept, and nothing else happens:
   * no login, no DM. Otherwise a login starts.
   */
  public async start(): Promise<void> {
    const record = await this.#options.store.read();
    if (record !== undefined) {
      const verdict = await this.checkToken(record);
      if (verdict !== 'invalid') {
        this.#setToken(record);
        this.#log.info(
          { generation: record.generation, expiresAt: record.expiresAt, check: verdict },
          'published token kept',
        );
        return;
      }
      await this.invalidate(record, 'rejected by the broker at startup');
    }
    this.requestLogin('startup');
  }

  /**
   * Starts a login unless one is running, logins are halted, the SMS guard holds it back, or (for
   * automatic triggers) the last login ended without a token and waits for an operator. Returns at
   * once; the login goes on in the background (see {@link Relay.idle}).
   */
  public requestLogin(reason: LoginReason): LoginRequestResult {
    if (this.#stopped) return { result: 'already-running' };
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
    const spend = this.#budget.trySpend(this.#options.now());
    if (!spend.ok) {
      this.#deferLogin(reason, spend.nextAllowedAt);
      return { result: 'rate-limited', nextAllowedAt: spend.nextAllowedAt };
    }
    clearTimeout(this.#deferredTimer);
    this.#deferredTimer = undefined;
    this.#track(this.#runLogin(reason));
    return { result: 'started' };
  }

  /**
   * The published token, if it has not expired. Served from memory: the relay is its only writer.
   */
  public currentToken(): TokenRecord | undefined {
    const token = this.#token;
    return token !== undefined && Date.parse(token.expiresAt) > this.#options.now() ? token : undefined;
  }

  /** Calls `listener` whenever the published token changes. Returns the function that stops it. */
  public onTokenChange(listener: TokenListener): () => void {
    this.#tokenListeners.add(listener);
    return () => this.#tokenListeners.delete(listener);
  }

  /**
   * Asks the broker whether `record`'s token still works. `unchecked`: the broker could not be
   * reached or failed (a network error or 5xx is not a dead token).
   */
  public async checkToken(record: TokenRecord): Promise<'valid' | 'invalid' | 'unchecked'> {
    if (Date.parse(record.expiresAt) <= this.#options.now()) return 'invalid';
    try {
      return await this.#options.broker.validate(new Secret(record.token));
    } catch (error) {
      this.#log.warn(
        { generation: record.generation, err: errorFields(error) },
        'token could not be checked; kept',
      );
      return 'unchecked';
    }
  }

  /**
   * Removes a dead token from the store (only if it is still that generation) and tells the bots
   * with `token.invalidated`.
   */
  public async invalidate(record: TokenRecord, reason: string): Promise<void> {
    await this.#options.store.remove(record.generation);
    if (this.#token?.generation === record.generation) this.#setToken(undefined);
    this.#log.warn({ generation: record.generation, reason }, 'token invalidated');
    await this.#emit({ type: 'token.invalidated', generation: record.generation, reason });
  }

  /**
   * Forgets the token once it has expired (Redis drops the key by its TTL at the same moment) and
   * tells the bots.
   */
  public async expire(generation: number): Promise<void> {
    const token = this.#token;
    if (token?.generation !== generation || Date.parse(token.expiresAt) > this.#options.now()) return;
    this.#setToken(undefined);
    this.#log.warn({ generation }, 'token expired');
    await this.#emit({ type: 'token.invalidated', generation, reason: 'expired' });
  }

  /** Step-1 calls in the last hour, for `/status`. */
  public loginsLastHour(): number {
    return this.#budget.spent(this.#options.now()).length;
  }

  /** Handles one parsed operator input. Never throws; failures are logged and told to the operator. */
  public handleInput(input: OperatorInput): void {
    if (this.#stopped) return;
    switch (input.kind) {
      case 'code':
        this.#track(this.#onCode(input.operatorId, input.code, input.loginId));
        return;
      case 'resend':
        this.#track(this.#onResend(input.operatorId, input.loginId));
        return;
      case 'cancel':
        this.#track(this.#onCancel(input.operatorId, input.loginId));
        return;
      case 'command':
        this.#track(
          input.command === 'status'
            ? this.#answerStatus(input.respond)
            : input.command === 'login'
              ? this.#onLoginCommand(input)
              : this.#onCancelCommand(input),
        );
        return;
    }
  }

  /** A picture of the relay with no secret in it. */
  public snapshot(): RelaySnapshot {
    const login = this.#login;
    return {
      account: this.#options.account,
      token:
        this.#token === undefined
          ? undefined
          : { generation: this.#token.generation, expiresAt: this.#token.expiresAt },
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
      halted: this.#halted,
      lastFailure: this.#lastFailure,
    };
  }

  /** Whether a token is published and not past its expiry. */
  public hasValidToken(): boolean {
    return this.currentToken() !== undefined;
  }

  /** Resolves when no work started by inputs or timers is still running (for tests and shutdown). */
  public async idle(): Promise<void> {
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** Stops timers and waits for work under way. The pending login is left as it is. */
  public async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#publishTimer);
    clearTimeout(this.#deferredTimer);
    await this.idle();
  }

  // ── the login ──────────────────────────────────────────────────────────────────────────────────

  async #runLogin(reason: LoginReason): Promise<void> {
    const loginId = this.#options.newLoginId();
    const base: LoginBase = { loginId, reason, startedAt: new Date(this.#options.now()) };
    this.#login = { ...base, kind: 'starting' };
    this.#log.info({ loginId, reason }, 'login started');
    this.#observe('loginStarted', base);
    await this.#emit({ type: 'login.started', reason });

    let result;
    try {
      result = await this.#options.broker.startLogin();
    } catch (error) {
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
      this.#end({ ...base, attemptsUsed: 0 }, 'succeeded');
      await this.#publish(result.token);
      return;
    }

    const deadline = new Date(this.#options.now() + this.#options.codeTimeoutMs);
    const pending: PendingLogin = { ...base, interim: result.interim, deadline, attemptsUsed: 0 };
    this.#login = { ...pending, kind: 'awaiting-code' };
    this.#armDeadline(loginId, deadline);
    this.#log.info({ loginId, deadline: deadline.toISOString() }, 'code requested from operators');
    await this.#showPrompt(pending, { kind: 'open', attemptsLeft: this.#options.maxCodeAttempts });
  }

  async #onCode(operatorId: string, code: Secret, promptLoginId: string | undefined): Promise<void> {
    const login = this.#login;
    if (login.kind === 'exchanging') {
      await this.#notify(operatorId, { kind: 'busy', operatorId: login.operatorId });
      return;
    }
    if (login.kind !== 'awaiting-code') {
      await this.#notify(operatorId, { kind: 'no-pending-login' });
      return;
    }
    if (promptLoginId !== undefined && promptLoginId !== login.loginId) {
      await this.#notify(operatorId, { kind: 'prompt-inactive' });
      return;
    }

    // Claim the login before any await: a second code arriving now finds `exchanging`.
    const attempt = login.attemptsUsed + 1;
    const pending: PendingLogin = {
      loginId: login.loginId,
      reason: login.reason,
      startedAt: login.startedAt,
      interim: login.interim,
      deadline: login.deadline,
      attemptsUsed: attempt,
    };
    this.#login = { ...pending, kind: 'exchanging', operatorId };
    this.#log.info({ loginId: login.loginId, operatorId, attempt }, 'code received');
    this.#observe('codeReceived', {
      loginId: login.loginId,
      operatorId,
      attempt,
      // The deadline was set CODE_TIMEOUT after the prompt went out.
      waitedMs: this.#options.now() - (login.deadline.getTime() - this.#options.codeTimeoutMs),
    });
    await this.#showPrompt(pending, { kind: 'checking', operatorId });

    let result;
    try {
      result = await this.#options.broker.submitCode(login.interim, code);
    } catch (error) {
      // Whether the broker saw the code is unknown, and the same code must never be sent twice:
      // this login is over. "Send a new code" starts a fresh one.
      clearTimeout(this.#deadlineTimer);
      await this.#failLogin(pending, 'submit-code', error, login.deadline, operatorId);
      return;
    }

    if (result.kind === 'token') {
      clearTimeout(this.#deadlineTimer);
      this.#end(pending, 'succeeded', { operatorId });
      this.#log.info({ loginId: login.loginId, operatorId, attempt }, 'code accepted');
      const record = await this.#publish(result.token);
      const expiresAt = new Date(record.expiresAt);
      await this.#showPrompt(pending, { kind: 'succeeded', operatorId, expiresAt });
      await this.#notify(operatorId, { kind: 'logged-in', account: this.#options.account, expiresAt });
      return;
    }

    const attemptsLeft = this.#options.maxCodeAttempts - attempt;
    const pastDeadline = this.#options.now() >= login.deadline.getTime();
    this.#log.warn(
      { loginId: login.loginId, operatorId, attempt, attemptsLeft, interimSpent: result.interimSpent },
      'code rejected',
    );
    if (result.interimSpent || attemptsLeft <= 0 || pastDeadline) {
      clearTimeout(this.#deadlineTimer);
      const outcome: LoginOutcome =
        pastDeadline && !result.interimSpent && attemptsLeft > 0 ? 'expired' : 'rejected';
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

  async #onResend(operatorId: string, loginId: string): Promise<void> {
    const login = this.#login;
    if (login.kind === 'none' || login.loginId !== loginId) {
      await this.#notify(operatorId, { kind: 'prompt-inactive' });
      return;
    }
    if (login.kind === 'exchanging') {
      await this.#notify(operatorId, { kind: 'busy', operatorId: login.operatorId });
      return;
    }
    if (login.kind === 'starting') return; // the press that started it is still being served
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
    if (login.kind === 'awaiting-code') {
      // The operator got no SMS (or lost it): this login is replaced by a fresh one.
      clearTimeout(this.#deadlineTimer);
      this.#end(login, 'cancelled', { operatorId });
    }
    // Before any await: a second press on the same prompt now finds a new login id.
    const request = this.requestLogin('operator-request');
    if (login.kind === 'awaiting-code') await this.#showPrompt(login, { kind: 'cancelled', operatorId });
    if (request.result === 'rate-limited') {
      await this.#notify(operatorId, {
        kind: 'login-request',
        result: 'rate-limited',
        nextAllowedAt: request.nextAllowedAt,
      });
    }
  }

  async #onCancel(operatorId: string, loginId: string): Promise<void> {
    const login = this.#login;
    if (login.kind === 'exchanging' && login.loginId === loginId) {
      await this.#notify(operatorId, { kind: 'busy', operatorId: login.operatorId });
      return;
    }
    if (login.kind !== 'awaiting-code' || login.loginId !== loginId) {
      await this.#notify(operatorId, { kind: 'prompt-inactive' });
      return;
    }
    clearTimeout(this.#deadlineTimer);
    this.#end(login, 'cancelled', { operatorId });
    this.#log.info({ loginId, operatorId }, 'login cancelled by an operator');
    this.#recordFailure('cancelled', false);
    await this.#emit({ type: 'login.failed', reason: 'cancelled' });
    await this.#showPrompt(login, { kind: 'cancelled', operatorId });
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
    const login = this.#login;
    // A code being checked right now decides the login itself: it is not cut off mid-exchange.
    if (login.kind !== 'awaiting-code' || login.loginId !== loginId) return;
    this.#end(login, 'expired');
    this.#log.warn({ loginId }, 'no code arrived in time');
    this.#recordFailure('expired', false);
    await this.#emit({ type: 'login.failed', reason: 'expired' });
    await this.#showPrompt(login, { kind: 'expired' });
  }

  async #failLogin(
    login: LoginBase & { attemptsUsed: number },
    step: BrokerStep,
    error: unknown,
    deadline: Date,
    operatorId?: string,
  ): Promise<void> {
    const { loginId, reason } = login;
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
      // Retrying bad credentials can lock the account: nothing starts a login until a person acts.
      this.#halted = { error: brokerError.kind, at: new Date(this.#options.now()).toISOString() };
    }
    this.#log.error(
      { loginId, err: errorFields(brokerError), fatal },
      fatal ? 'login failed; logins halted until the configuration is fixed' : 'login failed',
    );
    await this.#emit({ type: 'login.failed', reason: brokerError.kind });
    await this.#showPrompt({ loginId, reason, deadline }, { kind: 'failed', error: brokerError.kind, fatal });
  }

  #end(
    login: LoginBase & { readonly attemptsUsed: number },
    outcome: LoginOutcome,
    details: Pick<EndedLogin, 'error' | 'operatorId'> = {},
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
    // A login replaced by a fresh one on an operator's press is not a login nobody answered.
    const replaced = outcome === 'cancelled' && this.#loginRunning();
    if (!replaced) this.#waitingForOperator = outcome !== 'succeeded';
    this.#observe('loginEnded', ended);
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

  #recordFailure(reason: string, fatal: boolean): void {
    this.#lastFailure = { reason, at: new Date(this.#options.now()).toISOString(), fatal };
  }

  // ── the token ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Publishes a new token and its `token.updated` event. A failed write is tried again with backoff
   * until it lands or the token expires: the token came from a human's code and must not be lost.
   */
  async #publish(token: Secret): Promise<TokenRecord> {
    const obtainedAt = new Date(this.#options.now());
    const expiresAt = new Date(obtainedAt.getTime() + this.#options.tokenLifetimeMs);
    let waitMs: number = this.#options.publishRetryMs;
    for (;;) {
      try {
        const record = await this.#options.store.publish({ token, obtainedAt, expiresAt });
        this.#setToken(record);
        this.#log.info({ generation: record.generation, expiresAt: record.expiresAt }, 'token published');
        this.#observe('tokenPublished', { generation: record.generation, expiresAt: record.expiresAt });
        await this.#emit({
          type: 'token.updated',
          generation: record.generation,
          expiresAt: record.expiresAt,
        });
        return record;
      } catch (error) {
        if (this.#stopped || this.#options.now() + waitMs >= expiresAt.getTime()) throw error;
        this.#log.error({ err: errorFields(error), retryInMs: waitMs }, 'token write failed; trying again');
        await new Promise<void>((resolve) => {
          this.#publishTimer = setTimeout(resolve, waitMs);
        });
        waitMs = Math.min(waitMs * 2, MAX_PUBLISH_RETRY_MS);
      }
    }
  }

  #loginRunning(): boolean {
    const kind = this.#login.kind;
    return kind === 'starting' || kind === 'awaiting-code' || kind === 'exchanging';
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
    if (retrying && this.#deferredTimer === undefined) {
      this.#deferredTimer = setTimeout(
        () => {
          this.#deferredTimer = undefined;
          this.requestLogin(reason);
        },
        Math.max(0, nextAllowedAt.getTime() - this.#options.now()),
      );
      this.#deferredTimer.unref();
    }
    if (retrying) {
      this.#track(
        this.#broadcast({
          kind: 'login-deferred',
          account: this.#options.account,
          reason,
          nextAllowedAt,
          retrying,
        }),
      );
    }
  }

  #setToken(token: TokenRecord | undefined): void {
    this.#token = token;
    for (const listener of this.#tokenListeners) {
      try {
        listener(token);
      } catch (error) {
        this.#log.warn({ err: errorFields(error) }, 'token listener failed');
      }
    }
  }

  // ── commands ─────────────────────────────────────────────────────────────────────────────────

  async #onLoginCommand(input: {
    operatorId: string;
    respond: (notice: OperatorNotice) => Promise<void>;
  }): Promise<void> {
    this.#log.info({ operatorId: input.operatorId }, '/login');
    const request = this.requestLogin('operator-request');
    await this.#respond(
      input.respond,
      request.result === 'rate-limited'
        ? { kind: 'login-request', result: 'rate-limited', nextAllowedAt: request.nextAllowedAt }
        : {
            kind: 'login-request',
            // An operator's request never waits for an operator; the mapping only satisfies the type.
            result: request.result === 'needs-operator' ? 'already-running' : request.result,
          },
    );
  }

  async #onCancelCommand(input: {
    operatorId: string;
    respond: (notice: OperatorNotice) => Promise<void>;
  }): Promise<void> {
    const login = this.#login;
    const cancellable = login.kind === 'awaiting-code';
    this.#log.info({ operatorId: input.operatorId, cancellable }, '/cancel');
    await this.#respond(input.respond, { kind: 'cancel-request', cancelled: cancellable });
    if (cancellable) await this.#onCancel(input.operatorId, login.loginId);
  }

  async #answerStatus(respond: (notice: OperatorNotice) => Promise<void>): Promise<void> {
    let extras: Pick<StatusView, 'nextLogin' | 'recentLogins'> = { nextLogin: undefined, recentLogins: [] };
    try {
      extras = await this.#options.statusExtras();
    } catch (error) {
      // A status without its extras beats no status: the audit trail may live in a Redis that is down.
      this.#log.warn({ err: errorFields(error) }, 'status extras unavailable');
    }
    await this.#respond(respond, { kind: 'status', status: { ...this.statusView(), ...extras } });
  }

  /** The `/status` view from the relay alone (no schedule, no audit trail). */
  public statusView(): StatusView {
    const login = this.#login;
    const token = this.currentToken();
    return {
      account: this.#options.account,
      token:
        token === undefined
          ? undefined
          : { generation: token.generation, expiresAt: new Date(token.expiresAt) },
      login:
        login.kind === 'none'
          ? { state: 'none' }
          : login.kind === 'awaiting-code' || login.kind === 'exchanging'
            ? {
                state: login.kind,
                reason: login.reason,
                deadline: login.deadline,
                attemptsUsed: login.attemptsUsed,
              }
            : login.kind === 'ended'
              ? { state: login.kind, reason: login.reason, outcome: login.outcome }
              : { state: login.kind, reason: login.reason },
      nextLogin: undefined,
      lastFailure:
        this.#lastFailure === undefined
          ? undefined
          : { reason: this.#lastFailure.reason, at: new Date(this.#lastFailure.at) },
      halted:
        this.#halted === undefined ? undefined : { error: this.#halted.error, at: new Date(this.#halted.at) },
      loginsLastHour: this.loginsLastHour(),
      maxLoginsPerHour: this.#options.maxLoginsPerHour,
      recentLogins: [],
    };
  }

  async #respond(respond: (notice: OperatorNotice) => Promise<void>, notice: OperatorNotice): Promise<void> {
    try {
      await respond(notice);
    } catch (error) {
      this.#log.error({ notice: notice.kind, err: errorFields(error) }, 'command answer not sent');
    }
  }

  // ── ports, with their failures contained ──────────────────────────────────────────────────────

  async #emit(event: RelayEvent): Promise<void> {
    try {
      await this.#options.events.publish(event);
    } catch (error) {
      // Events are a convenience; the token key is the truth. A lost event is logged, not fatal.
      this.#log.warn({ event: event.type, err: errorFields(error) }, 'event not published');
    }
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
      await this.#options.operators.showPrompt(view);
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

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.#log.error({ err: errorFields(error) }, 'relay task failed');
    });
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }
}
