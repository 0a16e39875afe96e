import { abortableSleep } from '../../shared/sleep.js';
import { errorFields, type Logger } from '../../shared/log.js';
import type { SharedLogin } from '../ports/coordination.js';
import { claimCode, findPrompts, stepOne, type CallContext } from './calls.js';
import { ENDING_CLAIM_TTL_MS, Teller, type Reply } from './teller.js';
import { LockKeeper } from './lock-keeper.js';
import type { LoginRunnerOptions } from './runner-options.js';
import { transition } from './machine.js';
import { INITIAL_VIEW, type LoginEffect, type LoginInput, type LoginView } from './types.js';

/** A code the broker has not judged by then is shown as being checked. */
const CHECKING_PROMPT_AFTER_MS = 250;
/** When the store failed at a deadline, how long until it is looked at again. */
const DEADLINE_RECHECK_MS = 5_000;

export { INPUT_CLAIM_TTL_MS, type Reply } from './teller.js';
export type { LoginRunnerOptions } from './runner-options.js';

/**
 * Runs the login's effects against the ports: the only place in relay/ where a login does I/O. Each
 * call's result goes back to {@link transition} as the next input; failures of the ports that only
 * tell someone something are contained and logged, never thrown into a login.
 */
export class LoginRunner {
  readonly #o: LoginRunnerOptions;
  readonly #log: Logger;
  readonly #lock: LockKeeper;
  /** Aborted by {@link LoginRunner.stop}: every wait of a login ends with it. */
  readonly #stopping = new AbortController();
  #view: LoginView = INITIAL_VIEW;
  readonly #teller: Teller;

  public constructor(options: LoginRunnerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#lock = new LockKeeper({
      coordination: options.coordination,
      owner: options.relayId,
      ttlMs: options.lockTtlMs,
      now: options.now,
      logger: options.logger,
    });
    this.#teller = new Teller({
      ...options,
      lock: this.#lock,
      stopping: this.#stopping.signal,
      run: (input) => this.run(input),
      view: () => this.#view,
    });
  }

  /** This relay's view of the login. */
  public get view(): LoginView {
    return this.#view;
  }

  /**
   * Feeds `input` to the transitions and runs their effects, each call's result fed back in turn.
   * `onReply` hears what the chain answers its caller, as soon as it is known (the login goes on).
   */
  public async run(input: LoginInput, onReply: (reply: Reply) => void = () => undefined): Promise<void> {
    const next = transition(this.#view, input, this.#o.settings, this.#o.now());
    this.#view = next.view;
    for (const effect of next.effects) {
      const result = await this.#execute(effect, onReply);
      if (result !== undefined) await this.run(result, onReply);
    }
  }

  /** Stops every timer and wait; a code at the broker, and its token write, go on. */
  public stop(): void {
    this.#stopping.abort();
    this.#teller.stop();
  }

  /** Releases the login lock if this relay holds it. */
  public async releaseLock(): Promise<void> {
    await this.#lock.release();
  }

  // Each effect: a call resolves to the next input, a tell to `undefined`.
  async #execute(effect: LoginEffect, onReply: (reply: Reply) => void): Promise<LoginInput | undefined> {
    const { coordination, relayId } = this.#o;
    switch (effect.kind) {
      case 'check-start':
        return {
          kind: 'start-checked',
          base: effect.base,
          check: await this.#lock.checkStart(this.#o.maxLoginsPerHour, effect.automatic),
        };
      case 'step-one':
        return stepOne(this.#calls(), effect.base, this.#lock.lost());
      case 'save-pending': {
        let result: Extract<LoginInput, { kind: 'pending-saved' }>['result'];
        try {
          result = await coordination.savePending(effect.shared, relayId);
        } catch (error) {
          this.#log.error(
            { loginId: effect.shared.loginId, err: errorFields(error) },
            'pending login not shared',
          );
          result = 'store-unavailable';
        }
        return { kind: 'pending-saved', shared: effect.shared, result };
      }
      case 'claim-code':
        return {
          kind: 'code-claimed',
          input: effect.input,
          claim: await claimCode(this.#calls(), effect),
        };
      case 'find-prompts':
        return findPrompts(this.#calls(), effect);
      case 'submit-code':
        return this.#submit(effect);
      case 'publish-token': {
        const record = await this.#o.tokens.publish(effect.token).catch((error: unknown) => {
          this.#log.error({ err: errorFields(error) }, 'token not published');
          return undefined;
        });
        const { login, operatorId, then } = effect;
        return { kind: 'token-published', login, operatorId, record, then };
      }
      case 'reopen': {
        const ok = await coordination.reopen(effect.login.loginId, relayId).catch(() => false);
        return {
          kind: 'reopened',
          login: effect.login,
          operatorId: effect.operatorId,
          attemptsLeft: effect.attemptsLeft,
          ok,
        };
      }
      case 'end-late-code': {
        const ended = await coordination
          .endPending(effect.login.loginId, { kind: 'exchanging', relayId })
          .catch(() => undefined);
        return {
          kind: 'late-code-ended',
          login: effect.login,
          operatorId: effect.operatorId,
          ended: ended !== undefined,
        };
      }
      case 'find-pending': {
        const pending = await coordination.loadPending().catch(() => undefined);
        return pending === undefined ? undefined : { kind: 'adopt', pending };
      }
      case 'find-resend':
        return this.#orNotTaken(effect.operatorId, async () => ({
          kind: 'resend-found',
          operatorId: effect.operatorId,
          loginId: effect.loginId,
          pending: await coordination.loadPending(),
        }));
      case 'end-for-resend':
        return this.#orNotTaken(effect.operatorId, async () => ({
          kind: 'resend-ended',
          operatorId: effect.operatorId,
          ended: await coordination.endPending(effect.loginId, { kind: 'awaiting-code' }),
        }));
      case 'request-login':
        return {
          kind: 'resend-requested',
          operatorId: effect.operatorId,
          request: await this.#o.requestLogin('operator-request'),
        };
      case 'end-for-cancel':
        return this.#orNotTaken(effect.operatorId, async () => {
          const ended = await coordination.endPending(effect.loginId, { kind: 'awaiting-code' });
          const pending = ended === undefined ? await coordination.loadPending() : undefined;
          return {
            kind: 'cancel-ended',
            operatorId: effect.operatorId,
            loginId: effect.loginId,
            ended,
            pending,
          };
        });
      case 'claim-ending': {
        // While the store cannot be asked, ask again (as the deadline does): another relay may
        // report this ending meanwhile. Stopping: report it (an ending reported twice beats none).
        for (;;) {
          try {
            const won = await coordination.claimInput(`deadline:${effect.loginId}`, ENDING_CLAIM_TTL_MS);
            return { ...effect, kind: 'ending-claimed', won };
          } catch (error) {
            if (this.#stopping.signal.aborted) return { ...effect, kind: 'ending-claimed', won: true };
            this.#log.warn({ loginId: effect.loginId, err: errorFields(error) }, 'ending not claimed yet');
            await abortableSleep(DEADLINE_RECHECK_MS, this.#stopping.signal);
          }
        }
      }
      case 'check-deadline': {
        const { loginId } = effect;
        let ended: SharedLogin | undefined;
        let pending: SharedLogin | undefined;
        try {
          ended = await coordination.endPending(loginId, { kind: 'awaiting-code' });
          pending = ended === undefined ? await coordination.loadPending() : undefined;
        } catch (error) {
          return this.#deadlineLater(loginId, error);
        }
        return { kind: 'deadline-checked', loginId, ended, pending, now: this.#o.now() };
      }
      case 'report-deadline': {
        const { login, endedHere } = effect;
        let worked = false;
        if (effect.lookForToken) {
          const token = await this.#o.tokens.refresh().catch(() => undefined);
          worked = token !== undefined && Date.parse(token.obtainedAt) >= login.startedAt.getTime();
        }
        // Claimed also when this relay ended the stored login itself: the claim is what keeps every
        // other relay from reporting the same ending.
        let report: boolean;
        try {
          const won = await coordination.claimInput(`deadline:${login.loginId}`, ENDING_CLAIM_TTL_MS);
          report = endedHere !== undefined || won;
        } catch (error) {
          return this.#deadlineLater(login.loginId, error);
        }
        return {
          kind: 'deadline-reported',
          login,
          worked,
          operatorId: effect.operatorId,
          report,
          prompts: endedHere?.prompts,
        };
      }
      default:
        await this.#teller.tell(effect, onReply);
        return undefined;
    }
  }

  /**
   * Step 2. Never cut short and never retried: a code at the broker decides the login. "Checking…"
   * is shown only if the broker is slow to answer: most answers come first, and the edit would cost
   * the answer-to-token path CPU for a view nobody sees.
   */
  async #submit(effect: Extract<LoginEffect, { kind: 'submit-code' }>): Promise<LoginInput> {
    const { login, operatorId } = effect;
    const timer = setTimeout(() => this.#teller.showChecking(login, operatorId), CHECKING_PROMPT_AFTER_MS);
    timer.unref();
    let outcome: Extract<LoginInput, { kind: 'code-answered' }>['outcome'];
    try {
      const answer = this.#o.broker.submitCode(login.interim, effect.code);
      // The request is on its way (the HTTP client writes it before returning): now the log line
      // and the metrics, while the broker judges the code.
      for (const sent of effect.sent) void this.#teller.tell(sent, () => undefined);
      outcome = await answer;
    } catch (error) {
      outcome = { kind: 'error', error };
    }
    clearTimeout(timer);
    return { kind: 'code-answered', login, operatorId, outcome, now: this.#o.now() };
  }

  /**
   * The store decides which relay reports a login's ending: while it fails, every relay would.
   * The deadline is looked at again shortly instead.
   */
  #deadlineLater(loginId: string, error: unknown): undefined {
    this.#log.warn(
      { loginId, err: errorFields(error) },
      'deadline not checked: the coordination store failed',
    );
    if (!this.#stopping.signal.aborted) {
      void this.#teller.tell(
        { kind: 'arm-deadline', loginId, at: new Date(this.#o.now() + DEADLINE_RECHECK_MS) },
        () => undefined,
      );
    }
    return undefined;
  }

  /** What the calls of `calls.ts` need. */
  #calls(): CallContext {
    return { ...this.#o, stopping: this.#stopping.signal };
  }

  /** Runs a coordination call; a failure tells the operator to try again (nothing was sent). */
  async #orNotTaken(operatorId: string, call: () => Promise<LoginInput>): Promise<LoginInput | undefined> {
    try {
      return await call();
    } catch (error) {
      this.#log.error(
        { operatorId, err: errorFields(error) },
        'input not taken: the coordination store failed',
      );
      await this.#teller.tell(
        { kind: 'notify', operatorId, notice: { kind: 'input-not-taken' } },
        () => undefined,
      );
      return undefined;
    }
  }
}
