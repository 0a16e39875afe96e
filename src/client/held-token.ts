import { expiryAlarms, type ExpiryAlarm, type ExpiryAlarms } from './expiry-alarms.js';
import type { TokenChangeListener, TokenClientLogger } from './token-client-options.js';
import type { ClientTokenInfo, StoredToken, TokenInfo } from './token-info.js';
import type { TokenWaiters } from './token-waiters.js';

/** Options of {@link HeldToken}. */
export interface HeldTokenOptions {
  /** The key the token is read from (`P:token:A`), for log lines. */
  readonly tokenKey: string;
  readonly logger: TokenClientLogger | undefined;
  /** Offered every new token. */
  readonly waiters: TokenWaiters;
  /** Called once the held token has expired and been dropped: the key may hold its successor. */
  readonly onExpired: () => void;
  /** Where the expiry is armed (default: the process's {@link expiryAlarms}). */
  readonly alarms?: ExpiryAlarms | undefined;
}

/**
 * The token a {@link TokenClient} holds in memory, and the listeners told of its changes. It never
 * goes back to an older generation: nothing at or below the newest generation held or invalidated
 * is taken again. Drops the token when it expires (by a timer, and by the clock on every read).
 *
 * The timer is an {@link ExpiryAlarms} alarm, shared by every client of the process that holds a
 * token with the same expiry: taking a new token arms no timer of this client's own.
 */
export class HeldToken {
  readonly #options: HeldTokenOptions;
  // The hot path reads only these two fields: `#expiresAtMs` is 0 while nothing is held.
  #held: ClientTokenInfo | undefined;
  #expiresAtMs = 0;
  /** The newest generation held or invalidated: nothing at or below it is taken from Redis again. */
  #highestGeneration = -1;
  /** What listeners were last told, so that each change is told once. */
  #announced: ClientTokenInfo | undefined;
  readonly #alarms: ExpiryAlarms;
  readonly #expiry: ExpiryAlarm = { fire: () => this.#expiryDue(), group: undefined };
  readonly #listeners = new Set<{ readonly listener: TokenChangeListener }>();

  public constructor(options: HeldTokenOptions) {
    this.#options = options;
    this.#alarms = options.alarms ?? expiryAlarms;
  }

  /** The token, unless there is none or it has expired (checked against the clock on every call). */
  public current(): TokenInfo | undefined {
    // The clock is read on every call, and it is all this call costs (a V8 runtime call and
    // gettimeofday). No cheaper signal can stand in for it: a timer fires late when the event loop
    // is busy, the process was paused or the machine slept, and the wall clock (which `expiresAt` is
    // on) can jump forward at any instant, so nothing but a read of it at the call says it has not
    // passed `expiresAt`.
    return Date.now() < this.#expiresAtMs ? this.#held : undefined;
  }

  /** The newest generation held or invalidated (-1 before any). */
  public get highestGeneration(): number {
    return this.#highestGeneration;
  }

  /** Adds a listener of token changes; returns the function that removes it. */
  public onChange(listener: TokenChangeListener): () => void {
    const entry = { listener };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Acts on what a read of the key found. */
  public apply(stored: StoredToken): void {
    switch (stored.kind) {
      case 'expired':
        if (this.#held !== undefined && stored.generation < this.#held.generation) {
          this.#warnOlder(stored.generation);
          return;
        }
        if (this.#held !== undefined) this.#drop();
        return;
      case 'absent':
        // Reads never overlap, so the key is gone now: invalidated (maybe while an event was
        // missed) or expired. What is held must not outlive it.
        if (this.#held !== undefined) this.#drop();
        return;
      case 'malformed':
        this.#options.logger?.warn(
          { key: this.#options.tokenKey, problem: stored.problem },
          'Ignored an unreadable stored token value',
        );
        return;
      case 'token': {
        const { generation } = stored.info;
        if (generation > this.#highestGeneration) {
          this.#hold(stored.info, stored.expiresAtMs);
        } else if (generation < this.#highestGeneration) {
          this.#warnOlder(generation);
        }
        return;
      }
    }
  }

  /**
   * The relay invalidated token `generation`: drops it if held. Returns whether the key should be
   * read again: a newer token than the one held was published and invalidated while an event was
   * missed, so the key may already hold the one after it.
   */
  public invalidate(generation: number): boolean {
    if (generation < this.#highestGeneration) return false;
    const missedSome = generation > this.#highestGeneration;
    this.#highestGeneration = generation;
    if (this.#held !== undefined) this.#drop();
    return missedSome;
  }

  /** Forgets the token without telling anyone (the client is closing). */
  public forget(): void {
    this.#held = undefined;
    this.#expiresAtMs = 0;
    this.#announced = undefined;
  }

  /** Disarms the expiry alarm. */
  public stopTimer(): void {
    this.#alarms.clear(this.#expiry);
  }

  #warnOlder(generation: number): void {
    this.#options.logger?.warn(
      { key: this.#options.tokenKey, generation, highestGeneration: this.#highestGeneration },
      'Ignored a stored token older than one already seen',
    );
  }

  #hold(info: ClientTokenInfo, expiresAtMs: number): void {
    this.#held = info;
    this.#expiresAtMs = expiresAtMs;
    this.#highestGeneration = info.generation;
    this.#alarms.set(this.#expiry, expiresAtMs);
    this.#announce(info);
  }

  #drop(): void {
    this.#held = undefined;
    this.#expiresAtMs = 0;
    this.stopTimer();
    this.#announce(undefined);
  }

  #expiryDue(): void {
    // Nothing held: the alarm was for a token dropped since (the client may have closed, too).
    if (this.#held === undefined) return;
    // Early only when the delay was capped (or the wall clock went back): wait the rest.
    if (Date.now() < this.#expiresAtMs) {
      this.#alarms.set(this.#expiry, this.#expiresAtMs);
      return;
    }
    this.#drop();
    // The relay renews ahead of expiry: a missed announcement would be in the key.
    this.#options.onExpired();
  }

  #announce(token: ClientTokenInfo | undefined): void {
    if (token === this.#announced) return;
    this.#announced = token;
    if (token !== undefined) this.#options.waiters.offer(token);
    tellListeners(this.#listeners, token, 'token change', this.#options.logger);
  }
}

/**
 * Calls every listener with `value`, on a copy of the set (a listener may unsubscribe). One that
 * throws is logged, by the error's name only, and does not keep the others from being called.
 */
export function tellListeners<T>(
  listeners: ReadonlySet<{ readonly listener: (value: T) => void }>,
  value: T,
  kind: string,
  logger: TokenClientLogger | undefined,
): void {
  if (listeners.size === 0) return;
  for (const { listener } of [...listeners]) {
    try {
      listener(value);
    } catch (error) {
      // The name only: the listener's own error text may quote whatever it was handling.
      logger?.error(
        { listener: kind, error: error instanceof Error ? error.name : typeof error },
        'A token client listener threw',
      );
    }
  }
}
