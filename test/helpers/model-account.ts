import { AsyncLocalStorage } from 'node:async_hooks';
import type { EndedLogin } from '../../src/domain/login.js';
import type { LoginCoordination } from '../../src/relay/ports/coordination.js';
import type { OperatorChannel, OperatorInput, PromptView } from '../../src/relay/ports/operators.js';
import type { EventPublisher, TokenStore } from '../../src/relay/ports/token-store.js';
import { Relay } from '../../src/relay/relay.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import { ModelBroker, type StepOneCall, type Submit } from './model-broker.js';
import { GatedCoordination, never, type RelayControl, type StoreTracker } from './model-store.js';

/**
 * One account of the login model: its broker, its coordination store (as a {@link StoreTracker}
 * mirrors it), its token store and events, the relays it starts, and the invariants of the login
 * protocol that hold per account (one step 1 at a time and never while halted, one SMS budget, a
 * code sent once per login, never after the login's token or deadline, …). Its worlds:
 * test/helpers/model-world.ts (one account) and model-accounts-world.ts (two).
 */

export const CODE_TIMEOUT_MS = 5 * 60_000;
export const LOCK_TTL_MS = 15_000;
export const MAX_LOGINS_PER_HOUR = 3;
export const MAX_CODE_ATTEMPTS = 3;
const AUTOMATIC: ReadonlySet<string> = new Set(['renewal', 'token-invalid', 'bot-request']);
const FINAL_PROMPTS: ReadonlySet<string> = new Set([
  'succeeded',
  'rejected',
  'expired',
  'cancelled',
  'failed',
]);

/** Which input's handling a call is part of (set around every delivery). */
export const inputContext = new AsyncLocalStorage<{ readonly inputId: string }>();

/** An operator input of the model, as written (it may be delivered late, or twice). */
export type ModelInput = Exclude<OperatorInput, { kind: 'command' }>;

/** Wraps a port so that a killed relay's calls never answer. */
export function killable<T extends object>(port: T, control: RelayControl): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        control.killed ? never() : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}

/** Options of {@link AccountModel}. */
export interface AccountModelOptions {
  /** `RELAY_ACCOUNT`. */
  readonly name: string;
  /** The account's coordination store, as every relay of the account shares it. */
  readonly coordination: LoginCoordination;
  readonly tracker: StoreTracker;
  /** The world's log. */
  readonly log: string[];
  /** Pauses a relay (`code-then-pause`): its world decides what else pauses with it. */
  readonly pause: (control: RelayControl) => void;
  /** The code input a submit made while handling input `inputId` carries (for a press: the held reply). */
  readonly codeInput: (inputId: string) => ModelInput | undefined;
  /** Where the broker's codes start: two accounts' brokers never text the same code. */
  readonly codeBase?: number;
  /** How login IDs start (`L1`, `L2`, …): unique across accounts, as real ones are. */
  readonly loginPrefix?: string;
  /** More checks of each code that reaches the broker: across accounts. */
  readonly submitted?: (submit: Submit, inputId: string | undefined) => void;
}

export class AccountModel {
  public readonly name: string;
  public readonly broker: ModelBroker;
  public readonly tracker: StoreTracker;
  public readonly store: MemoryTokenStore;
  public readonly events = new MemoryEventPublisher();
  /** Logins whose prompts were shown, first shown first. */
  public readonly promptedLogins: string[] = [];
  readonly #o: AccountModelOptions;
  /** Set once a login ended without a token (when, and which), until a person acts. */
  #needsPerson: { readonly since: number; readonly loginId: string } | undefined;
  /** Login ID → how many relays reported its ending. */
  readonly #endings = new Map<string, number>();
  /** Login ID → the first final state its prompt showed. */
  readonly #finalPrompt = new Map<string, string>();
  readonly #firstStepOne = new Map<string, number>();
  #loginIds = 0;
  #lastGeneration = 0;

  public constructor(options: AccountModelOptions) {
    this.#o = options;
    this.name = options.name;
    this.tracker = options.tracker;
    this.store = new MemoryTokenStore({ account: options.name });
    this.broker = new ModelBroker(
      {
        stepOne: (call, inFlight) => this.#checkStepOne(call, inFlight),
        submit: (submit, earlier, accepted) => this.#checkSubmit(submit, earlier, accepted),
        pause: (control) => options.pause(control),
      },
      options.codeBase,
    );
  }

  /**
   * A relay of this account (a replica, or one restarted after a kill) speaking to `operators`.
   * `otherConfig`: one whose credentials differ from the others' (a password rotated on it only).
   */
  public newRelay(control: RelayControl, operators: OperatorChannel, otherConfig = false): Relay {
    let relay: Relay | undefined = undefined;
    relay = new Relay({
      account: this.name,
      codeTimeoutMs: CODE_TIMEOUT_MS,
      tokenLifetimeMs: 24 * 3_600_000,
      maxCodeAttempts: MAX_CODE_ATTEMPTS,
      maxLoginsPerHour: MAX_LOGINS_PER_HOUR,
      lockTtlMs: LOCK_TTL_MS,
      broker: this.broker.forRelay(control, () => relay!.snapshot().login),
      operators,
      store: killable<TokenStore>(this.store, control),
      events: killable<EventPublisher>(this.events, control),
      coordination: this.gated(control),
      logger: createLogger({ level: 'silent' }),
      relayId: control.relayId,
      newLoginId: () => `${this.#o.loginPrefix ?? 'L'}${++this.#loginIds}`,
      random: () => 0.5,
      digestCost: 2 ** 8,
      credentials: [new Secret(otherConfig ? 'rotated-password' : 'password')],
      observer: { loginEnded: (login) => this.#loginEnded(login, control.relayId) },
    });
    return relay;
  }

  /** The account's coordination store as a relay of `control` reaches it (with its faults). */
  public gated(control: RelayControl): GatedCoordination {
    return new GatedCoordination(this.#o.coordination, this.tracker, control);
  }

  /** Codes of the SMS sent so far, oldest first. */
  public smsCodes(): string[] {
    return this.broker.sms.map((sms) => sms.code);
  }

  /** A person acted: automatic logins may go again. */
  public personActed(): void {
    this.#needsPerson = undefined;
  }

  public prompted(view: PromptView): void {
    if (!this.promptedLogins.includes(view.loginId)) this.promptedLogins.push(view.loginId);
    this.#o.log.push(`prompt ${view.loginId}: ${view.state.kind}`);
    const final = this.#finalPrompt.get(view.loginId);
    if (final !== undefined && final !== view.state.kind) {
      this.tracker.violations.push(`${view.loginId}'s prompt went from ${final} to ${view.state.kind}`);
    }
    if (final === undefined && FINAL_PROMPTS.has(view.state.kind))
      this.#finalPrompt.set(view.loginId, view.state.kind);
  }

  /** Checks what the account's stores and events hold now; the violations go to the tracker's. */
  public async check(): Promise<void> {
    const v = this.tracker.violations;
    const record = await this.store.read();
    if (record !== undefined) {
      if (record.generation < this.#lastGeneration) {
        v.push(`generation went back from ${this.#lastGeneration} to ${record.generation}`);
      }
      this.#lastGeneration = Math.max(this.#lastGeneration, record.generation);
    }
    let last = 0;
    for (const event of this.events.events) {
      if (event.type !== 'token.updated') continue;
      if (event.generation <= last) v.push(`token.updated generation ${event.generation} after ${last}`);
      last = event.generation;
    }
  }

  #loginEnded(login: EndedLogin, relayId: string): void {
    this.#o.log.push(`${relayId}: ended ${login.loginId}: ${login.outcome}`);
    const reports = (this.#endings.get(login.loginId) ?? 0) + 1;
    this.#endings.set(login.loginId, reports);
    if (reports > 1) this.tracker.violations.push(`${login.loginId}'s ending reported ${reports} times`);
    if (login.outcome === 'succeeded') this.#needsPerson = undefined;
    // An abandoned login was never the account's: another one is, or none started.
    else if (login.outcome !== 'abandoned')
      this.#needsPerson ??= { since: Date.now(), loginId: login.loginId };
  }

  #checkStepOne(call: StepOneCall, inFlight: readonly StepOneCall[]): void {
    const v = this.tracker.violations;
    const { relayId, login } = call;
    this.#o.log.push(`step 1 by ${relayId} for ${login.loginId ?? '?'} (${login.reason ?? '?'})`);
    if (this.tracker.halted) v.push(`step 1 by ${relayId} while logins are halted`);
    const owner = this.tracker.lockOwner();
    if (owner !== relayId) v.push(`step 1 by ${relayId}, whose lock is lost (held by ${owner ?? 'nobody'})`);
    for (const other of inFlight) {
      if (other.relayId !== relayId) v.push(`step 1 by ${relayId} while ${other.relayId}'s is in flight`);
    }
    const loginId = login.loginId ?? '?';
    const first = this.#firstStepOne.get(loginId) ?? call.atMs;
    this.#firstStepOne.set(loginId, first);
    // Every relay is held to it, also one that never saw that login: the store says so (P:waiting:A).
    const needs = this.#needsPerson;
    if (needs !== undefined && first >= needs.since && AUTOMATIC.has(login.reason ?? '')) {
      v.push(`step 1 for an automatic ${login.reason} login after ${needs.loginId} ended without a token`);
    }
  }

  #checkSubmit(submit: Submit, earlier: readonly Submit[], accepted: boolean): void {
    const v = this.tracker.violations;
    const login = this.tracker.logins.get(submit.interim);
    this.#o.log.push(`step 2 by ${submit.relayId} for ${login?.loginId ?? '?'}`);
    const inputId = inputContext.getStore()?.inputId;
    this.#o.submitted?.(submit, inputId);
    if (login === undefined) {
      v.push(`a code reached the broker for an interim no saved login has`);
      return;
    }
    if (earlier.some((s) => s.code === submit.code)) v.push(`the same code sent twice to ${login.loginId}`);
    if (earlier.length >= MAX_CODE_ATTEMPTS)
      v.push(`more than ${MAX_CODE_ATTEMPTS} codes sent to ${login.loginId}`);
    if (accepted) v.push(`a code sent to ${login.loginId} after it got its token`);
    if (submit.atMs >= login.deadlineMs) v.push(`a code sent to ${login.loginId} after its deadline`);
    const input = inputId === undefined ? undefined : this.#o.codeInput(inputId);
    if (input?.kind !== 'code') {
      v.push(`a code reached the broker for ${login.loginId} without an operator's code input`);
      return;
    }
    if (input.code.reveal() !== submit.code) v.push(`input ${input.inputId}'s code changed on its way`);
    if (input.loginId !== undefined && input.loginId !== login.loginId) {
      v.push(`a modal code for ${input.loginId} went to ${login.loginId}`);
    }
    if (input.loginId === undefined && input.sentAt.getTime() < login.promptedAtMs) {
      v.push(`a reply written before ${login.loginId}'s prompt went to it`);
    }
  }
}
