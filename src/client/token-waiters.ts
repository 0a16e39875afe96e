import { TokenClientStateError, TokenClientTimeoutError } from './errors.js';
import type { TokenInfo } from './token-info.js';

/** The longest delay `setTimeout` takes as given (about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** One wait, checked: see `WaitForTokenOptions`. */
export interface TokenWait {
  /** The lowest generation that will do. */
  readonly minGeneration: number;
  /** The generation reported as rejected, whose `token.checked` with `valid: true` also ends the wait. */
  readonly after: number | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

interface Waiter {
  /** Lowered to `after` once the relay answered that token `after` still works. */
  minGeneration: number;
  readonly after: number | undefined;
  readonly resolve: (token: TokenInfo) => void;
  readonly reject: (reason: Error) => void;
}

/** How many reported generations are remembered (a bot reports its current token only). */
const MAX_REPORTS = 8;

/**
 * The pending `waitForToken()` calls of one client, and what the relay answered to the client's
 * reports: a wait ends with a token of at least its generation, or, when it waits `after` a
 * generation the relay found still valid (`token.checked`), with the token of that generation; else
 * with a {@link TokenClientTimeoutError}, the signal's reason, or the client's closing.
 */
export class TokenWaiters {
  readonly #waiters = new Set<Waiter>();
  /**
   * Generations this client reported (`reportRejected`), each with whether the relay has answered
   * `valid: true` since: a wait begun after that answer arrived still takes it.
   */
  readonly #reports = new Map<number, boolean>();

  /** A report of `generation` is being sent: an answer to an earlier report of it no longer counts. */
  public reported(generation: number): void {
    this.#reports.delete(generation);
    this.#reports.set(generation, false);
    for (const key of this.#reports.keys()) {
      if (this.#reports.size <= MAX_REPORTS) break;
      this.#reports.delete(key);
    }
  }

  /**
   * Waits for a token as `wait` says, resolving at once when `current` (the token held now) does.
   */
  public wait(wait: TokenWait, current: TokenInfo | undefined): Promise<TokenInfo> {
    const { after, timeoutMs, signal } = wait;
    let { minGeneration } = wait;
    if (after !== undefined && this.#reports.get(after) === true) minGeneration = after;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    if (current !== undefined && current.generation >= minGeneration) return Promise.resolve(current);
    return new Promise<TokenInfo>((resolve, reject) => {
      const onAbort = (): void => waiter.reject(signal?.reason as Error);
      const timer = setTimeout(() => {
        waiter.reject(new TokenClientTimeoutError(timeoutMs, wait.minGeneration, after));
      }, timeoutMs).unref();
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        minGeneration,
        after,
        resolve: (token) => {
          done();
          resolve(token);
        },
        reject: (reason) => {
          done();
          reject(reason);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The client holds `token` now: every wait it satisfies ends with it. */
  public offer(token: TokenInfo): void {
    // No copy to make when nobody waits (the common case, once per client per new token).
    if (this.#waiters.size === 0) return;
    for (const waiter of [...this.#waiters]) {
      if (token.generation >= waiter.minGeneration) waiter.resolve(token);
    }
  }

  /**
   * The relay answered `token.checked` for `generation`. When `valid`, the waits after that
   * generation take it: they end with `current` if it is of that generation or newer. Returns
   * whether some wait now takes a token the client does not hold (so the key should be read again).
   */
  public checked(generation: number, valid: boolean, current: TokenInfo | undefined): boolean {
    if (this.#reports.has(generation)) this.#reports.set(generation, valid);
    if (!valid) return false;
    let needsToken = false;
    for (const waiter of [...this.#waiters]) {
      if (waiter.after !== generation) continue;
      waiter.minGeneration = Math.min(waiter.minGeneration, generation);
      if (current !== undefined && current.generation >= waiter.minGeneration) waiter.resolve(current);
      else needsToken = true;
    }
    return needsToken;
  }

  /** The client closed: every wait rejects with {@link TokenClientStateError}. */
  public closeAll(): void {
    for (const waiter of [...this.#waiters]) waiter.reject(new TokenClientStateError('closed'));
  }
}
