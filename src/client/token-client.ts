import { connectOrAbort } from '../shared/connect-or-abort.js';
import { relayKeys } from '../contract/keys.js';
import { reconnectDelayMs } from '../shared/sleep.js';
import type { RelayKeys } from '../contract/types.js';
import { TokenClientRedisError, TokenClientStateError } from './errors.js';
import {
  closeQuietly,
  createOwnedClient,
  describeConnectionError,
  type TokenClientRedis,
} from './redis-connection.js';
import { parseRelayEvent, type RelayEvent } from '../contract/relay-event.js';
import { formatNode, type SentinelNode, type SentinelProxyEvent } from '../shared/sentinel-proxy.js';
import { createSentinelOwnedClient, readSentinelOptions, type TokenClientSentinel } from './sentinel.js';
import { type ClientTokenInfo, parseStoredToken, type StoredToken, type TokenInfo } from './token-info.js';
import { MAX_TIMER_DELAY_MS, TokenWaiters } from './token-waiters.js';

/**
 * Where the client reports what happens to it. pino's and `console` both fit. Lines carry
 * generations, key names and error names; never a token and never a stored value or message.
 */
export interface TokenClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link TokenClient}. */
export interface TokenClientOptions {
  /**
   * The Redis to connect to (`redis://` or `rediss://`, with user and password if needed). The
   * client opens and closes its connections itself. Not together with `client`.
   */
  redisUrl?: string | undefined;
  /**
   * A node-redis client of the application, used for reads and reports; the client `duplicate()`s
   * it for its subscription. It is connected by `start()` if it is not open yet, and never closed by
   * the token client: its owner closes it (after `close()`). Not together with `redisUrl`.
   */
  client?: TokenClientRedis | undefined;
  /** `RELAY_KEY_PREFIX` of the relay. */
  prefix?: string | undefined;
  /** `RELAY_ACCOUNT` of the relay. */
  account?: string | undefined;
  /** Where problems are logged; nothing is logged when omitted. */
  logger?: TokenClientLogger | undefined;
  /**
   * The name of the connections on the Redis server (`CLIENT SETNAME`): the command connection's
   * when the client opens it itself, and with `:subscriber` the subscription's.
   */
  connectionName?: string | undefined;
  /** How long one connection attempt may take (own connections only). */
  connectTimeoutMs?: number | undefined;
  /** How long a read or a report may wait for Redis (own connections only). */
  commandTimeoutMs?: number | undefined;
  /** The longest wait between two reconnect attempts, or two retries of a failed read. */
  reconnectMaxDelayMs?: number | undefined;
  /**
   * How long {@link TokenClient.waitForToken} waits when the call gives no `timeoutMs`. The default
   * outlasts the longest login (a code is awaited `CODE_TIMEOUT`, at most 10 minutes).
   */
  waitTimeoutMs?: number | undefined;
  /**
   * Redis Sentinel: the sentinels (`[{ host, port }]`, or `REDIS_SENTINELS`' text
   * `host:port,host:port`), together with `sentinelMaster`. The client's own connections then go to
   * the master the sentinels name and follow failovers; `redisUrl` gives only the user and password.
   * Not together with `client`.
   */
  sentinels?: readonly SentinelNode[] | string | undefined;
  /** `REDIS_SENTINEL_MASTER`: the sentinels' master group name, together with `sentinels`. */
  sentinelMaster?: string | undefined;
}

/** Defaults of {@link TokenClientOptions}. */
export const TOKEN_CLIENT_DEFAULTS = {
  redisUrl: 'redis://127.0.0.1:6379',
  prefix: 'otp-relay',
  account: 'default',
  connectionName: 'otp-relay-client',
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 5_000,
  reconnectMaxDelayMs: 5_000,
  waitTimeoutMs: 900_000,
} as const satisfies Required<Omit<TokenClientOptions, 'client' | 'logger' | 'sentinels' | 'sentinelMaster'>>;

/** Options of {@link TokenClient.start}. */
export interface TokenClientStartOptions {
  /** Gives up connecting (which otherwise retries until Redis answers), e.g. `AbortSignal.timeout(10_000)`. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link TokenClient.waitForToken}. */
export interface WaitForTokenOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Gives up after this many milliseconds: the promise rejects with
   * {@link TokenClientTimeoutError}. Default: the client's `waitTimeoutMs` (15 minutes). Every wait
   * has one.
   */
  timeoutMs?: number | undefined;
  /**
   * The generation the bot reported with `reportRejected(n)`: the wait ends with a newer token, or
   * with token `n` itself once the relay answers that it still works (`token.checked` with
   * `valid: true`, also when that answer came between the report and this call). Not together with
   * `minGeneration`.
   */
  after?: number | undefined;
  /** Only a token of at least this generation will do. Not together with `after`. */
  minGeneration?: number | undefined;
}

/** Called with the new token, or `undefined` when the token was invalidated, removed or expired. */
export type TokenChangeListener = (token: TokenInfo | undefined) => void;

/** Called with every well-formed event the relay publishes on `P:events:A`. */
export type RelayEventListener = (event: RelayEvent) => void;

/** {@link TokenClientOptions} merged over the defaults. */
type ClientSettings = {
  readonly [K in keyof typeof TOKEN_CLIENT_DEFAULTS]: (typeof TOKEN_CLIENT_DEFAULTS)[K] extends string
    ? string
    : number;
};

type ClientState = 'idle' | 'starting' | 'started' | 'closed';
type ConnectionRole = 'command' | 'subscriber';

/** The first retry of a failed read waits about this long; later ones double. */
const RETRY_INITIAL_DELAY_MS = 250;

/**
 * The token of one account, served from memory to trading bots.
 *
 * `start()` subscribes to `P:events:A` on a connection of its own and reads `P:token:A` once;
 * from then on `getToken()` answers synchronously, without Redis. The client re-reads the key when
 * the relay announces a new token (the event carries no token), forgets the token when the relay
 * invalidates it, never goes back to an older generation, and re-reads after every reconnect of
 * either connection, since an event may have been missed while it was down.
 *
 * @example
 * ```ts
 * const tokens = await createTokenClient({ redisUrl: 'redis://127.0.0.1:6379' });
 * const { token, generation } = await tokens.waitForToken({ signal: AbortSignal.timeout(60_000) });
 * ```
 */
export class TokenClient {
  readonly #settings: ClientSettings;
  readonly #providedClient: TokenClientRedis | undefined;
  readonly #sentinel: TokenClientSentinel | undefined;
  readonly #logger: TokenClientLogger | undefined;
  readonly #keys: RelayKeys;

  #state: ClientState = 'idle';
  #command: TokenClientRedis | undefined;
  #subscriber: TokenClientRedis | undefined;
  #starting: Promise<void> | undefined;
  #tearingDown: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #startAbort = new AbortController();

  // The hot path reads only these two fields: `#heldExpiresAtMs` is 0 while nothing is held.
  #held: ClientTokenInfo | undefined;
  #heldExpiresAtMs = 0;
  /** The newest generation held or invalidated: nothing at or below it is taken from Redis again. */
  #highestGeneration = -1;
  /** What listeners were last told, so that each change is told once. */
  #announced: ClientTokenInfo | undefined;

  readonly #tokenListeners = new Set<{ readonly listener: TokenChangeListener }>();
  readonly #eventListeners = new Set<{ readonly listener: RelayEventListener }>();
  readonly #waiters = new TokenWaiters();

  #refreshing: Promise<void> | undefined;
  #reading = false;
  #refreshAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAttempt = 0;
  #expiryTimer: NodeJS.Timeout | undefined;
  readonly #down: Record<ConnectionRole, boolean> = { command: false, subscriber: false };

  public constructor(options: TokenClientOptions = {}) {
    if (options.client !== undefined && options.redisUrl !== undefined) {
      throw new TypeError('Pass either redisUrl or client to TokenClient, not both');
    }
    const {
      client: _client,
      logger: _logger,
      sentinels: _sentinels,
      sentinelMaster: _master,
      ...settings
    } = options;
    this.#sentinel = readSentinelOptions(options);
    if (this.#sentinel !== undefined && options.client !== undefined) {
      throw new TypeError('Pass either sentinels or client to TokenClient, not both');
    }
    this.#settings = { ...TOKEN_CLIENT_DEFAULTS, ...withoutUndefined(settings) };
    const { prefix, account, connectionName } = this.#settings;
    for (const [name, value] of Object.entries({ prefix, account })) {
      if (typeof value !== 'string' || value.length === 0) {
        throw new TypeError(`TokenClient option ${name} must be a non-empty string`);
      }
    }
    if (!isTimeout(this.#settings.waitTimeoutMs)) {
      throw new RangeError(
        `TokenClient option waitTimeoutMs must be a number of ms from 1 to ${MAX_TIMER_DELAY_MS}`,
      );
    }
    if (!/^[!-~]+$/.test(connectionName)) {
      // CLIENT SETNAME refuses it, and would fail every connection attempt forever.
      throw new TypeError('TokenClient option connectionName must be printable ASCII without spaces');
    }
    this.#providedClient = options.client;
    this.#logger = options.logger;
    this.#keys = relayKeys({ prefix, account });
  }

  /** The Redis key the token is read from (`P:token:A`). */
  public get tokenKey(): string {
    return this.#keys.token;
  }

  /** Whether both connections are up right now (while they are not, the token may be stale). */
  public get connected(): boolean {
    return this.#state === 'started' && this.#command?.isReady === true && this.#subscriber?.isReady === true;
  }

  /**
   * Connects, subscribes to `P:events:A`, then reads `P:token:A`. Resolves once the token (if any)
   * is in memory. Rejects with the signal's reason on abort, with {@link TokenClientRedisError} when
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
   * Unsubscribes and closes the connections the client opened (never a `client` it was given).
   * Pending {@link waitForToken} calls reject with {@link TokenClientStateError}; `getToken()`
   * answers `undefined` from now on. Safe to call more than once, and during `start()`.
   */
  public close(): Promise<void> {
    if (this.#state === 'closed') return this.#closing ?? Promise.resolve();
    this.#state = 'closed';
    this.#startAbort.abort(new TokenClientStateError('closed'));
    this.#held = undefined;
    this.#heldExpiresAtMs = 0;
    this.#announced = undefined;
    this.#waiters.closeAll();
    const starting = this.#starting;
    this.#closing = (async () => {
      if (starting !== undefined) await starting.catch(() => undefined);
      await this.#teardown();
    })();
    return this.#closing;
  }

  /**
   * The current token, from memory: `undefined` when there is none, it was invalidated, or it has
   * expired (checked against the clock on every call). Synchronous and allocation-free: call it
   * before every broker request rather than caching the result.
   */
  public getToken(): TokenInfo | undefined {
    // The clock is read on every call because a timer can fire late (a busy event loop); it cannot.
    return Date.now() < this.#heldExpiresAtMs ? this.#held : undefined;
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
    const { signal, after, minGeneration, timeoutMs = this.#settings.waitTimeoutMs } = options;
    if (after !== undefined && minGeneration !== undefined) {
      return Promise.reject(new TypeError('Pass either after or minGeneration to waitForToken, not both'));
    }
    for (const [name, value] of Object.entries({ after, minGeneration })) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
        return Promise.reject(new RangeError(`${name} must be a non-negative integer`));
      }
    }
    if (!isTimeout(timeoutMs)) {
      return Promise.reject(
        new RangeError(`timeoutMs must be a number of ms from 1 to ${MAX_TIMER_DELAY_MS}`),
      );
    }
    if (this.#state === 'closed') return Promise.reject(new TokenClientStateError('closed'));
    const wait = {
      minGeneration: after === undefined ? (minGeneration ?? 0) : after + 1,
      after,
      timeoutMs,
      signal,
    };
    return this.#waiters.wait(wait, this.getToken());
  }

  /**
   * Calls `listener` with each new token, and with `undefined` when the token is invalidated,
   * removed or expires. Not called for the state at subscription time: read `getToken()` for that.
   * A listener that throws is logged and does not affect the others. Returns the unsubscribe
   * function.
   */
  public onTokenChange(listener: TokenChangeListener): () => void {
    const entry = { listener };
    this.#tokenListeners.add(entry);
    return () => {
      this.#tokenListeners.delete(entry);
    };
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
      receivers = await command.sendCommand(['PUBLISH', this.#keys.requests, message]);
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
    if (this.#state !== 'started' || this.#command === undefined) {
      throw new TokenClientStateError('not-started');
    }
    return this.#command;
  }

  async #connectAndRead(signal: AbortSignal): Promise<void> {
    const { redisUrl, connectionName, connectTimeoutMs, commandTimeoutMs, reconnectMaxDelayMs } =
      this.#settings;
    const owned = {
      url: redisUrl,
      name: connectionName,
      connectTimeoutMs,
      commandTimeoutMs,
      reconnectMaxDelayMs,
    };
    const command =
      this.#providedClient ??
      (this.#sentinel === undefined
        ? createOwnedClient(owned)
        : await createSentinelOwnedClient({
            ...owned,
            sentinel: this.#sentinel,
            onEvent: this.#onSentinelEvent,
          }));
    this.#command = command;
    // Without an 'error' listener node-redis throws the first dropped connection at the process;
    // a client the application gave us is its owner's to listen to.
    if (this.#providedClient === undefined) command.on('error', this.#onCommandError);
    if (!command.isOpen) await connectOrAbort(command, signal);

    const subscriber = command.duplicate({ name: `${connectionName}:subscriber` });
    this.#subscriber = subscriber;
    subscriber.on('error', this.#onSubscriberError);
    await connectOrAbort(subscriber, signal);
    // Subscribed before the first read: a token published in between is then announced, not lost.
    await subscriber.subscribe(this.#keys.events, this.#onMessage);
    signal.throwIfAborted();

    command.on('ready', this.#onCommandReady);
    // node-redis subscribes again by itself on reconnect, before it emits 'ready'.
    subscriber.on('ready', this.#onSubscriberReady);
    this.#state = 'started';
    await this.#refresh();
    signal.throwIfAborted();
  }

  /** Closes what is open; a second call while one runs waits for the same work. */
  #teardown(): Promise<void> {
    this.#tearingDown ??= this.#closeConnections().finally(() => {
      this.#tearingDown = undefined;
    });
    return this.#tearingDown;
  }

  async #closeConnections(): Promise<void> {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#expiryTimer);
    this.#retryTimer = undefined;
    this.#expiryTimer = undefined;
    const command = this.#command;
    const subscriber = this.#subscriber;
    this.#command = undefined;
    this.#subscriber = undefined;
    if (subscriber !== undefined) {
      subscriber.off('ready', this.#onSubscriberReady);
      if (subscriber.isReady) await subscriber.unsubscribe(this.#keys.events).catch(() => undefined);
      await closeQuietly(subscriber);
    }
    if (command !== undefined) {
      command.off('ready', this.#onCommandReady);
      if (command !== this.#providedClient) await closeQuietly(command);
    }
  }

  // Arrow properties: node-redis and `off()` need the same function object that was registered.
  readonly #onCommandError = (error: unknown): void => this.#connectionError('command', error);
  readonly #onSentinelEvent = (event: SentinelProxyEvent): void => {
    if (event.type === 'master-changed' && event.previous !== undefined) {
      this.#logger?.warn({ master: formatNode(event.master) }, 'Redis master changed (failover)');
    } else if (event.type === 'sentinel-unreachable') {
      this.#logger?.debug({ sentinel: formatNode(event.sentinel) }, 'sentinel did not answer');
    }
  };
  readonly #onSubscriberError = (error: unknown): void => this.#connectionError('subscriber', error);
  readonly #onCommandReady = (): void => this.#connectionReady('command');
  readonly #onSubscriberReady = (): void => this.#connectionReady('subscriber');

  #connectionError(role: ConnectionRole, error: unknown): void {
    if (this.#state === 'closed') return;
    const fields = {
      connection: role,
      ...describeConnectionError(
        error,
        this.#providedClient === undefined ? this.#settings.redisUrl : undefined,
      ),
    };
    // Once per outage at warn: node-redis reports every failed reconnect attempt.
    if (this.#down[role]) {
      this.#logger?.debug(fields, 'Redis connection still down');
    } else {
      this.#down[role] = true;
      this.#logger?.warn(fields, 'Redis connection lost; reconnecting');
    }
  }

  #connectionReady(role: ConnectionRole): void {
    if (this.#state !== 'started') return;
    this.#down[role] = false;
    this.#logger?.debug({ connection: role }, 'Redis connection ready again; re-reading the token');
    this.#requestRefresh();
  }

  readonly #onMessage = (message: string): void => {
    // Before 'started', the first read (which follows) sees whatever this event announces.
    if (this.#state !== 'started') return;
    const parsed = parseRelayEvent(message);
    if (!parsed.ok) {
      const fields = { channel: this.#keys.events, problem: parsed.error, length: message.length };
      if (parsed.error === 'unknown type')
        this.#logger?.debug(fields, 'Ignored a relay event of an unknown type');
      else this.#logger?.warn(fields, 'Ignored a malformed relay event');
      return;
    }
    const { event } = parsed;
    if (event.type === 'token.updated') {
      // The event carries no token: the key has it. An event at or below what is held is old news.
      if (event.generation > this.#highestGeneration) this.#requestRefresh();
    } else if (event.type === 'token.invalidated') {
      this.#invalidate(event.generation);
    } else if (event.type === 'token.checked') {
      // A wait that now takes a generation the client does not hold (yet): the key may have it.
      if (this.#waiters.checked(event.generation, event.valid, this.getToken())) this.#requestRefresh();
    }
    for (const { listener } of [...this.#eventListeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#listenerFailed('relay event', error);
      }
    }
  };

  #invalidate(generation: number): void {
    if (generation < this.#highestGeneration) return;
    const missedSome = generation > this.#highestGeneration;
    this.#highestGeneration = generation;
    if (this.#held !== undefined) this.#drop();
    // A newer token than the one held was published and invalidated while an event was missed: the
    // key may already hold the one after it.
    if (missedSome) this.#requestRefresh();
  }

  /** Starts a read of the key unless one is running, in which case it reads once more after it. */
  #requestRefresh(): void {
    this.#refresh().catch((error: unknown) => this.#refreshFailed(error));
  }

  /**
   * Reads the key; concurrent requests share one read plus at most one more, so reads never overlap
   * and each one sees Redis later than the one before (which is what lets an absent key mean "gone").
   */
  #refresh(): Promise<void> {
    if (this.#reading && this.#refreshing !== undefined) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#readLoop();
    return this.#refreshing;
  }

  async #readLoop(): Promise<void> {
    // A flag rather than the promise: it drops in the same tick as the last `#refreshAgain` check,
    // so a request can never join a loop that has already decided to stop.
    this.#reading = true;
    try {
      do {
        this.#refreshAgain = false;
        const command = this.#command;
        if (this.#state !== 'started' || command === undefined) return;
        let reply: unknown;
        try {
          reply = await command.sendCommand(['GET', this.#keys.token]);
        } catch (error) {
          throw new TokenClientRedisError('read', error);
        }
        if (this.#state !== 'started') return;
        this.#apply(parseStoredToken(reply, Date.now()));
        this.#retryAttempt = 0;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
      } while (this.#refreshAgain);
    } finally {
      this.#reading = false;
    }
  }

  #refreshFailed(error: unknown): void {
    if (this.#state !== 'started') return;
    const cause = error instanceof TokenClientRedisError ? error.cause : error;
    const fields = { key: this.#keys.token, ...describeConnectionError(cause, undefined) };
    if (this.#retryAttempt === 0) this.#logger?.warn(fields, 'Reading the token failed; retrying');
    else this.#logger?.debug(fields, 'Reading the token failed again; retrying');
    if (this.#retryTimer !== undefined) return;
    const delayMs = reconnectDelayMs(this.#retryAttempt, {
      initialDelayMs: RETRY_INITIAL_DELAY_MS,
      maxDelayMs: this.#settings.reconnectMaxDelayMs,
    });
    this.#retryAttempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#requestRefresh();
    }, delayMs).unref();
  }

  #apply(stored: StoredToken): void {
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
        this.#logger?.warn(
          { key: this.#keys.token, problem: stored.problem },
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

  #warnOlder(generation: number): void {
    this.#logger?.warn(
      { key: this.#keys.token, generation, highestGeneration: this.#highestGeneration },
      'Ignored a stored token older than one already seen',
    );
  }

  #hold(info: ClientTokenInfo, expiresAtMs: number): void {
    this.#held = info;
    this.#heldExpiresAtMs = expiresAtMs;
    this.#highestGeneration = info.generation;
    this.#scheduleExpiry(info);
    this.#announce(info);
  }

  #drop(): void {
    this.#held = undefined;
    this.#heldExpiresAtMs = 0;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#announce(undefined);
  }

  #scheduleExpiry(info: ClientTokenInfo): void {
    clearTimeout(this.#expiryTimer);
    const delayMs = Math.min(Math.max(this.#heldExpiresAtMs - Date.now(), 0), MAX_TIMER_DELAY_MS);
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      if (this.#held !== info || this.#state === 'closed') return;
      // Early only when the delay was capped (or clocks disagree): wait the rest.
      if (Date.now() < this.#heldExpiresAtMs) {
        this.#scheduleExpiry(info);
        return;
      }
      this.#drop();
      // The relay renews ahead of expiry: a missed announcement would be in the key.
      this.#requestRefresh();
    }, delayMs).unref();
  }

  #announce(token: ClientTokenInfo | undefined): void {
    if (token === this.#announced) return;
    this.#announced = token;
    if (token !== undefined) this.#waiters.offer(token);
    for (const { listener } of [...this.#tokenListeners]) {
      try {
        listener(token);
      } catch (error) {
        this.#listenerFailed('token change', error);
      }
    }
  }

  #listenerFailed(kind: string, error: unknown): void {
    // The name only: the listener's own error text may quote whatever it was handling.
    this.#logger?.error(
      { listener: kind, error: error instanceof Error ? error.name : typeof error },
      'A token client listener threw',
    );
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

/** Whether `value` is a time-out `setTimeout` takes as given: a number of ms from 1 to about 24.8 days. */
function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && value >= 1 && value <= MAX_TIMER_DELAY_MS;
}

function withoutUndefined<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
