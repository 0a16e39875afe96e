import { errorFields, type Logger } from '../../shared/log.js';
import type { OperatorNotice, PromptView } from '../ports/operators.js';
import type { RelayObserver } from '../state.js';
import { emitSafely } from '../token-holder.js';
import type { LockKeeper } from './lock-keeper.js';
import type { LoginRunnerOptions } from './runner-options.js';
import type { LoginEffect, LoginInput, LoginRequestResult, LoginView } from './types.js';
import type { PendingLogin } from '../../domain/login.js';

/**
 * How long the claim on reporting a login's ending is remembered: longer than any stall a relay
 * comes back from, so that it never reports an ending another relay reported long before.
 */
export const ENDING_CLAIM_TTL_MS = 24 * 3_600_000;
/**
 * How long a claimed input is remembered across relays (a DM is delivered to each once): longer
 * than any stall a relay comes back from, so that a claim that returns late still says truly
 * whether another relay took the input. A day of DMs is a few hundred small entries.
 */
export const INPUT_CLAIM_TTL_MS = 24 * 3_600_000;

/** What the {@link Teller} needs: the runner's ports and settings, and its own handles. */
export interface TellerOptions extends Omit<
  LoginRunnerOptions,
  'maxLoginsPerHour' | 'startRetry' | 'broker' | 'random'
> {
  readonly lock: LockKeeper;
  /** Aborted when the relay stops. */
  readonly stopping: AbortSignal;
  /** Feeds an input to the transitions (a timer fired, a prompt was shown). */
  readonly run: (input: LoginInput) => Promise<void>;
  /** This relay's view of the login now. */
  readonly view: () => LoginView;
}

/** What a chain of transitions answered its caller (`requestLogin`, `/cancel`). */
export type Reply = LoginRequestResult | boolean;

/**
 * Runs the login's effects that only tell someone something (operators, bots, observers, the log)
 * or arm a timer. Failures are contained and logged: telling never throws into a login.
 */
export class Teller {
  readonly #o: TellerOptions;
  readonly #log: Logger;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #deferredTimer: NodeJS.Timeout | undefined;
  #lockRetryTimer: NodeJS.Timeout | undefined;
  #reminderTimer: NodeJS.Timeout | undefined;
  /** "Checking…" edits under way, per login: later edits of that prompt wait for them. */
  readonly #checking = new Map<string, Promise<void>>();

  public constructor(options: TellerOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Stops every timer. */
  public stop(): void {
    for (const timer of [this.#deadlineTimer, this.#deferredTimer, this.#lockRetryTimer, this.#reminderTimer])
      clearTimeout(timer);
  }

  /** Shows a code as being checked (the broker is slow); later edits of that prompt wait for it. */
  public showChecking(
    login: Pick<PendingLogin, 'loginId' | 'reason' | 'deadline'>,
    operatorId: string,
  ): void {
    this.#checking.set(
      login.loginId,
      this.#showPrompt({ kind: 'show-prompt', login, state: { kind: 'checking', operatorId } }),
    );
  }

  /** Runs one effect that tells (or arms a timer); `onReply` hears a chain's answer to its caller. */
  public async tell(effect: LoginEffect, onReply: (reply: Reply) => void): Promise<void> {
    const { coordination, relayId } = this.#o;
    switch (effect.kind) {
      case 'reply':
        return onReply(effect.result);
      case 'reply-cancel':
        return onReply(effect.cancelled);
      case 'release-lock':
        return this.#o.lock.release();
      case 'end-pending':
        return this.#quietly(
          coordination.endPending(
            effect.loginId,
            effect.expect === 'exchanging' ? { kind: 'exchanging', relayId } : { kind: 'awaiting-code' },
          ),
        );
      case 'save-waiting':
        this.#o.track(this.#quietly(this.#o.coordination.saveWaitingForPerson(effect.waiting)));
        return;
      case 'save-halt':
        return this.#quietly(coordination.saveHalt(effect.halt));
      case 'arm-deadline':
        clearTimeout(this.#deadlineTimer);
        this.#deadlineTimer = this.#feedAt(effect.at, { kind: 'deadline', loginId: effect.loginId });
        return;
      case 'arm-reminder':
        clearTimeout(this.#reminderTimer);
        this.#reminderTimer = this.#feedAt(effect.at, { kind: 'reminder', loginId: effect.loginId });
        return;
      case 'remind':
        // Every relay that follows the login arms it; the one that claims it sends it.
        return this.#broadcastOnce(`reminder:${effect.loginId}`, effect.deadline, {
          kind: 'code-reminder',
          account: this.#o.settings.account,
          deadline: effect.deadline,
        });
      case 'clear-deadline':
        return clearTimeout(this.#deadlineTimer);
      case 'look-again-after-lock':
        return this.#lookAgainAfterLock(effect.reason);
      case 'defer-login':
        return this.#defer(effect);
      case 'clear-deferral':
        clearTimeout(this.#deferredTimer);
        this.#deferredTimer = undefined;
        return;
      case 'emit':
        return emitSafely(this.#o.events, effect.event, this.#log);
      case 'show-prompt':
        return this.#showPrompt(effect);
      case 'notify':
        return this.#contain(
          this.#o.operators.notify(effect.operatorId, effect.notice),
          effect.notice,
          'notice not sent',
        );
      case 'broadcast':
        return this.#contain(this.#o.operators.broadcast(effect.notice), effect.notice, 'broadcast not sent');
      case 'observe-started':
        return this.#observe('loginStarted', effect.login);
      case 'observe-code':
        return this.#observe('codeReceived', {
          loginId: effect.loginId,
          operatorId: effect.operatorId,
          attempt: effect.attempt,
          waitedMs: effect.waitedMs,
        });
      case 'observe-ended':
        if (effect.claimed) return this.#observe('loginEnded', effect.login);
        // Reported by the relay that claims the ending: a relay that followed this login does not
        // report it again at its deadline, nor one that was paused past it and wakes to its own
        // answer. In the background: the claim must not delay the token write that follows. If the
        // store cannot be asked, this relay reports it (an ending reported twice beats none).
        this.#o.track(
          coordination
            .claimInput(`deadline:${effect.login.loginId}`, ENDING_CLAIM_TTL_MS)
            .catch(() => true)
            .then((mine) => mine && this.#observe('loginEnded', effect.login)),
        );
        return;
      case 'log': {
        const { err, ...fields } = effect.fields;
        this.#log[effect.level](
          err === undefined ? fields : { ...fields, err: errorFields(err) },
          effect.msg,
        );
        return;
      }
      case 'log-failure':
        this.#log.error(
          { loginId: effect.loginId, err: errorFields(effect.error), fatal: effect.fatal },
          effect.fatal ? 'login failed; logins halted until an operator acts' : 'login failed',
        );
        return;
      default:
        throw new TypeError(`not a tell: ${effect.kind}`);
    }
  }

  async #showPrompt(effect: Extract<LoginEffect, { kind: 'show-prompt' }>): Promise<void> {
    const { login, state } = effect;
    const checking = this.#checking.get(login.loginId);
    if (checking !== undefined && state.kind !== 'checking') {
      // The last view wins: a later edit waits for the "checking" one.
      await checking;
      this.#checking.delete(login.loginId);
    }
    const view: PromptView = {
      loginId: login.loginId,
      account: this.#o.settings.account,
      reason: login.reason,
      deadline: login.deadline,
      state,
    };
    try {
      const known = this.#o.view().prompts;
      const refs = await this.#o.operators.showPrompt(view, known);
      await this.#o.run({ kind: 'prompts-shown', loginId: login.loginId, refs });
      if (state.kind === 'open' && Object.keys(known).length === 0) {
        // Shared, so another relay or a restart edits these messages instead of sending new ones.
        await this.#quietly(this.#o.coordination.savePrompts(login.loginId, refs));
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

  #lookAgainAfterLock(reason: Extract<LoginEffect, { kind: 'look-again-after-lock' }>['reason']): void {
    if (this.#lockRetryTimer !== undefined || this.#o.stopping.aborted) return;
    this.#lockRetryTimer = setTimeout(() => {
      this.#lockRetryTimer = undefined;
      this.#o.track(
        this.#o.coordination.loadPending().then(async (pending) => {
          if (pending !== undefined) await this.#o.run({ kind: 'adopt', pending });
          else if (this.#o.tokens.current() === undefined || reason === 'operator-request')
            await this.#o.requestLogin(reason);
        }),
      );
    }, this.#o.lockTtlMs + 1_000);
    this.#lockRetryTimer.unref();
  }

  /**
   * The SMS guard held an automatic login back: tried again by itself once the hour allows, and
   * told to the operators once for the whole account (every replica defers the same login).
   */
  #defer(effect: Extract<LoginEffect, { kind: 'defer-login' }>): void {
    const { reason, nextAllowedAt } = effect;
    if (this.#deferredTimer === undefined) {
      this.#deferredTimer = setTimeout(
        () => {
          this.#deferredTimer = undefined;
          this.#o.track(this.#o.requestLogin(reason));
        },
        Math.max(0, nextAllowedAt.getTime() - this.#o.now()),
      );
      this.#deferredTimer.unref();
    }
    this.#o.track(
      this.#broadcastOnce(`deferral:${nextAllowedAt.getTime()}`, nextAllowedAt, {
        kind: 'login-deferred',
        account: this.#o.settings.account,
        reason,
        nextAllowedAt,
        retrying: true,
      }),
    );
  }

  /** A timer that feeds `input` to the transitions at `at` (at once if that has passed). */
  #feedAt(at: Date, input: LoginInput): NodeJS.Timeout {
    const timer = setTimeout(
      () => this.#o.track(this.#o.run(input)),
      Math.max(0, at.getTime() - this.#o.now()),
    );
    timer.unref();
    return timer;
  }

  /**
   * Tells every operator `notice`, once for the whole account: every relay may decide to, and the
   * one that claims `key` (remembered until `until`, at least as long as an input claim) does. If the
   * store cannot be asked, this relay tells them: twice beats never.
   */
  async #broadcastOnce(key: string, until: Date, notice: OperatorNotice): Promise<void> {
    const ttlMs = Math.max(INPUT_CLAIM_TTL_MS, until.getTime() - this.#o.now());
    const mine = await this.#o.coordination.claimInput(key, ttlMs).catch(() => true);
    if (mine) await this.#contain(this.#o.operators.broadcast(notice), notice, 'broadcast not sent');
  }

  /** Awaits a coordination write whose failure must not stop the flow (it is logged). */
  async #quietly(work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (error) {
      this.#log.error({ err: errorFields(error) }, 'coordination store write failed');
    }
  }

  async #contain(work: Promise<void>, notice: OperatorNotice | undefined, msg: string): Promise<void> {
    try {
      await work;
    } catch (error) {
      this.#log.error({ notice: notice?.kind, err: errorFields(error) }, msg);
    }
  }

  /** Calls an observer hook; a failing observer never disturbs a login. */
  #observe<K extends keyof RelayObserver>(hook: K, ...args: Parameters<NonNullable<RelayObserver[K]>>): void {
    const observer = this.#o.observer;
    const fn = observer[hook] as ((...a: typeof args) => void) | undefined;
    try {
      fn?.apply(observer, args);
    } catch (error) {
      this.#log.warn({ hook, err: errorFields(error) }, 'observer failed');
    }
  }
}
