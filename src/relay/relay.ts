import { errorFields, type Logger } from '../shared/log.js';
import { Commands, snapshotOf, statusView } from './commands.js';
import { configFingerprint, configFingerprintAsync, credentialsDigest } from './digest.js';
import { InputClaims } from './inputs.js';
import { cancel, resend } from './login/buttons.js';
import { enterCode } from './login/code.js';
import { setTimeout as delay } from 'node:timers/promises';
import { CLAIM_TTL_MS, createLoginContext, type LoginContext } from './login/context.js';
import { follow, requestLogin, type LoginRequestResult } from './login/start.js';
import { notify } from './login/tell.js';
import { newRelayId, RELAY_DEFAULTS, type RelayOptions } from './options.js';
import type { LoginReason } from '../domain/vocabulary.js';
import type { OperatorInput, StatusView } from './ports/operators.js';
import type { TokenRecord } from './ports/token-store.js';
import type { RelaySnapshot } from './state.js';
import { TokenHolder } from './token-holder.js';

export type { StartRetryOptions } from './login/context.js';
export type { LoginRequestResult } from './login/start.js';
export type { RelayOptions } from './options.js';
export type { TokenListener } from './token-holder.js';

/** `make`'s value, made at the first call (a relay makes one credentials digest, however many halts). */
function once<T>(make: () => T): () => T {
  let made: { readonly value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** Beyond a broker call's time-out, what the relay that made it needs to record its answer. */
const EXCHANGE_MARGIN_MS = 15_000;

/** The published token as the start finds it, and the broker's verdict on it. */
export interface PublishedTokenCheck {
  readonly record: TokenRecord | undefined;
  readonly verdict?: 'valid' | 'invalid' | 'unchecked';
}

/**
 * The login of one account, as the rest of the relay sees it: from a trigger, through step 1, the
 * operators' prompt and step 2, to the published token. It builds the login's context and hands
 * each trigger and operator input to its flow in `login/` (start, code, deadline, buttons); the
 * token itself is {@link Relay.tokens}.
 *
 * Exactly-once rests on the coordination store: the lock and the pending login let one relay call
 * step 1 per login; each operator input is claimed once; a code is claimed for the broker with an
 * atomic compare-and-set, so it reaches the broker once, whichever relay received it.
 */
export class Relay {
  /** The account's published token: read, checked, invalidated and written back through it. */
  public readonly tokens: TokenHolder;
  readonly #options: Required<RelayOptions>;
  readonly #log: Logger;
  readonly #login: LoginContext;
  readonly #commands: Commands;
  /** Work started by inputs and timers, awaited by {@link Relay.idle} and {@link Relay.stop}. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Which operator inputs this relay takes (every relay receives every DM). */
  readonly #claims: InputClaims;
  /** The configuration fingerprint on its way (`fingerprintOnThreadPool`); `undefined` once known. */
  #fingerprint: Promise<void> | undefined;

  public constructor(options: RelayOptions) {
    // Per relay, not per process: two relays in one process must not share a lock owner.
    const relayId = options.relayId ?? newRelayId();
    const o: Required<RelayOptions> = (this.#options = { ...RELAY_DEFAULTS, ...options, relayId });
    this.#log = options.logger.child({ component: 'relay', account: o.account, relayId });
    this.tokens = new TokenHolder({
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
    const fingerprintOf = [
      o.account,
      o.credentials,
      [
        `codeTimeoutMs=${o.codeTimeoutMs}`,
        `maxCodeAttempts=${o.maxCodeAttempts}`,
        `maxLoginsPerHour=${o.maxLoginsPerHour}`,
        ...o.configParts,
      ],
      o.digestCost,
    ] as const;
    const settings = {
      account: o.account,
      codeTimeoutMs: o.codeTimeoutMs,
      maxCodeAttempts: o.maxCodeAttempts,
      maxLoginsPerHour: o.maxLoginsPerHour,
      lockTtlMs: o.lockTtlMs,
      startRetry: o.startRetry,
      // The broker's answer to a code sent just before the deadline, and the token's write after it.
      exchangeGraceMs: o.brokerCallTimeoutMs + EXCHANGE_MARGIN_MS,
      credentialsDigest: once(() => credentialsDigest(o.credentials, o.digestCost)),
      // Not read before `#fingerprint` settles (see `#ready`).
      fingerprint: o.fingerprintOnThreadPool ? '' : configFingerprint(...fingerprintOf),
    };
    this.#fingerprint = o.fingerprintOnThreadPool
      ? configFingerprintAsync(...fingerprintOf).then((fingerprint) => {
          settings.fingerprint = fingerprint;
          this.#fingerprint = undefined;
        })
      : undefined;
    this.#fingerprint?.catch(() => undefined); // awaited by every path that reads it
    const login = (this.#login = createLoginContext({
      settings,
      relayId,
      broker: o.broker,
      operators: o.operators,
      events: o.events,
      coordination: o.coordination,
      tokens: this.tokens,
      logger: this.#log,
      observer: o.observer,
      now: o.now,
      random: o.random,
      newLoginId: o.newLoginId,
      track: (work) => this.#track(work),
    }));
    this.#claims = new InputClaims({
      coordination: o.coordination,
      logger: this.#log,
      now: o.now,
      notify: (operatorId, notice) => notify(login, operatorId, notice),
    });
    this.#commands = new Commands({
      coordination: o.coordination,
      logger: this.#log,
      now: o.now,
      maxLoginsPerHour: o.maxLoginsPerHour,
      credentials: o.credentials,
      snapshot: () => this.snapshot(),
      requestLogin: () => this.requestLogin('operator-request'),
      haltKnown: (halt) => login.dispatch({ type: 'halt', halt }),
      cancel: (operatorId, loginId) => cancel(login, operatorId, loginId),
      statusExtras: o.statusExtras,
    });
  }

  /**
   * Carries on a pending login (after a restart, no new SMS and no new DM), then looks at what is
   * published: a token the broker still accepts is kept, and nothing else happens. Otherwise a login
   * starts. `published`: {@link Relay.checkPublishedToken}, when the caller started it earlier.
   */
  public async start(published: Promise<PublishedTokenCheck> = this.checkPublishedToken()): Promise<void> {
    const coordination = this.#options.coordination;
    this.#login.dispatch({ type: 'halt', halt: await coordination.loadHalt() });
    const pending = await coordination.loadPending();
    // Only a login needs the fingerprint: a relay that keeps its token starts without waiting for it.
    if (pending !== undefined) {
      await this.#fingerprint;
      follow(this.#login, pending);
    }
    const { record, verdict } = await published;
    if (record !== undefined) {
      if (verdict !== 'invalid') {
        this.tokens.adopt(record);
        this.#log.info(
          { generation: record.generation, expiresAt: record.expiresAt, check: verdict },
          'published token kept',
        );
        return;
      }
      await this.tokens.invalidate(record, 'rejected by the broker at startup');
    }
    if (pending === undefined) await this.requestLogin('startup');
  }

  /**
   * Reads the published token and asks the broker whether it still works: what {@link Relay.start}
   * decides on, with no effect of its own. The composition runs it while the rest of the relay
   * starts (the broker's round trip beside the Discord gateway's), and hands it to `start`.
   * Rejects only when the store cannot be read.
   */
  public async checkPublishedToken(): Promise<PublishedTokenCheck> {
    const record = await this.#options.store.read();
    return record === undefined ? { record } : { record, verdict: await this.tokens.check(record) };
  }

  /**
   * Starts a login unless one is running (here or on another relay), logins are halted, the SMS
   * guard holds it back, or (for automatic triggers) the last login ended without a token and waits
   * for an operator. Resolves once that is decided; the login goes on in the background (see
   * {@link Relay.idle}).
   */
  public requestLogin(reason: LoginReason): Promise<LoginRequestResult> {
    const decided = (
      this.#fingerprint === undefined
        ? requestLogin(this.#login, reason)
        : this.#fingerprint.then(() => requestLogin(this.#login, reason))
    ).catch((error: unknown) => {
      this.#log.error({ reason, err: errorFields(error) }, 'login request failed');
      return { result: 'unavailable' } as const;
    });
    this.#track(decided);
    return decided;
  }

  /** Handles one parsed operator input. Never throws; failures are logged and told to the operator. */
  public handleInput(input: OperatorInput): void {
    if (input.kind === 'during-shutdown')
      return this.#track(this.#duringShutdown(input.operatorId, input.inputId));
    if (this.#login.signal.aborted) return;
    this.#track(this.#handle(input));
  }

  /** A picture of the relay with no secret in it. */
  public snapshot(): RelaySnapshot {
    const { account } = this.#options;
    const fingerprint = this.#fingerprint === undefined ? this.#login.settings.fingerprint : undefined;
    return snapshotOf(account, this.#login.view(), this.tokens.current(), fingerprint);
  }

  /** The `/status` view from the relay alone (no schedule, no audit trail). */
  public statusView(loginsLastHour = 0): StatusView {
    return statusView(this.snapshot(), loginsLastHour, this.#options.maxLoginsPerHour);
  }

  /** What this relay is still doing, for the log when a shutdown's deadline passes. No secret. */
  public unfinished(): { readonly codeExchange?: string; readonly tokenWrite?: { expiresAt: string } } {
    const login = this.#login.view().login;
    const write = this.tokens.writing();
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
    this.#login.stop();
    await this.idle();
    this.tokens.stop();
    await this.#login.lock.release();
  }

  async #handle(input: OperatorInput): Promise<void> {
    if (this.#fingerprint !== undefined) await this.#fingerprint;
    // Every relay receives the same DM: only the one that claims it acts and answers. Commands are
    // already single: only one relay's acknowledgement of an interaction succeeds. A code's claim
    // goes with the code's own claim, in one store call (see login/code.ts).
    if (input.kind === 'code') {
      if (this.#claims.firstDelivery(input.inputId)) await enterCode(this.#login, input);
      return;
    }
    if (input.kind === 'account-chosen') {
      // The operator hub's own (which account a code is for): it never hands one to a login.
      this.#log.warn({ operatorId: input.operatorId }, 'ignored an account choice: the hub answers those');
      return;
    }
    if (input.kind !== 'command' && !(await this.#claims.claim(input))) return;
    switch (input.kind) {
      case 'unclear':
        return notify(this.#login, input.operatorId, { kind: 'help' });
      case 'resend':
        return resend(this.#login, input.operatorId, input.loginId);
      case 'cancel':
        await cancel(this.#login, input.operatorId, input.loginId);
        return;
      case 'command':
        return this.#commands.handle(input);
    }
  }

  /**
   * A DM this relay's channel did not read (it stops taking input). Every relay gets the DM: one that
   * runs takes it within a moment. If none did, this one tells the operator to send it again, so a
   * lone relay's restart never swallows a code in silence.
   */
  async #duringShutdown(operatorId: string, inputId: string): Promise<void> {
    await delay(this.#options.shutdownAnswerAfterMs);
    const mine = await this.#options.coordination.claimInput(inputId, CLAIM_TTL_MS).catch(() => true);
    if (mine) await notify(this.#login, operatorId, { kind: 'restarting' });
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
