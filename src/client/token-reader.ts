import { reconnectDelayMs } from '../shared/sleep.js';
import { TokenClientRedisError } from './errors.js';
import { describeConnectionError, type TokenClientRedis } from './redis-connection.js';
import type { TokenClientLogger } from './token-client-options.js';
import { parseStoredToken, type StoredToken } from './token-info.js';

/** The first retry of a failed read waits about this long; later ones double. */
const RETRY_INITIAL_DELAY_MS = 250;

/** Options of {@link TokenReader}. */
export interface TokenReaderOptions {
  /** The key the token is read from (`P:token:A`). */
  readonly tokenKey: string;
  readonly logger: TokenClientLogger | undefined;
  /** The longest wait between two retries of a failed read. */
  readonly reconnectMaxDelayMs: number;
  /** The connection to read on, or `undefined` while the client is not started: reads stop. */
  readonly connection: () => TokenClientRedis | undefined;
  /** Called with what each read found. */
  readonly onRead: (stored: StoredToken) => void;
}

/**
 * Reads `P:token:A` for a {@link TokenClient}: one read at a time, once more when asked during a
 * read, and again after a failed read (with a growing delay) until one succeeds.
 */
export class TokenReader {
  readonly #options: TokenReaderOptions;
  #refreshing: Promise<void> | undefined;
  #reading = false;
  #refreshAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAttempt = 0;

  public constructor(options: TokenReaderOptions) {
    this.#options = options;
  }

  /** Starts a read of the key unless one is running, in which case it reads once more after it. */
  public request(): void {
    this.read().catch((error: unknown) => this.#failed(error));
  }

  /**
   * Reads the key; concurrent requests share one read plus at most one more, so reads never overlap
   * and each one sees Redis later than the one before (which is what lets an absent key mean "gone").
   * Rejects with {@link TokenClientRedisError} when Redis does not answer.
   */
  public read(): Promise<void> {
    if (this.#reading && this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#readLoop();
    return this.#refreshing;
  }

  /** Cancels a retry that is waiting. */
  public stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #readLoop(): Promise<void> {
    // A flag rather than the promise: it drops in the same tick as the last `#refreshAgain` check,
    // so a request can never join a loop that has already decided to stop.
    this.#reading = true;
    try {
      do {
        this.#refreshAgain = false;
        const command = this.#options.connection();
        if (command === undefined) return;
        let reply: unknown;
        try {
          reply = await command.sendCommand(['GET', this.#options.tokenKey]);
        } catch (error) {
          throw new TokenClientRedisError('read', error);
        }
        if (this.#options.connection() === undefined) return;
        this.#options.onRead(parseStoredToken(reply, Date.now()));
        this.#retryAttempt = 0;
        this.stop();
      } while (this.#refreshAgain);
    } finally {
      this.#reading = false;
    }
  }

  #failed(error: unknown): void {
    if (this.#options.connection() === undefined) return;
    const { logger } = this.#options;
    const cause = error instanceof TokenClientRedisError ? error.cause : error;
    const fields = { key: this.#options.tokenKey, ...describeConnectionError(cause, undefined) };
    if (this.#retryAttempt === 0) logger?.warn(fields, 'Reading the token failed; retrying');
    else logger?.debug(fields, 'Reading the token failed again; retrying');
    if (this.#retryTimer !== undefined) return;
    const delayMs = reconnectDelayMs(this.#retryAttempt, {
      initialDelayMs: RETRY_INITIAL_DELAY_MS,
      maxDelayMs: this.#options.reconnectMaxDelayMs,
    });
    this.#retryAttempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.request();
    }, delayMs).unref();
  }
}
