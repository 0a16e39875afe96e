import { authRefusal, TokenClientRedisError, TokenClientStateError } from './errors.js';
import { HeldToken, tellListeners } from './held-token.js';
import type { RelayEvent } from '../contract/relay-event.js';
import { acquireRelayLink } from './link-pool.js';
import type { LinkMember, RelayLink } from './relay-link.js';
import {
  readTokenClientOptions,
  readWaitOptions,
  type RelayEventListener,
  type TokenChangeListener,
  type TokenClientConfig,
  type TokenClientOptions,
  type TokenClientRedis,
  type TokenClientStartOptions,
  type WaitForTokenOptions,
} from './token-client-options.js';
import type { TokenInfo } from './token-info.js';
import { TokenWaiters } from './token-waiters.js';

type ClientState = 'idle' | 'starting' | 'started' | 'closed';

/**
 * The token of one account, served from memory to trading bots.
 *
 * `start()` subscribes to `P:events:A` and reads `P:token:A` once; from then on `getToken()`
 * answers synchronously, without Redis. The client re-reads the key when the relay announces a new
 * token (the event carries no token), forgets the token when the relay invalidates it, never goes
 * back to an older generation, and re-reads after every reconnect of either connection, since an
 * event may have been missed while it was down.
 *
 * By default the clients of a process with the same connection settings and account share one
 * command and one subscriber connection: each event is parsed once for all of them, and the clients
 * that hear it share one GET (option `shareConnections`). Each has its own token state, listeners
 * and waits; the last one to close closes the connections.
 *
 * @example
 * ```ts
 * const tokens = await createTokenClient({ redisUrl: 'redis://127.0.0.1:6379' });
 * const { token, generation } = await tokens.waitForToken({ signal: AbortSignal.timeout(60_000) });
 * ```
 */
export class TokenClient {
  readonly #config: TokenClientConfig;

  #state: ClientState = 'idle';
  /** Set while the client holds a link: from `start()` until its teardown. */
  #link: RelayLink | undefined;
  #starting: Promise<void> | undefined;
  #tearingDown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #startAbort = new AbortController();

  readonly #waiters = new TokenWaiters();
  readonly #token: HeldToken;
  readonly #eventListeners = new Set<{ readonly listener: RelayEventListener }>();
  /** What the link calls: it acts only while the client is started. */
  readonly #member: LinkMember;

  public constructor(options: TokenClientOptions = {}) {
    this.#config = readTokenClientOptions(options);
    this.#token = new HeldToken({
      tokenKey: this.#config.keys.token,
      logger: this.#config.logger,
      waiters: this.#waiters,
      onExpired: () => this.#request(),
    });
    this.#member = {
      logger: this.#config.logger,
      onEvent: (event) => this.#onEvent(event),
      onRead: (stored) => {
        if (this.#state === 'started') this.#token.apply(stored);
      },
    };
  }

  /** The Redis key the token is read from (`P:token:A`). */
  public get tokenKey(): string {
    return this.#config.keys.token;
  }

  /** Whether both connections are up right now (while they are not, the token may be stale). */
  public get connected(): boolean {
    return this.#state === 'started' && this.#link?.connected === true;
  }

  /**
   * Connects and subscribes to `P:events:A` (or joins the process's connections for the same
   * settings, waiting for them while they reconnect), then reads `P:token:A`. Resolves once the
   * token (if any) is in memory. Rejects with the signal's reason on abort, with {@link TokenClientRedisError} when
   * the first read fails (the client can then be started again), and with
   * {@link TokenClientStateError} when already started or closed.
   */
  public async start(options: TokenClientStartOptions = {}): Promise<void> {
    if (this.#state !== 'idle') {
      throw new TokenClientStateError(this.#state === 'closed' ? 'closed' : 'already-started');
    }
    this.#state = 'starting';
    this.#startAbort = new AbortController();
    const signal =
      options.signal === undefined
        ? this.#startAbort.signal
        : AbortSignal.any([options.signal, this.#startAbort.signal]);
    const starting = this.#connectAndRead(signal);
    this.#starting = starting;
    try {
      await starting;
    } catch (error) {
      // Before the teardown, so that nothing still running (a retry, a 'ready') acts on it.
      if (!this.#isClosed()) this.#state = 'idle';
      await this.#teardown();
      throw error;
    } finally {
      this.#starting = undefined;
    }
  }

  /**
   * Unsubscribes and closes the connections the client opened (never a `client` it was given); when
   * it shares them with other clients of the process (the default), it lets go of them, and the last
   * client to close closes them. Pending {@link waitForToken} calls reject with
   * {@link TokenClientStateError}; `getToken()` answers `undefined` from now on. Safe to call more
   * than once, and during `start()`.
   */
  public close(): Promise<void> {
    if (this.#state === 'closed') return this.#closing ?? Promise.resolve();
    this.#state = 'closed';
    this.#startAbort.abort(new TokenClientStateError('closed'));
    this.#token.forget();
    this.#waiters.closeAll();
    const starting = this.#starting;
    this.#closing = (async () => {
      if (starting !== undefined) await starting.catch(() => undefined);
      await this.#teardown();
    })();
    return this.#closing;
  }

  /** {@link close}, for `await using tokens = await createTokenClient(...)` (TypeScript 5.2+, Node 24). */
  public [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The current token, from memory: `undefined` when there is none, it was invalidated, or it has
   * expired (checked against the clock on every call). Synchronous and allocation-free: call it
   * before every broker request rather than caching the result.
   */
  public getToken(): TokenInfo | undefined {
    return this.#token.current();
  }

  /**
   * Resolves with the current token at once if one is held that the wait takes, else with the next
   * one that arrives. With `after: n` (the generation reported with `reportRejected(n)`), a token
   * newer than `n` will do, and so will token `n` itself once the relay answered that it still works
   * (`token.checked` with `valid: true`). Rejects with {@link TokenClientTimeoutError} after
   * `timeoutMs` (default: the client's `waitTimeoutMs`), with the signal's reason on abort, with
   * {@link TokenClientStateError} when the client is or gets closed, and with a `RangeError` or
   * `TypeError` for options it cannot use.
   */
  public waitForToken(options: WaitForTokenOptions = {}): Promise<TokenInfo> {
    const wait = readWaitOptions(options, this.#config.settings.waitTimeoutMs);
    if (wait instanceof Error) return Promise.reject(wait);
    if (this.#state === 'closed') return Promise.reject(new TokenClientStateError('closed'));
    return this.#waiters.wait(wait, this.getToken());
  }

  /**
   * Calls `listener` with each new token, and with `undefined` when the token is invalidated,
   * removed or expires. Not called for the state at subscription time: read `getToken()` for that.
   * A listener that throws is logged and does not affect the others. Returns the unsubscribe
   * function.
   */
  public onTokenChange(listener: TokenChangeListener): () => void {
    return this.#token.onChange(listener);
  }

  /**
   * Calls `listener` with every well-formed relay event (`token.updated`, `token.invalidated`,
   * `token.checked`, `login.started`, `login.failed`), after the client has acted on it. Returns
   * the unsubscribe function.
   */
  public onRelayEvent(listener: RelayEventListener): () => void {
    const entry = { listener };
    this.#eventListeners.add(entry);
    return () => {
      this.#eventListeners.delete(entry);
    };
  }

  /**
   * Tells the relay that the broker answered 401 to token `generation`: publishes
   * `{"type":"token.rejected","generation":N}` on `P:requests:A`. The relay checks the token with
   * the broker before it asks an operator for anything, answers with `token.checked`, and ignores
   * repeats; the client keeps serving the token until the relay invalidates it. Then wait with
   * `waitForToken({ after: generation })`: it ends with the replacement, or with the same token if
   * the relay found it still valid. Resolves with the number of subscribers that received it (0: no
   * relay is listening). Rejects with {@link TokenClientRedisError} when Redis could not take it.
   */
  public async reportRejected(generation: number): Promise<number> {
    if (!Number.isSafeInteger(generation) || generation < 0) {
      throw new RangeError('generation must be a non-negative integer');
    }
    const command = this.#requireStarted();
    const message = JSON.stringify({ type: 'token.rejected', generation });
    // Before the message goes out: the relay's answer may come before this call resolves.
    this.#waiters.reported(generation);
    let receivers: unknown;
    try {
      receivers = await command.sendCommand(['PUBLISH', this.#config.keys.requests, message]);
    } catch (error) {
      throw new TokenClientRedisError('report', error);
    }
    return typeof receivers === 'number' ? receivers : 0;
  }

  /** Read through a method: TypeScript would keep a narrowing of `#state` across an `await`. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #requireStarted(): TokenClientRedis {
    if (this.#state === 'closed') throw new TokenClientStateError('closed');
    const command = this.#state === 'started' ? this.#link?.command : undefined;
    if (command === undefined) throw new TokenClientStateError('not-started');
    return command;
  }

  /** Asks the link for a read of the key (shared with the other clients' requests). */
  #request(): void {
    if (this.#state === 'started') this.#link?.request();
  }

  async #connectAndRead(signal: AbortSignal): Promise<void> {
    const link = acquireRelayLink(this.#config, this.#member);
    this.#link = link;
    // Connected and subscribed (by this client, or already by another one of the process) before
    // the first read: a token published in between is then announced, not lost.
    await link.whenReady(signal);
    signal.throwIfAborted();
    link.listen(this.#member);
    this.#state = 'started';
    try {
      await link.read();
    } catch (error) {
      // Closed meanwhile: that, not the read the close cut short, is why the start failed.
      signal.throwIfAborted();
      // A read the ACL refuses (NOPERM) fails every time: said so, with what to check.
      throw authRefusal(error instanceof TokenClientRedisError ? error.cause : error) ?? error;
    }
    signal.throwIfAborted();
  }

  /** Lets go of the link; a second call while one runs waits for the same work. */
  #teardown(): Promise<void> {
    this.#tearingDown ??= this.#release().finally(() => {
      this.#tearingDown = undefined;
    });
    return this.#tearingDown;
  }

  async #release(): Promise<void> {
    this.#token.stopTimer();
    const link = this.#link;
    this.#link = undefined;
    if (link !== undefined) await link.release(this.#member);
  }

  #onEvent(event: RelayEvent): void {
    // Before 'started', the first read (which follows) sees whatever this event announces.
    if (this.#state !== 'started') return;
    if (event.type === 'token.updated') {
      // The event carries no token: the key has it. An event at or below what is held is old news.
      if (event.generation > this.#token.highestGeneration) this.#request();
    } else if (event.type === 'token.invalidated') {
      if (this.#token.invalidate(event.generation)) this.#request();
    } else if (event.type === 'token.checked') {
      // A wait that now takes a generation the client does not hold (yet): the key may have it.
      if (this.#waiters.checked(event.generation, event.valid, this.getToken())) this.#request();
    }
    if (this.#eventListeners.size > 0) {
      tellListeners(this.#eventListeners, event, 'relay event', this.#config.logger);
    }
  }
}

/**
 * Creates a {@link TokenClient} and starts it: resolves once it is connected and holds the stored
 * token, if any.
 */
export async function createTokenClient(
  options: TokenClientOptions = {},
  startOptions: TokenClientStartOptions = {},
): Promise<TokenClient> {
  const client = new TokenClient(options);
  await client.start(startOptions);
  return client;
}
