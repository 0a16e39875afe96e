import { reconnectDelayMs } from '../shared/sleep.js';
import { TokenClientRedisError } from './errors.js';
import type { TokenClientRedis } from './token-client-options.js';
import { parseStoredToken, type StoredToken } from './token-info.js';

/** The first retry of a failed read waits about this long; later ones double. */
const RETRY_INITIAL_DELAY_MS = 250;

/** Options of {@link TokenReader}. */
export interface TokenReaderOptions {
  /** The key the token is read from (`P:token:A`). */
  readonly tokenKey: string;
  /** The longest wait between two retries of a failed read. */
  readonly reconnectMaxDelayMs: number;
  /**
   * How long a read may wait for its reply before it counts as failed (and is retried), or
   * `undefined` to leave that to the connection's own command options (a caller-supplied client).
   */
  readonly readTimeoutMs: number | undefined;
  /** The connection to read on, or `undefined` once the reads are over (the link closed). */
  readonly connection: () => TokenClientRedis | undefined;
  /** Called with what read number `read` (1, 2, …: see {@link TokenReader.nextRead}) found. */
  readonly onRead: (stored: StoredToken, read: number) => void;
  /** Called when a read asked for by {@link TokenReader.request} failed; it is retried. */
  readonly onRetry: (cause: unknown, attempt: number) => void;
}

/** A read that has not been sent yet: every request until it is sent shares it. */
class PendingRead {
  /** Whether a failure is retried (some {@link TokenReader.request} asked for it). */
  public retry = false;
  public readonly done: Promise<void>;
  public resolve!: () => void;
  public reject!: (error: TokenClientRedisError) => void;

  public constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A read only `request()`ed has nobody awaiting it; its failure is handled by the retry.
    this.done.catch(() => undefined);
  }
}

/** Why a read failed when it got no reply in time (the cause of its {@link TokenClientRedisError}). */
export class ReadTimeoutError extends Error {
  public override readonly name = 'TimeoutError';

  public constructor(timeoutMs: number) {
    super(`Redis did not answer the read within ${timeoutMs} ms`);
  }
}

/**
 * Reads `P:token:A` for every {@link TokenClient} on one connection (a {@link RelayLink}): one GET
 * at a time, and every request made before a GET is sent shares that GET. So 1,000 clients that
 * hear the same `token.updated` cause one GET, whose result every one of them takes, and the reads
 * still never overlap: each one sees Redis later than the one before (which is what lets an absent
 * key mean "gone"). A failed read is retried, with a growing delay, until one succeeds.
 *
 * A read sets no timer of its own: the read time-out is one timer per reader, re-armed
 * (`refresh()`) for each GET, instead of node-redis's per-command `AbortSignal.timeout`.
 */
export class TokenReader {
  readonly #options: TokenReaderOptions;
  /** The next read, not sent yet. */
  #pending: PendingRead | undefined;
  /** Whether a GET awaits its reply. */
  #busy = false;
  /** The read whose GET awaits its reply, with what ends it early (its time-out). */
  #inFlight: { readonly read: number; readonly fail: (error: unknown) => void } | undefined;
  /** How many reads were sent. */
  #sent = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAttempt = 0;
  #deadline: NodeJS.Timeout | undefined;
  #deadlineRead = 0;

  public constructor(options: TokenReaderOptions) {
    this.#options = options;
  }

  /**
   * The number the next read sent will have. A client that starts listening now takes the reads
   * from this one on: they are all sent after it started.
   */
  public get nextRead(): number {
    return this.#sent + 1;
  }

  /** Asks for a read (shared with any other request until it is sent); a failure is retried. */
  public request(): void {
    this.#next().retry = true;
  }

  /**
   * Asks for a read and resolves once its result was handed to `onRead`; rejects with
   * {@link TokenClientRedisError} when Redis does not answer. The GET is sent after this call, so
   * its result is at least as new as anything the caller heard before it.
   */
  public read(): Promise<void> {
    return this.#next().done;
  }

  /** Cancels a retry that is waiting, and the read time-out. */
  public stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #next(): PendingRead {
    if (this.#pending !== undefined) return this.#pending;
    const pending = new PendingRead();
    this.#pending = pending;
    // Sent in a microtask, not at once: every client that hears the same event asks in the same
    // synchronous loop, and all of them then share this one GET.
    if (!this.#busy) queueMicrotask(this.#sendNext);
    return pending;
  }

  readonly #sendNext = (): void => {
    void this.#send();
  };

  async #send(): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined || this.#busy) return;
    this.#pending = undefined;
    const command = this.#options.connection();
    if (command === undefined) {
      // The link closed: nobody is left to take a result.
      pending.resolve();
      return;
    }
    this.#busy = true;
    const read = ++this.#sent;
    try {
      const reply = await this.#get(command, read);
      if (this.#options.connection() !== undefined) {
        this.#options.onRead(parseStoredToken(reply, Date.now()), read);
      }
      this.#retryAttempt = 0;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      pending.resolve();
    } catch (error) {
      pending.reject(new TokenClientRedisError('read', error));
      if (pending.retry) this.#failed(error);
    } finally {
      this.#busy = false;
      this.#inFlight = undefined;
      // Asked for while this one was in flight: its GET goes now, after this one's reply.
      if (this.#pending !== undefined) void this.#send();
    }
  }

  /** One GET, failed by the read time-out when it gets no reply in time. */
  #get(command: TokenClientRedis, read: number): Promise<unknown> {
    const timeoutMs = this.#options.readTimeoutMs;
    if (timeoutMs === undefined) return command.sendCommand(['GET', this.#options.tokenKey]);
    return new Promise<unknown>((resolve, reject) => {
      this.#inFlight = { read, fail: reject };
      this.#armDeadline(read, timeoutMs);
      // `timeout: 0`: no node-redis timer for this command; the reader's own deadline stands in.
      command.sendCommand(['GET', this.#options.tokenKey], { timeout: 0 }).then(resolve, reject);
    });
  }

  #armDeadline(read: number, timeoutMs: number): void {
    this.#deadlineRead = read;
    if (this.#deadline === undefined) {
      this.#deadline = setTimeout(() => {
        const inFlight = this.#inFlight;
        // Armed for a read that has had its reply: nothing to do until the next one re-arms it.
        if (inFlight === undefined || inFlight.read !== this.#deadlineRead) return;
        // The reply, if it ever comes, is dropped: the promise has settled.
        inFlight.fail(new ReadTimeoutError(timeoutMs));
      }, timeoutMs).unref();
    } else {
      this.#deadline.refresh();
    }
  }

  #failed(error: unknown): void {
    if (this.#options.connection() === undefined) return;
    this.#options.onRetry(error, this.#retryAttempt);
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
