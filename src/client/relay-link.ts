import { parseRelayEvent, type RelayEvent } from '../contract/relay-event.js';
import { closeQuietly, createRedisClient, redisConnectionState } from '../redis/connect.js';
import { describeRedisError } from '../redis/redact.js';
import { sentinelLogLine, type SentinelProxyEvent } from '../redis/sentinel-proxy.js';
import { Secret } from '../shared/secret.js';
import { untilAborted } from '../shared/sleep.js';
import { authRefusal, TokenClientStateError, type TokenClientAuthError } from './errors.js';
import type { TokenClientConfig, TokenClientLogger, TokenClientRedis } from './token-client-options.js';
import type { StoredToken } from './token-info.js';
import { TokenReader } from './token-reader.js';

type ConnectionRole = 'command' | 'subscriber';
type LogLevel = 'debug' | 'warn' | 'error';

/** A {@link TokenClient} as its {@link RelayLink} sees it. */
export interface LinkMember {
  /** Where the link's problems are logged: each distinct logger of the link's members once. */
  readonly logger: TokenClientLogger | undefined;
  /** A well-formed relay event, in the order the relay published them. */
  onEvent(event: RelayEvent): void;
  /** What a read of `P:token:A` found: only reads sent after the member started listening. */
  onRead(stored: StoredToken): void;
}

interface Listener {
  readonly member: LinkMember;
  /** The first read this member takes: reads sent before it listened may predate what it heard. */
  readonly firstRead: number;
}

/**
 * The Redis side of one or more {@link TokenClient}s of the same connection settings and account:
 * a command connection, a subscriber connection subscribed to `P:events:A`, and the
 * {@link TokenReader} of `P:token:A`. Each event is parsed once and handed to every member, and a
 * read that members ask for together is one GET whose result every member takes; so a new token
 * costs the process one socket read for the event and one GET, however many clients it has.
 *
 * Reference-counted: every client that starts holds it, and the last one to let go closes the
 * connections (never a `client` the application gave). It reads the key again after a reconnect of
 * either connection, since an event may have been missed while it was down, and hands that read to
 * every member.
 */
export class RelayLink {
  readonly #config: TokenClientConfig;
  readonly #onClosed: () => void;
  /** Every client that holds the link (started, or starting): the reference count. */
  readonly #holders = new Set<LinkMember>();
  /** The started clients: they take events and reads. */
  readonly #listeners = new Map<LinkMember, Listener>();
  readonly #reader: TokenReader;
  readonly #connecting: Promise<void>;
  readonly #readyWaiters = new Set<() => void>();
  readonly #down: Record<ConnectionRole, boolean> = { command: false, subscriber: false };
  #command: TokenClientRedis | undefined;
  #subscriber: TokenClientRedis | undefined;
  #closeProxy: (() => Promise<void>) | undefined;
  /** Whether the link is connecting an application's client (which it then destroys if it gives up). */
  #connectingGiven = false;
  /** Set once both connections were up: a refusal after that is an outage's, retried. */
  #opened = false;
  /** Redis's ACL refused the first connection: what `start()` rejects with. */
  #refused: TokenClientAuthError | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Starts connecting at once. `config` gives the connection settings (every client of a shared
   * link has the same ones); `onClosed` is called once the link closes, to take it out of its pool.
   */
  public constructor(config: TokenClientConfig, onClosed: () => void) {
    this.#config = config;
    this.#onClosed = onClosed;
    const given = config.providedClient !== undefined;
    this.#reader = new TokenReader({
      tokenKey: config.keys.token,
      reconnectMaxDelayMs: config.settings.reconnectMaxDelayMs,
      // An application's client keeps its own command options: commandTimeoutMs is for ours.
      readTimeoutMs: given ? undefined : config.settings.commandTimeoutMs,
      connection: () => (this.#closing === undefined ? this.#command : undefined),
      onRead: (stored, read) => this.#handOut(stored, read),
      onRetry: (cause, attempt) => {
        const fields = { key: config.keys.token, ...errorFields(cause, undefined) };
        if (attempt === 0) this.#log('warn', fields, 'Reading the token failed; retrying');
        else this.#log('debug', fields, 'Reading the token failed again; retrying');
      },
    });
    this.#connecting = this.#connect();
    // A link whose first connection fails is of no use to anyone: it closes, and leaves its pool.
    this.#connecting.catch(() => void this.#close());
  }

  /** Whether the link has closed (its last member let go, or its first connection failed). */
  public get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Whether both connections are up right now (and, for the link's own, none stalled). */
  public get connected(): boolean {
    return this.#closing === undefined && isUp(this.#command) && isUp(this.#subscriber);
  }

  /** The command connection, for reports (`undefined` once closed). */
  public get command(): TokenClientRedis | undefined {
    return this.#closing === undefined ? this.#command : undefined;
  }

  /** Adds a holder: the link stays open until every holder has let go ({@link release}). */
  public hold(member: LinkMember): void {
    this.#holders.add(member);
  }

  /**
   * Resolves once both connections are up and subscribed. Rejects with the signal's reason on
   * abort, and with what failed the first connection (a refused `SUBSCRIBE`, say) if it failed.
   */
  public async whenReady(signal: AbortSignal): Promise<void> {
    await untilAborted(this.#connecting, signal);
    while (!this.connected) {
      if (this.closed) throw new TokenClientStateError('closed');
      // Down (a reconnect): a client that starts now waits for it, as it would for a connection of
      // its own; its own first read then follows the reconnect.
      let wake = (): void => undefined;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.#readyWaiters.add(wake);
      await untilAborted(woken, signal, () => this.#readyWaiters.delete(wake));
    }
  }

  /**
   * From now on `member` takes every event, and every read sent from now on. Its first read is
   * then {@link read}.
   */
  public listen(member: LinkMember): void {
    this.#listeners.set(member, { member, firstRead: this.#reader.nextRead });
  }

  /** Reads the key now (shared with every request until the GET is sent); see {@link TokenReader.read}. */
  public read(): Promise<void> {
    return this.#reader.read();
  }

  /** Asks for a read of the key, shared with the other members' requests; retried until it succeeds. */
  public request(): void {
    this.#reader.request();
  }

  /**
   * `member` lets go: it takes no more events or reads. Once no holder is left, the link closes:
   * it unsubscribes and closes its connections (never an application's client), and the promise
   * resolves once they are closed.
   */
  public release(member: LinkMember): Promise<void> {
    this.#listeners.delete(member);
    this.#holders.delete(member);
    if (this.#holders.size > 0) return Promise.resolve();
    return this.#close();
  }

  /**
   * Opens the link's connections. Redis's ACL refusing them (NOAUTH, WRONGPASS, NOPERM) ends it at
   * once, with a {@link TokenClientAuthError} that says what to fix: node-redis would retry forever.
   */
  async #connect(): Promise<void> {
    try {
      await this.#open();
      this.#opened = true;
    } catch (error) {
      throw this.#refused ?? authRefusal(error) ?? error;
    }
  }

  async #open(): Promise<void> {
    const { settings, sentinel, providedClient, keys } = this.#config;
    let command: TokenClientRedis;
    if (providedClient !== undefined) {
      command = providedClient;
    } else {
      const created = await createRedisClient({
        url: new Secret(settings.redisUrl),
        name: settings.connectionName,
        connectTimeoutMs: settings.connectTimeoutMs,
        commandTimeoutMs: settings.commandTimeoutMs,
        reconnectMaxDelayMs: settings.reconnectMaxDelayMs,
        sentinel: sentinel && { ...sentinel, masterWaitMs: settings.commandTimeoutMs },
        onSentinelEvent: this.#onSentinelEvent,
      });
      if (this.closed) {
        // Closed while the Sentinel proxy started: the close found nothing to close.
        await created.closeProxy();
        throw new TokenClientStateError('closed');
      }
      command = created.client;
      this.#closeProxy = created.closeProxy;
      // Without an 'error' listener node-redis throws the first dropped connection at the process;
      // a client the application gave us is its owner's to listen to.
      command.on('error', this.#onCommandError);
    }
    this.#command = command;
    if (!command.isOpen) {
      this.#connectingGiven = providedClient !== undefined;
      await command.connect();
      this.#connectingGiven = false;
    }
    this.#throwIfClosed();

    const subscriber = command.duplicate({ name: `${settings.connectionName}:subscriber` });
    this.#subscriber = subscriber;
    subscriber.on('error', this.#onSubscriberError);
    await subscriber.connect();
    this.#throwIfClosed();
    // Subscribed before any member's first read: a token published in between is announced, not lost.
    await subscriber.subscribe(keys.events, this.#onMessage);
    this.#throwIfClosed();

    command.on('ready', this.#onCommandReady);
    // node-redis subscribes again by itself on reconnect, before it emits 'ready'.
    subscriber.on('ready', this.#onSubscriberReady);
  }

  #throwIfClosed(): void {
    // A connection destroyed for an ACL refusal resolves its connect(): the refusal is the answer.
    if (this.#refused !== undefined) throw this.#refused;
    if (this.closed) throw new TokenClientStateError('closed');
  }

  #close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    // Out of the pool at once: a client that starts from now on opens new connections.
    this.#onClosed();
    this.#closing = this.#closeConnections();
    for (const wake of this.#readyWaiters) wake();
    this.#readyWaiters.clear();
    return this.#closing;
  }

  async #closeConnections(): Promise<void> {
    this.#reader.stop();
    this.#listeners.clear();
    const command = this.#command;
    const subscriber = this.#subscriber;
    const closeProxy = this.#closeProxy;
    if (subscriber !== undefined) {
      subscriber.off('ready', this.#onSubscriberReady);
      if (subscriber.isReady) await subscriber.unsubscribe(this.#config.keys.events).catch(() => undefined);
      await closeQuietly(subscriber);
    }
    if (command !== undefined) {
      command.off('ready', this.#onCommandReady);
      if (command !== this.#config.providedClient) await closeQuietly(command);
      // Still connecting an application's client: give up as connecting with an aborted signal does.
      else if (this.#connectingGiven && command.isOpen) command.destroy();
    }
    await closeProxy?.();
  }

  #handOut(stored: StoredToken, read: number): void {
    if (stored.kind === 'malformed') {
      // Logged here, once, rather than by each member.
      this.#log(
        'warn',
        { key: this.#config.keys.token, problem: stored.problem },
        'Ignored an unreadable stored token value',
      );
      return;
    }
    for (const listener of this.#listeners.values()) {
      if (read >= listener.firstRead) listener.member.onRead(stored);
    }
  }

  readonly #onMessage = (message: string): void => {
    if (this.#listeners.size === 0) return;
    const parsed = parseRelayEvent(message);
    if (!parsed.ok) {
      const fields = { channel: this.#config.keys.events, problem: parsed.error, length: message.length };
      if (parsed.error === 'unknown type')
        this.#log('debug', fields, 'Ignored a relay event of an unknown type');
      else this.#log('warn', fields, 'Ignored a malformed relay event');
      return;
    }
    // Parsed once for every member; a member that closes meanwhile is skipped (a Map iterates live).
    for (const listener of this.#listeners.values()) listener.member.onEvent(parsed.event);
  };

  // Arrow properties: node-redis and `off()` need the same function object that was registered.
  readonly #onCommandError = (error: unknown): void => this.#connectionError('command', error);
  readonly #onSubscriberError = (error: unknown): void => this.#connectionError('subscriber', error);
  readonly #onCommandReady = (): void => this.#connectionReady('command');
  readonly #onSubscriberReady = (): void => this.#connectionReady('subscriber');
  readonly #onSentinelEvent = (event: SentinelProxyEvent): void => {
    const line = sentinelLogLine(event);
    // The client's loggers have no info level: a master found is only news at debug.
    this.#log(line.level === 'info' ? 'debug' : line.level, line.fields, line.message);
  };

  #connectionError(role: ConnectionRole, error: unknown): void {
    if (this.closed) return;
    const refusal = this.#opened ? undefined : authRefusal(error);
    if (refusal !== undefined) {
      // Refused while connecting: no retry will be let in. Stop it, and say why.
      this.#refused ??= refusal;
      for (const connection of [this.#command, this.#subscriber]) {
        if (connection?.isOpen === true && connection !== this.#config.providedClient) connection.destroy();
      }
      return;
    }
    const fields = {
      connection: role,
      ...errorFields(
        error,
        this.#config.providedClient === undefined ? this.#config.settings.redisUrl : undefined,
      ),
    };
    // Once per outage at warn: node-redis reports every failed reconnect attempt.
    if (this.#down[role]) {
      this.#log('debug', fields, 'Redis connection still down');
    } else {
      this.#down[role] = true;
      this.#log('warn', fields, 'Redis connection lost; reconnecting');
    }
  }

  #connectionReady(role: ConnectionRole): void {
    if (this.closed) return;
    this.#down[role] = false;
    for (const wake of this.#readyWaiters) wake();
    this.#readyWaiters.clear();
    if (this.#listeners.size === 0) return;
    this.#log('debug', { connection: role }, 'Redis connection ready again; re-reading the token');
    // One read for every member: an event may have been missed while the connection was down.
    this.#reader.request();
  }

  /** Logs to each distinct logger of the holders once (1,000 clients given `console` log one line). */
  #log(level: LogLevel, fields: Record<string, unknown>, message: string): void {
    let first: TokenClientLogger | undefined;
    let others: Set<TokenClientLogger> | undefined;
    for (const { logger } of this.#holders) {
      if (logger === undefined || logger === first || others?.has(logger) === true) continue;
      if (first === undefined) first = logger;
      else (others ??= new Set()).add(logger);
      logger[level](fields, message);
    }
  }
}

/** Up: ready, and (for a connection of createRedisClient's) no command past its deadline since. */
function isUp(connection: TokenClientRedis | undefined): boolean {
  return connection !== undefined && redisConnectionState(connection) === 'connected';
}

/** A Redis error as the client logs it: `error` (its name), `message` without secrets, `errorCode`. */
function errorFields(error: unknown, url: string | undefined): Record<string, unknown> {
  const { name, ...rest } = describeRedisError(error, url);
  return { error: name, ...rest };
}
