import { buildTokenRecord, checkNewToken, isExpired } from './token-record.js';
import type { NewToken, TokenRecord, TokenStore } from './types.js';

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /** `RELAY_ACCOUNT`, written into every record. */
  account: string;
}

/**
 * An in-process {@link TokenStore} for the demo and for tests of the relay core: the same semantics
 * as the Redis store (generations from 1, never going back; remove only the given generation;
 * nothing readable from `expiresAt` on), with nothing shared outside the process.
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
   * Takes the next generation and stores the token. With no `await` between the two, a write can
   * never be stale here, unlike in Redis.
   */
  public publish(newToken: NewToken): Promise<TokenRecord> {
    // A throw in the executor (an invalid token) becomes the promise's rejection.
    return new Promise((resolve) => {
      const checked = checkNewToken(newToken, Date.now());
      this.#generation += 1;
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
}
