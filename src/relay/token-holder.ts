import type { Broker } from './ports/broker.js';
import { errorFields, type Logger } from '../shared/log.js';
import { Secret } from '../shared/secret.js';
import { abortableSleep } from '../shared/sleep.js';
import type { EventPublisher, RelayEvent, TokenRecord, TokenStore } from './ports/token-store.js';

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
  /** Aborted by {@link TokenHolder.stop}: a write waiting to be tried again gives up. */
  readonly #stopping = new AbortController();
  /**
   * The highest generation this relay has seen (published, adopted, invalidated): the floor of the
   * next one, so generations never go back even when the store lost its counter (a Redis restarted
   * empty, a failover to a replica that missed the last write).
   */
  #seenGeneration = 0;
  /** The token being written, until the store has it: what a shutdown must not lose in silence. */
  #writing: { readonly obtainedAt: Date; readonly expiresAt: Date } | undefined;

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

  /** The token being written right now (no secret: its times only), if a write is under way. */
  public writing(): { readonly obtainedAt: Date; readonly expiresAt: Date } | undefined {
    return this.#writing;
  }

  /** Takes `record` (read from the store) as the current token if it is newer than the one held. */
  public adopt(record: TokenRecord): void {
    this.#see(record.generation);
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
      await this.announce({ type: 'token.updated', generation: held.generation, expiresAt: held.expiresAt });
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
    this.#see(record.generation);
    await this.#options.store.remove(record.generation);
    if (this.#token?.generation === record.generation) this.#set(undefined);
    this.#log.warn({ generation: record.generation, reason }, 'token invalidated');
    await this.announce({ type: 'token.invalidated', generation: record.generation, reason });
  }

  /** Forgets the token once it has expired (Redis drops the key by its TTL) and tells the bots. */
  public async expire(generation: number): Promise<void> {
    const token = this.#token;
    if (token?.generation !== generation || Date.parse(token.expiresAt) > this.#options.now()) return;
    this.#set(undefined);
    this.#log.warn({ generation }, 'token expired');
    await this.announce({ type: 'token.invalidated', generation, reason: 'expired' });
  }

  /**
   * Publishes a new token and its `token.updated` event. A failed write is tried again with backoff
   * until it lands, the token expires, or the holder is stopped: the token came from a human's code
   * and must not be lost. The generation is never below one this relay has seen.
   */
  public async publish(token: Secret): Promise<TokenRecord> {
    const obtainedAt = new Date(this.#options.now());
    const expiresAt = new Date(obtainedAt.getTime() + this.#options.tokenLifetimeMs);
    this.#writing = { obtainedAt, expiresAt };
    try {
      return await this.#write(token, obtainedAt, expiresAt, this.#options.publishRetryMs);
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(token: Secret, obtainedAt: Date, expiresAt: Date, firstWaitMs: number): Promise<TokenRecord> {
    let waitMs = firstWaitMs;
    for (;;) {
      try {
        const record = await this.#options.store.publish({
          token,
          obtainedAt,
          expiresAt,
          minGeneration: this.#seenGeneration + 1,
        });
        this.#set(record);
        this.#log.info({ generation: record.generation, expiresAt: record.expiresAt }, 'token published');
        this.#options.onPublished?.(record);
        if (this.#options.store.announcesPublish !== true) {
          await this.announce({
            type: 'token.updated',
            generation: record.generation,
            expiresAt: record.expiresAt,
          });
        }
        return record;
      } catch (error) {
        // The store takes the generation and writes in one step: a failure is the store's, never a
        // newer token's, so it is worth another try while the token lives.
        const stopped = this.#stopping.signal.aborted;
        if (stopped || this.#options.now() + waitMs >= expiresAt.getTime()) throw error;
        this.#log.error({ err: errorFields(error), retryInMs: waitMs }, 'token write failed; trying again');
        await abortableSleep(waitMs, this.#stopping.signal);
        if (this.#stopping.signal.aborted) {
          this.#log.error(
            { expiresAt: expiresAt.toISOString() },
            'token obtained but never stored: stopped while the store was failing',
          );
          throw error;
        }
        waitMs = Math.min(waitMs * 2, MAX_PUBLISH_RETRY_MS);
      }
    }
  }

  /**
   * Stops retrying writes: a write waiting to be tried again gives up now (and says so). The relay
   * calls it only after its work under way had its chance to finish.
   */
  public stop(): void {
    this.#stopping.abort();
  }

  #see(generation: number): void {
    if (generation > this.#seenGeneration) this.#seenGeneration = generation;
  }

  #set(token: TokenRecord | undefined): void {
    if (token !== undefined) this.#see(token.generation);
    this.#token = token;
    for (const listener of this.#listeners) {
      try {
        listener(token);
      } catch (error) {
        this.#log.warn({ err: errorFields(error) }, 'token listener failed');
      }
    }
  }

  /** Publishes an event for the bots (e.g. `token.checked`); a failure is logged, never thrown. */
  public async announce(event: RelayEvent): Promise<void> {
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
