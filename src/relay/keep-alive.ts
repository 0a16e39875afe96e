import { errorFields, type Logger } from '../shared/log.js';
import type { OperatorChannel, StatusView } from './ports/operators.js';
import type { BotRequest } from '../contract/bot-request.js';
import type { TokenRecord } from './ports/token-store.js';
import type { Relay } from './relay.js';
import type { TokenHolder } from './token-holder.js';
import { planRenewal, type PlannedLogins } from './schedule.js';
import type { LoginReason } from '../domain/vocabulary.js';

/** Options of {@link KeepAlive}. */
export interface KeepAliveOptions {
  /** The account's token, as the relay holds it. */
  tokens: TokenHolder;
  /** Starts logins (the relay), and says when its work is done. */
  logins: Pick<Relay, 'requestLogin' | 'idle'>;
  /** Told ahead of time when the token will lapse before the next planned login. */
  operators: OperatorChannel;
  account: string;
  /** `RENEW_BEFORE`. */
  renewBeforeMs: number;
  /** `VALIDATE_EVERY`. */
  validateEveryMs: number;
  /**
   * How often the published token is looked for in the store while this relay holds a valid one:
   * one missing (evicted, a mistaken `DEL`, a failover to a replica that missed it) is written back,
   * same record and generation, within this. Default 5 s: one GET.
   */
  presenceCheckEveryMs?: number;
  /** `LOGIN_SCHEDULE` in `LOGIN_SCHEDULE_TZ`, when set. */
  planned?: PlannedLogins | undefined;
  logger: Logger;
  /** Current time in epoch ms; injectable for tests. */
  now?: () => number;
}

/** Longest single timer wait: Node fires timers over about 24.8 days at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Keeps a valid token published with as few interruptions of people and bots as possible: renews it
 * before expiry (or at the last planned time that still keeps it valid), checks it with the broker
 * every `VALIDATE_EVERY`, answers bots' `token.rejected` requests, and forgets it when it expires.
 * It decides *when* a login is needed; {@link Relay} runs the login and applies the SMS guard.
 */
export class KeepAlive {
  readonly #options: Required<Omit<KeepAliveOptions, 'planned'>> & Pick<KeepAliveOptions, 'planned'>;
  readonly #log: Logger;
  #renewTimer: NodeJS.Timeout | undefined;
  #validateTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #presenceTimer: NodeJS.Timeout | undefined;
  #nextLogin: { at: Date; reason: LoginReason } | undefined;
  /** Generations already warned about, so an operator hears it once per token. */
  #warnedGeneration: number | undefined;
  /** The generation being checked for a bot right now, or last found valid, and when. */
  /** The last check a bot asked for: `valid` is the broker's answer once `pending` is over. */
  #botCheck: { generation: number; at: number; pending: boolean; valid: boolean } | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  public constructor(options: KeepAliveOptions) {
    this.#options = { now: () => Date.now(), presenceCheckEveryMs: 5_000, ...options };
    this.#log = options.logger.child({ component: 'keep-alive', account: options.account });
  }

  /** Starts following the relay's token. Call after `relay.start()`. */
  public start(): void {
    this.#unsubscribe = this.#options.tokens.onChange((token) => this.#onToken(token));
    this.#onToken(this.#options.tokens.current());
  }

  /** Stops every timer. */
  public stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    for (const timer of [this.#renewTimer, this.#validateTimer, this.#expiryTimer, this.#presenceTimer]) {
      clearTimeout(timer);
    }
  }

  /** Resolves when no timer's work is still running (for tests and shutdown). */
  public async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await this.#options.logins.idle();
  }

  /** The next login the relay will start by itself, for `/status`. */
  public nextLogin(): StatusView['nextLogin'] {
    return this.#nextLogin;
  }

  /**
   * A bot says the broker refused token `generation`. An older generation, or a repeat while the
   * same one is being checked (or was just found valid), is already handled. Otherwise the relay asks
   * the broker itself before it asks a human for anything.
   */
  public async handleBotRequest(request: BotRequest): Promise<void> {
    const { tokens, logins } = this.#options;
    const token = tokens.current();
    if (token === undefined) {
      // No token at all: a login is what the bot needs (unless one runs, or one waits for a person).
      const { result } = await logins.requestLogin('bot-request');
      this.#log.info(
        { generation: request.generation, result },
        'bot reported a rejected token; none is published',
      );
      return;
    }
    if (request.generation !== token.generation) {
      this.#log.info(
        { generation: request.generation, current: token.generation },
        'bot reported another generation than the current one; handled',
      );
      return;
    }
    const now = this.#options.now();
    const last = this.#botCheck;
    if (
      last?.generation === token.generation &&
      (last.pending || now - last.at < this.#options.validateEveryMs)
    ) {
      this.#log.debug({ generation: token.generation }, 'repeat bot report; handled');
      // A bot that reports after the check answers it too: it waits for this event, not the last.
      if (!last.pending && last.valid) {
        await tokens.announce({ type: 'token.checked', generation: token.generation, valid: true });
      }
      return;
    }
    this.#botCheck = { generation: token.generation, at: now, pending: true, valid: false };
    const verdict = await tokens.check(token);
    this.#botCheck = {
      generation: token.generation,
      at: this.#options.now(),
      pending: false,
      valid: verdict === 'valid',
    };
    this.#log.info({ generation: token.generation, verdict }, 'bot reported a rejected token; checked');
    // The broker's answer, for the bots waiting on it: `valid` means the old token still works (the
    // bot's own call failed for another reason). No answer (`unchecked`) is not announced.
    if (verdict !== 'unchecked') {
      await tokens.announce({
        type: 'token.checked',
        generation: token.generation,
        valid: verdict === 'valid',
      });
    }
    if (verdict === 'invalid')
      await this.#dead(token, 'rejected by the broker (reported by a bot)', 'bot-request');
  }

  #onToken(token: TokenRecord | undefined): void {
    if (this.#stopped) return;
    clearTimeout(this.#validateTimer);
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#presenceTimer);
    if (token === undefined) {
      // Keep a renewal planned for a lapsed token (the next planned login). With none, a schedule
      // still brings the next login at a planned hour.
      if (this.#renewTimer === undefined && this.#options.planned !== undefined) {
        const at = this.#options.planned.nextAfter(new Date(this.#options.now()));
        if (at !== undefined) this.#armRenewal(at, 'schedule');
      }
      return;
    }
    this.#planRenewal(token);
    this.#armValidation();
    this.#armPresenceCheck(token.generation);
    this.#expiryTimer = this.#after(Date.parse(token.expiresAt) - this.#options.now(), () =>
      this.#options.tokens.expire(token.generation),
    );
  }

  #planRenewal(token: TokenRecord): void {
    const expiresAt = new Date(token.expiresAt);
    const plan = planRenewal({
      now: new Date(this.#options.now()),
      expiresAt,
      renewBeforeMs: this.#options.renewBeforeMs,
      planned: this.#options.planned,
    });
    this.#armRenewal(plan.renewAt, plan.kind === 'before-expiry' ? 'renewal' : 'schedule');
    this.#log.info(
      { generation: token.generation, renewAt: plan.renewAt.toISOString(), plan: plan.kind },
      'renewal planned',
    );
    if (plan.kind === 'after-expiry' && this.#warnedGeneration !== token.generation) {
      this.#warnedGeneration = token.generation;
      void this.#options.operators
        .broadcast({
          kind: 'expiry-warning',
          account: this.#options.account,
          expiresAt,
          nextLoginAt: plan.renewAt,
        })
        .catch((error: unknown) => this.#log.error({ err: errorFields(error) }, 'expiry warning not sent'));
    }
  }

  #armRenewal(at: Date, reason: LoginReason): void {
    clearTimeout(this.#renewTimer);
    this.#nextLogin = { at, reason };
    const delayMs = at.getTime() - this.#options.now();
    if (delayMs > MAX_TIMER_MS) {
      // Further than a Node timer reaches (a sparse schedule): wake up on the way and arm again.
      this.#renewTimer = this.#after(MAX_TIMER_MS, () => this.#armRenewal(at, reason));
      return;
    }
    this.#renewTimer = this.#after(delayMs, async () => {
      this.#renewTimer = undefined;
      this.#nextLogin = undefined;
      const { result } = await this.#options.logins.requestLogin(reason);
      this.#log.info({ reason, result }, 'planned login');
    });
  }

  /** Looks for the held token in the store now and then, and writes it back if it went missing. */
  #armPresenceCheck(generation: number): void {
    this.#presenceTimer = this.#after(this.#options.presenceCheckEveryMs, async () => {
      if (this.#options.tokens.current()?.generation !== generation) return;
      await this.#options.tokens.restoreIfLost().catch((error: unknown) => {
        this.#log.debug({ err: errorFields(error) }, 'token presence not checked');
      });
      if (this.#options.tokens.current()?.generation === generation) this.#armPresenceCheck(generation);
    });
  }

  #armValidation(): void {
    this.#validateTimer = this.#after(this.#options.validateEveryMs, async () => {
      const token = this.#options.tokens.current();
      if (token === undefined) return;
      const verdict = await this.#options.tokens.check(token);
      this.#log.debug({ generation: token.generation, verdict }, 'token checked');
      // A token Redis lost meanwhile is written back by the presence check (#armPresenceCheck).
      if (verdict === 'invalid') await this.#dead(token, 'rejected by the broker', 'token-invalid');
      // A dead token's listener already re-armed (or cleared) everything; a live one is checked again.
      else if (this.#options.tokens.current()?.generation === token.generation) this.#armValidation();
    });
  }

  async #dead(token: TokenRecord, why: string, reason: LoginReason): Promise<void> {
    await this.#options.tokens.invalidate(token, why);
    const { result } = await this.#options.logins.requestLogin(reason);
    this.#log.info({ reason, result }, 'login after a dead token');
  }

  /** A timer that runs `work` after `delayMs`; its work is tracked for {@link KeepAlive.idle}. */
  #after(delayMs: number, work: () => unknown): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        if (this.#stopped) return;
        const task = Promise.resolve()
          .then(work)
          .catch((error: unknown) => this.#log.error({ err: errorFields(error) }, 'keep-alive task failed'));
        this.#inFlight.add(task);
        void task.finally(() => this.#inFlight.delete(task));
      },
      Math.max(0, Math.min(delayMs, MAX_TIMER_MS)),
    );
    timer.unref();
    return timer;
  }
}
