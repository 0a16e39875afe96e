import { BrokerError } from '../../src/domain/broker-errors.js';
import type { Broker, StartLoginResult, SubmitCodeResult } from '../../src/relay/ports/broker.js';
import type { RelaySnapshot } from '../../src/relay/state.js';
import { Secret } from '../../src/shared/secret.js';
import { never, type RelayControl } from './model-store.js';

/**
 * The broker of the login model: step 1 gives a fresh interim each call and "sends" its code by
 * SMS (recorded, so that operators of the model can type it), or fails transiently, or is held
 * until the test releases it; step 2 accepts exactly the code sent for that interim and refuses
 * every other one, at once or when released. Every call is recorded, with the relay that made it.
 */

/** How long the broker client waits for an answer (EtnaBroker's `requestTimeoutMs`). */
const BROKER_TIMEOUT_MS = 15_000;

/** What the next step-1 call does. */
/**
 * `fatal`: the broker refuses the credentials (a halt); `code-then-pause`: the SMS goes out and the
 * calling relay is paused as the answer comes back (before it can save its login).
 */
export type StepOnePlan = 'code' | 'transient' | 'hold' | 'fatal' | 'code-then-pause';

/** An SMS the broker sent: the code of one interim. */
export interface Sms {
  readonly interim: string;
  readonly code: string;
  readonly atMs: number;
}

/** A step-1 call, with what its relay was doing. */
export interface StepOneCall {
  readonly relayId: string;
  readonly atMs: number;
  readonly login: RelaySnapshot['login'];
  done: boolean;
}

/** A code that reached the broker. */
export interface Submit {
  readonly relayId: string;
  readonly interim: string;
  readonly code: string;
  readonly atMs: number;
}

/** What the broker lets the world check at each call. */
export interface BrokerHooks {
  stepOne(call: StepOneCall, inFlight: readonly StepOneCall[]): void;
  submit(submit: Submit, earlier: readonly Submit[], accepted: boolean): void;
  /** Pauses a relay (its store calls wait): `code-then-pause`. */
  pause?(control: RelayControl): void;
}

/** The model's broker, shared by every relay of a world. */
export class ModelBroker {
  public readonly sms: Sms[] = [];
  public readonly stepOneCalls: StepOneCall[] = [];
  public readonly submits: Submit[] = [];
  /** Plans of the next step-1 calls, first first; `code` when empty. */
  public readonly stepOnePlans: StepOnePlan[] = [];
  /** Step 2 answers only when released while set. */
  public holdStepTwo = false;
  /** Interims a token was given for. */
  readonly #accepted = new Set<string>();
  readonly #held: (() => void)[] = [];
  #interims = 0;
  #tokens = 0;

  /**
   * `codeBase`: where this broker's codes start (100000, 101013, …), so that two accounts' brokers
   * never text the same code.
   */
  public constructor(
    private readonly hooks: BrokerHooks,
    private readonly codeBase = 100_000,
  ) {}

  /** The code the broker texts for `interim`. */
  public codeFor(interim: string): string {
    const n = Number(interim.slice('interim-'.length));
    return String(this.codeBase + n * 1_013);
  }

  public get heldCalls(): number {
    return this.#held.length;
  }

  /** Answers every held call (a killed relay's answer is dropped). */
  public releaseHeld(): void {
    for (const release of this.#held.splice(0)) release();
  }

  /** A killed relay's calls: processed by the broker, answered to nobody. */
  public killed(relayId: string): void {
    for (const call of this.stepOneCalls) if (call.relayId === relayId) call.done = true;
  }

  /** The broker as relay `control` calls it; `login` is that relay's view when it calls. */
  public forRelay(control: RelayControl, login: () => RelaySnapshot['login']): Broker {
    return {
      startLogin: (signal) => this.#startLogin(control, login(), signal),
      submitCode: (interim, code) => this.#submitCode(control, interim.reveal(), code.reveal()),
      validate: async () => 'valid',
    };
  }

  #startLogin(
    control: RelayControl,
    login: RelaySnapshot['login'],
    signal: AbortSignal | undefined,
  ): Promise<StartLoginResult> {
    if (control.killed) return never();
    const call: StepOneCall = { relayId: control.relayId, atMs: Date.now(), login, done: false };
    this.hooks.stepOne(
      call,
      this.stepOneCalls.filter((other) => !other.done),
    );
    this.stepOneCalls.push(call);
    const sendSms = (): StartLoginResult => {
      call.done = true;
      this.#interims += 1;
      const interim = `interim-${this.#interims}`;
      this.sms.push({ interim, code: this.codeFor(interim), atMs: Date.now() });
      return { kind: 'code-required', interim: new Secret(interim) };
    };
    const plan = this.stepOnePlans.shift() ?? 'code';
    if (plan === 'transient') {
      call.done = true;
      return Promise.reject(new BrokerError({ kind: 'server-error', step: 'start-login', status: 503 }));
    }
    if (plan === 'fatal') {
      call.done = true;
      return Promise.reject(new BrokerError({ kind: 'bad-credentials', step: 'start-login', status: 401 }));
    }
    if (plan === 'code') return Promise.resolve(sendSms());
    if (plan === 'code-then-pause') {
      const result = sendSms();
      this.hooks.pause?.(control);
      return Promise.resolve(result);
    }
    return new Promise((resolve, reject) => {
      const abort = (error: Error): void => {
        if (call.done) return;
        call.done = true;
        clearTimeout(timeout);
        if (!control.killed) reject(error);
      };
      const onAbort = (): void =>
        abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      // The broker client gives up after its time-out, as EtnaBroker does.
      const timeout = setTimeout(
        () => abort(new BrokerError({ kind: 'timeout', step: 'start-login' })),
        BROKER_TIMEOUT_MS,
      );
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#held.push(() => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timeout);
        if (call.done) return; // aborted, timed out, or its relay killed
        const result = sendSms();
        if (!control.killed) resolve(result);
      });
    });
  }

  #submitCode(control: RelayControl, interim: string, code: string): Promise<SubmitCodeResult> {
    if (control.killed) return never();
    const submit: Submit = { relayId: control.relayId, interim, code, atMs: Date.now() };
    const earlier = this.submits.filter((s) => s.interim === interim);
    const accepted = code === this.codeFor(interim) && !this.#accepted.has(interim);
    this.hooks.submit(submit, earlier, this.#accepted.has(interim));
    this.submits.push(submit);
    if (accepted) this.#accepted.add(interim);
    const answer = (): SubmitCodeResult => {
      if (!accepted) return { kind: 'code-rejected', interimSpent: false };
      this.#tokens += 1;
      return { kind: 'token', token: new Secret(`final-token-${this.#tokens}`) };
    };
    if (!this.holdStepTwo) return Promise.resolve(answer());
    return new Promise((resolve, reject) => {
      let settled = false;
      // The broker client gives up after its time-out; whether the broker saw the code is unknown.
      const timeout = setTimeout(() => {
        settled = true;
        if (!control.killed) reject(new BrokerError({ kind: 'timeout', step: 'submit-code' }));
      }, BROKER_TIMEOUT_MS);
      this.#held.push(() => {
        clearTimeout(timeout);
        if (settled) return;
        settled = true;
        if (!control.killed) resolve(answer());
      });
    });
  }
}
