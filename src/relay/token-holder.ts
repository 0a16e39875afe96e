import type { Broker } from '../broker/types.js';
import { errorFields, type Logger } from '../log.js';
import { Secret } from '../secret.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from '../store/types.js';

/** Options of {@link TokenHolder}. */
export interface TokenHolderOptions {
  store: TokenStore;
  events: EventPublisher;
  broker: Broker;
  logger: Logger;
  /** `TOKEN_LIFETIME`. */
  tokenLifetimeMs: number;
  /** Current time in epoch ms. */
  now: () => number;
  /** First wait before writing a token again after a failed store write. */
  publishRetryMs: number;
  /** Called after each new token is stored. */
  onPublished?: (record: TokenRecord) => void;
}

/** The longest wait between two tries of a failed token write. */
const MAX_PUBLISH_RETRY_MS = 30_000;

/** Receives the published token whenever it changes (`undefined`: there is none now). */
export type TokenListener = (token: TokenRecord | undefined) => void;

/**
 * The published token of one account as this relay knows it: writes new tokens (fenced by
 * generation in the store), checks, invalidates and forgets them, and writes one back when the store
 * lost it. Publishes the token events. Never logs a token.
 */
export class TokenHolder {
  readonly #options: TokenHolderOptions;
  readonly #log: Logger;
  #token: TokenRecord | undefined;
  readonly #listeners = new Set<TokenListener>();
  #retryTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;

  public constructor(options: TokenHolderOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'token' });
  }

  /** The token, if it has not expired. Served from memory. */
  public current(): TokenRecord | undefined {
    const token = this.#token;
    return token !== undefined && Date.parse(token.expiresAt) > this.#options.now() ? token : undefined;
  }

  /** Calls `listener` whenever the token changes. Returns the function that stops it. */
  public onChange(listener: TokenListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes `record` (read from the store) as the current token if it is newer than the one held. */
  public adopt(record: TokenRecord): void {
    if (this.#token !== undefined && this.#token.generation >= record.generation) return;
    this.#set(record);
  }

  /** Reads the store again (another relay may have published): adopts a newer token. */
  public async refresh(): Promise<TokenRecord | undefined> {
    const record = await this.#options.store.read();
    if (record !== undefined) this.adopt(record);
    return this.current();
  }

  /**
   * Writes the token held back to the store if the store lost it (a Redis that restarted empty).
   * Resolves to whether it wrote.
   */
  public async restoreIfLost(): Promise<boolean> {
    const held = this.current();
    if (held === undefined) return false;
    const stored = await this.#options.store.read();
    if (stored !== undefined) {
      this.adopt(stored);
      return false;
    }
    const restored = await this.#options.store.restore(held);
    if (restored) {
      this.#log.warn({ generation: held.generation }, 'the store had lost the token; written back');
      await this.#emit({ type: 'token.updated', generation: held.generation, expiresAt: held.expiresAt });
    }
    return restored;
  }

  /**
   * Asks the broker whether `record`'s token still works. `unchecked`: the broker could not be
   * reached or failed (a network error or 5xx is not a dead token).
   */
  public async check(record: TokenRecord): Promise<'valid' | 'invalid' | 'unchecked'> {
    if (Date.parse(record.expiresAt) <= this.#options.now()) return 'invalid';
    try {
      return await this.#options.broker.validate(new Secret(record.token));
    } catch (error) {
      this.#log.warn(
        { generation: record.generation, err: errorFields(error) },
        'token could not be checked; kept',
      );
      return 'unchecked';
    }
  }

  /** Removes a dead token (only if the store still holds that generation) and tells the bots. */
  public async invalidate(record: TokenRecord, reason: string): Promise<void> {
    await this.#options.store.remove(record.generation);
    if (this.#token?.generation === record.generation) this.#set(undefined);
    this.#log.warn({ generation: record.generation, reason }, 'token invalidated');
    await this.#emit({ type: 'token.invalidated', generation: record.generation, reason });
  }

  /** Forgets the token once it has expired (Redis drops the key by its TTL) and tells the bots. */
  public async expire(generation: number): Promise<void> {
    const token = this.#token;
    if (token?.generation !== generation || Date.parse(token.expiresAt) > this.#options.now()) return;
    this.#set(undefined);
    this.#log.warn({ generation }, 'token expired');
    await this.#emit({ type: 'token.invalidated', generation, reason: 'expired' });
  }

  /**
   * Publishes a new token and its `token.updated` event. A failed write is tried again with backoff
   * until it lands or the token expires: the token came from a human's code and must not be lost. A
   * write refused because a newer token exists (another relay's) is not retried.
   */
  public async publish(token: Secret): Promise<TokenRecord> {
    const obtainedAt = new Date(this.#options.now());
    const expiresAt = new Date(obtainedAt.getTime() + this.#options.tokenLifetimeMs);
    let waitMs = this.#options.publishRetryMs;
    for (;;) {
      try {
        const record = await this.#options.store.publish({ token, obtainedAt, expiresAt });
        this.#set(record);
        this.#log.info({ generation: record.generation, expiresAt: record.expiresAt }, 'token published');
        this.#options.onPublished?.(record);
        await this.#emit({
          type: 'token.updated',
          generation: record.generation,
          expiresAt: record.expiresAt,
        });
        return record;
      } catch (error) {
        const stale = error instanceof Error && error.name === 'StaleGenerationError';
        if (stale || this.#stopped || this.#options.now() + waitMs >= expiresAt.getTime()) throw error;
        this.#log.error({ err: errorFields(error), retryInMs: waitMs }, 'token write failed; trying again');
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#retryTimer = setTimeout(resolve, waitMs);
        });
        waitMs = Math.min(waitMs * 2, MAX_PUBLISH_RETRY_MS);
      }
    }
  }

  /** Stops retrying writes. */
  public stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    // A write waiting to be tried again gives up now (the loop sees `#stopped`).
    this.#wake?.();
  }

  #set(token: TokenRecord | undefined): void {
    this.#token = token;
    for (const listener of this.#listeners) {
      try {
        listener(token);
      } catch (error) {
        this.#log.warn({ err: errorFields(error) }, 'token listener failed');
      }
    }
  }

  async #emit(event: RelayEvent): Promise<void> {
    await emitSafely(this.#options.events, event, this.#log);
  }
}

/**
 * Publishes an event, logging a failure instead of throwing: events are a convenience, the token
 * key is the truth.
 */
export async function emitSafely(events: EventPublisher, event: RelayEvent, log: Logger): Promise<void> {
  try {
    await events.publish(event);
  } catch (error) {
    log.warn({ event: event.type, err: errorFields(error) }, 'event not published');
  }
}
