import { isExpired } from '../contract/token-record.js';
import { buildTokenRecord, checkNewToken, checkRestorable, nextGeneration } from './new-token.js';
import type { NewToken, TokenRecord, TokenStore } from '../relay/ports/token-store.js';

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** `RELAY_ACCOUNT`, written into every record. */
  account: string;
}

/**
 * An in-process {@link TokenStore} for the demo and for tests of the relay core: the same semantics
 * as the Redis store (the first generation seeded from the clock, never going back,
 * `minGeneration` honoured; remove only the given generation; nothing readable from `expiresAt`
 * on), with nothing shared outside the process. A new store is one without a counter, as a Redis
 * that lost it.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #account: string;
  #generation = 0;
  #current: TokenRecord | undefined;

  public constructor(options: MemoryTokenStoreOptions) {
    this.#account = options.account;
  }

  public read(): Promise<TokenRecord | undefined> {
    const current = this.#current;
    if (current !== undefined && isExpired(current, Date.now())) this.#current = undefined;
    return Promise.resolve(this.#current);
  }

  /**
   * Takes the next generation by the rule of {@link TokenStore.publish} (its counter is `0`, "none",
   * until the first publish or restore) and stores the token, in one synchronous step.
   */
  public publish(newToken: NewToken): Promise<TokenRecord> {
    // A throw in the executor (an invalid token) becomes the promise's rejection.
    return new Promise((resolve) => {
      const checked = checkNewToken(newToken, Date.now());
      this.#generation = nextGeneration(checked, this.#generation + 1, this.#current?.generation ?? -1);
      this.#current = buildTokenRecord(checked, this.#account, this.#generation);
      resolve(this.#current);
    });
  }

  public remove(generation: number): Promise<boolean> {
    if (this.#current === undefined || this.#current.generation !== generation) return Promise.resolve(false);
    // An expired token is already gone, as Redis would have dropped the key.
    const wasLive = !isExpired(this.#current, Date.now());
    this.#current = undefined;
    return Promise.resolve(wasLive);
  }

  /**
   * Stores `record` as it was, refused as in Redis: expired, a record of the same or a newer
   * generation held, or the counter already past it (a newer token was issued, and removed since).
   * Raises the counter to its generation.
   */
  public restore(record: TokenRecord): Promise<boolean> {
    return new Promise((resolve) => {
      const checked = checkRestorable(record, this.#account);
      const now = Date.now();
      if (isExpired(checked, now) || this.#generation > checked.generation) return resolve(false);
      const current = this.#current;
      if (current !== undefined && !isExpired(current, now) && current.generation >= checked.generation) {
        return resolve(false);
      }
      this.#current = checked;
      this.#generation = checked.generation;
      resolve(true);
    });
  }
}
