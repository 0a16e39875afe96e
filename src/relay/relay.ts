import { randomUUID } from 'node:crypto';
import type { Broker } from './ports/broker.js';
import { errorFields, type Logger } from '../shared/log.js';
import type {
  LoginReason,
  OperatorChannel,
  OperatorInput,
  OperatorNotice,
  StatusView,
} from './ports/operators.js';
import type { Secret } from '../shared/secret.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from './ports/token-store.js';
import { Commands, statusView } from './commands.js';
import type { LoginCoordination } from './ports/coordination.js';
import { credentialsDigest } from './digest.js';
import { INPUT_CLAIM_TTL_MS, LoginRunner } from './login/runner.js';
import type { LoginRequestResult, StartRetryOptions } from './login/types.js';
import type { RelayObserver, RelaySnapshot } from './state.js';
import { emitSafely, TokenHolder, type TokenListener } from './token-holder.js';

export type { LoginRequestResult, StartRetryOptions } from './login/types.js';
export type { TokenListener } from './token-holder.js';

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
  /** This relay's name in the lock and in claims; unique per relay (a new one when omitted). */
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
  now: () => Date.now(),
  newLoginId: () => randomUUID().slice(0, 8),
  publishRetryMs: 1_000,
  lockTtlMs: 15_000,
  startRetry: { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 30_000 },
  random: Math.random,
  observer: {},
  credentials: [],
  statusExtras: async () => ({ nextLogin: undefined, recentLogins: [] }),
} as const satisfies Required<Omit<RelayOptions, keyof RelayRequiredOptions | 'relayId'>>;

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

/**
 * The login flow of one account, as the rest of the relay sees it: from a trigger, through step 1,
 * the operators' prompt and step 2, to the published token. A facade: one login's states and
 * transitions are in `login/machine.ts` (pure), its effects run in `login/runner.ts`, the commands
 * in `commands.ts`, the token in `token-holder.ts`.
 *
 * Exactly-once rests on the coordination store: the lock and the pending login let one relay call
 * step 1 per login; each operator input is claimed once; a code is claimed for the broker with an
 * atomic compare-and-set, so it reaches the broker once, whichever relay received it.
 */
export class Relay {
  readonly #options: Required<RelayOptions>;
  readonly #log: Logger;
  readonly #tokens: TokenHolder;
  readonly #runner: LoginRunner;
  readonly #commands: Commands;
  #stopped = false;
  /** Work started by inputs and timers, awaited by {@link Relay.idle} and {@link Relay.stop}. */
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Inputs whose claim the store answered (taken here or by another relay), and when each is
   * forgotten (epoch ms): a DM delivered again (a gateway resume) while the store is down is known.
   */
  readonly #claimsKnown = new Map<string, number>();

  public constructor(options: RelayOptions) {
    // Per relay, not per process: two relays in one process must not share a lock owner.
    const relayId = options.relayId ?? `relay-${randomUUID().slice(0, 8)}`;
    const o: Required<RelayOptions> = (this.#options = { ...DEFAULTS, ...options, relayId });
    this.#log = options.logger.child({ component: 'relay', account: o.account, relayId });
    this.#tokens = new TokenHolder({
      store: o.store,
      events: o.events,
      broker: o.broker,
      logger: this.#log,
      tokenLifetimeMs: o.tokenLifetimeMs,
      now: o.now,
      publishRetryMs: o.publishRetryMs,
      onPublished: (record) => {
        try {
          o.observer.tokenPublished?.({ generation: record.generation, expiresAt: record.expiresAt });
        } catch (error) {
          this.#log.warn({ hook: 'tokenPublished', err: errorFields(error) }, 'observer failed');
        }
      },
    });
    this.#runner = new LoginRunner({
      settings: {
        account: o.account,
        codeTimeoutMs: o.codeTimeoutMs,
        maxCodeAttempts: o.maxCodeAttempts,
        credentialsDigest: () => credentialsDigest(o.credentials),
      },
      relayId,
      maxLoginsPerHour: o.maxLoginsPerHour,
      lockTtlMs: o.lockTtlMs,
      startRetry: o.startRetry,
      broker: o.broker,
      operators: o.operators,
      events: o.events,
      coordination: o.coordination,
      tokens: this.#tokens,
      logger: this.#log,
      observer: o.observer,
      now: o.now,
      random: o.random,
      requestLogin: (reason) => this.requestLogin(reason),
      track: (work) => this.#track(work),
    });
    this.#commands = new Commands({
      coordination: o.coordination,
      logger: this.#log,
      now: o.now,
      maxLoginsPerHour: o.maxLoginsPerHour,
      credentials: o.credentials,
      snapshot: () => this.snapshot(),
      requestLogin: () => this.requestLogin('operator-request'),
      haltKnown: (halt) => this.#runner.run({ kind: 'halt-known', halt }),
      cancel: (operatorId, loginId) => this.#cancel(operatorId, loginId),
      statusExtras: o.statusExtras,
    });
  }

  /**
   * Carries on a pending login (after a restart, no new SMS and no new DM), then looks at what is
   * published: a token the broker still accepts is kept, and nothing else happens. Otherwise a login
   * starts.
   */
  public async start(): Promise<void> {
    const coordination = this.#options.coordination;
    await this.#runner.run({ kind: 'halt-known', halt: await coordination.loadHalt() });
    const pending = await coordination.loadPending();
    if (pending !== undefined) await this.#runner.run({ kind: 'adopt', pending });
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
   * for an operator. Resolves once that is decided; the login goes on in the background (see
   * {@link Relay.idle}).
   */
  public requestLogin(reason: LoginReason): Promise<LoginRequestResult> {
    return new Promise((resolve) => {
      const input = {
        kind: 'request',
        reason,
        loginId: this.#options.newLoginId(),
        now: this.#options.now(),
        stopped: this.#stopped,
      } as const;
      let answered = false;
      const chain = this.#runner.run(input, (reply) => {
        if (answered || typeof reply === 'boolean') return;
        answered = true;
        resolve(reply);
      });
      this.#track(chain.finally(() => answered || resolve({ result: 'unavailable' })));
    });
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

  /** Publishes an event for the bots (e.g. `token.checked`); a failure is logged, never thrown. */
  public async publishEvent(event: RelayEvent): Promise<void> {
    await emitSafely(this.#options.events, event, this.#log);
  }

  /** A picture of the relay with no secret in it. */
  public snapshot(): RelaySnapshot {
    const { login, halted, lastFailure } = this.#runner.view;
    const token = this.#tokens.current();
    const base = login.kind === 'none' ? {} : { loginId: login.loginId, reason: login.reason };
    return {
      account: this.#options.account,
      token: token === undefined ? undefined : { generation: token.generation, expiresAt: token.expiresAt },
      login:
        login.kind === 'none' || login.kind === 'starting'
          ? { state: login.kind, ...base }
          : login.kind === 'ended'
            ? { state: login.kind, ...base, outcome: login.outcome }
            : {
                state: login.kind,
                ...base,
                deadline: login.deadline.toISOString(),
                attemptsUsed: login.attemptsUsed,
              },
      halted: halted === undefined ? undefined : { error: halted.error, at: halted.at.toISOString() },
      lastFailure,
    };
  }

  /** Whether a token is published and not past its expiry. */
  public hasValidToken(): boolean {
    return this.#tokens.current() !== undefined;
  }

  /** The `/status` view from the relay alone (no schedule, no audit trail). */
  public statusView(loginsLastHour = 0): StatusView {
    return statusView(this.snapshot(), loginsLastHour, this.#options.maxLoginsPerHour);
  }

  /** What this relay is still doing, for the log when a shutdown's deadline passes. No secret. */
  public unfinished(): { readonly codeExchange?: string; readonly tokenWrite?: { expiresAt: string } } {
    const login = this.#runner.view.login;
    const write = this.#tokens.writing();
    return {
      ...(login.kind === 'exchanging' ? { codeExchange: login.loginId } : {}),
      ...(write === undefined ? {} : { tokenWrite: { expiresAt: write.expiresAt.toISOString() } }),
    };
  }

  /** Resolves when no work started by inputs or timers is still running (for tests and shutdown). */
  public async idle(): Promise<void> {
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /**
   * Stops timers and waits, waits for work under way, and releases the login lock. A code already
   * at the broker, and the token write after it, are awaited: the token came from a human's code
   * (the caller bounds the wait). The pending login stays in the coordination store for another
   * relay, or this one after a restart.
   */
  public async stop(): Promise<void> {
    this.#stopped = true;
    this.#runner.stop();
    await this.idle();
    this.#tokens.stop();
    await this.#runner.releaseLock();
  }

  async #handle(input: OperatorInput): Promise<void> {
    // Every relay receives the same DM: only the one that claims it acts and answers. Commands are
    // already single: only one relay's acknowledgement of an interaction succeeds.
    if (input.kind !== 'command' && !(await this.#claimInput(input))) return;
    switch (input.kind) {
      case 'code':
        return this.#runner.run({ kind: 'code', input });
      case 'unclear':
        return this.#notify(input.operatorId, { kind: 'help' });
      case 'resend':
        return this.#runner.run({ kind: 'resend', operatorId: input.operatorId, loginId: input.loginId });
      case 'cancel':
        await this.#cancel(input.operatorId, input.loginId);
        return;
      case 'command':
        return this.#commands.handle(input);
    }
  }

  /** Claims an input across relays. A store failure is told to the operator: nothing was sent. */
  async #claimInput(input: Exclude<OperatorInput, { kind: 'command' }>): Promise<boolean> {
    const now = this.#options.now();
    for (const [inputId, forgetAtMs] of this.#claimsKnown)
      if (forgetAtMs <= now) this.#claimsKnown.delete(inputId);
    // Handled already (here or by another relay): a repeat is dropped, whatever the store says now.
    if (this.#claimsKnown.has(input.inputId)) return false;
    try {
      const taken = await this.#options.coordination.claimInput(input.inputId, INPUT_CLAIM_TTL_MS);
      this.#claimsKnown.set(input.inputId, now + INPUT_CLAIM_TTL_MS);
      if (taken && this.#options.now() - now >= INPUT_CLAIM_TTL_MS) {
        // Held up here (a stalled process) past the claims' memory: another relay may have taken
        // and answered it long ago. It is too old to act on either way.
        this.#log.warn(
          { operatorId: input.operatorId, input: input.kind },
          'input dropped: it came too late',
        );
        return false;
      }
      if (taken) return true;
      this.#log.debug({ operatorId: input.operatorId, input: input.kind }, 'input taken by another relay');
      return false;
    } catch (error) {
      // Whether another relay took it is unknown. Never silence: the operator tries again, with a
      // new message; a repeat delivery of this one is dropped (it had its answer).
      this.#claimsKnown.set(input.inputId, now + INPUT_CLAIM_TTL_MS);
      this.#log.error(
        { operatorId: input.operatorId, err: errorFields(error) },
        'input not taken: the coordination store failed',
      );
      await this.#notify(input.operatorId, { kind: 'input-not-taken' });
      return false;
    }
  }

  async #cancel(operatorId: string, loginId: string): Promise<boolean> {
    let cancelled = false;
    await this.#runner.run({ kind: 'cancel', operatorId, loginId }, (reply) => {
      if (typeof reply === 'boolean') cancelled = reply;
    });
    return cancelled;
  }

  async #notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    try {
      await this.#options.operators.notify(operatorId, notice);
    } catch (error) {
      this.#log.error({ operatorId, notice: notice.kind, err: errorFields(error) }, 'notice not sent');
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
