import { SocketTimeoutError } from '@redis/client';

/**
 * A Redis command that got no reply within its connection's deadline (counted from the moment it
 * was issued, not from when it was written), or that was refused at once because its connection
 * had missed one and is being replaced. The message names the command (its first word), never its
 * arguments: they may hold a token.
 */
export class RedisCommandTimeoutError extends Error {
  public override readonly name = 'RedisCommandTimeoutError';
  /** The command's first word, upper-case (`GET`, `EVALSHA`). */
  public readonly command: string;
  public readonly timeoutMs: number;
  /** `true`: not sent at all, since the connection had already missed a deadline. */
  public readonly refused: boolean;

  public constructor(command: string, timeoutMs: number, refused: boolean) {
    super(
      refused
        ? `Redis ${command} not sent: the connection missed a ${timeoutMs} ms deadline and is being replaced`
        : `Redis did not answer ${command} within ${timeoutMs} ms`,
    );
    this.command = command;
    this.timeoutMs = timeoutMs;
    this.refused = refused;
  }
}

interface Pending {
  readonly issuedAt: number;
  readonly command: string;
  readonly fail: (error: RedisCommandTimeoutError) => void;
}

/** Options of {@link CommandDeadlines}. */
export interface CommandDeadlinesOptions {
  /** Every command's deadline, from the moment it is issued to its reply. */
  readonly timeoutMs: number;
  /** Called once per stall, with the error of the oldest command that missed its deadline. */
  readonly onStall?: ((error: RedisCommandTimeoutError) => void) | undefined;
  /** A monotonic clock in ms (tests give a fake one). */
  readonly now?: (() => number) | undefined;
}

/**
 * The deadlines of one connection's commands. node-redis 5's `timeout` only bounds the wait before a
 * command is written to the socket; its `socketTimeout` only fires once the socket has been idle
 * that long, which a steady flow of new commands (each write counts as activity) puts off for
 * ever. Here each command gets a deadline from the moment it is issued: once the oldest one
 * unanswered passes it, every command waiting for a reply rejects with
 * {@link RedisCommandTimeoutError}, and the connection counts as stalled: it refuses every new
 * command at once, so nothing more is written to it, its `socketTimeout` fires, and node-redis
 * replaces the socket ({@link replaced} is then called on `ready`).
 *
 * Replies come back in the order the commands were sent, so the oldest command unanswered is the
 * only one to watch: one timer per connection, not one per command.
 */
export class CommandDeadlines {
  readonly #timeoutMs: number;
  readonly #onStall: (error: RedisCommandTimeoutError) => void;
  readonly #now: () => number;
  /** Commands waiting for their reply, oldest first (a Set keeps insertion order). */
  readonly #pending = new Set<Pending>();
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #stalled = false;

  public constructor(options: CommandDeadlinesOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#onStall = options.onStall ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether a command missed its deadline since the connection was last (re)placed. */
  public get stalled(): boolean {
    return this.#stalled;
  }

  /** How many commands wait for their reply. */
  public get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a command under the deadline. While the connection is stalled and still up (`connected`),
   * it is refused without being sent; while it is down, `send` rejects by itself (node-redis with
   * `disableOfflineQueue`).
   */
  public run<T>(command: string, connected: boolean, send: () => Promise<T>): Promise<T> {
    if (this.#stalled && connected) {
      return Promise.reject(new RedisCommandTimeoutError(command, this.#timeoutMs, true));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { issuedAt: this.#now(), command, fail: reject };
      this.#pending.add(entry);
      this.#arm();
      const settle = (): boolean => this.#pending.delete(entry);
      let sent: Promise<T>;
      try {
        sent = send();
      } catch (error) {
        settle();
        reject(asError(error));
        return;
      }
      sent.then(
        (reply) => {
          if (settle()) resolve(reply);
        },
        (error: unknown) => {
          if (!settle()) return;
          // node-redis' socketTimeout (set to the same deadline) fired first: the socket was idle that
          // long with this command unanswered, which is the same miss.
          if (error instanceof SocketTimeoutError) {
            reject(new RedisCommandTimeoutError(command, this.#timeoutMs, false));
          } else {
            reject(asError(error));
          }
        },
      );
    });
  }

  /** The connection was replaced (node-redis' `ready`): commands are sent again. */
  public replaced(): void {
    this.#stalled = false;
  }

  /** Clears the timer (the connection is closed for good). */
  public stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#checking) return;
    const oldest = this.#oldest();
    if (oldest === undefined) return;
    const delayMs = Math.max(0, oldest.issuedAt + this.#timeoutMs - this.#now());
    this.#timer = setTimeout(this.#onTimer, delayMs);
    // A command waiting for its reply keeps the process alive through its socket, not this timer.
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#checking = true;
    // After the poll phase: a reply that arrived while the event loop was busy (a blocked loop runs
    // the timers before it reads the sockets) is taken before the deadline is judged.
    setImmediate(this.#check);
  };

  readonly #check = (): void => {
    this.#checking = false;
    const oldest = this.#oldest();
    if (oldest === undefined) return;
    if (this.#now() - oldest.issuedAt < this.#timeoutMs) {
      this.#arm();
      return;
    }
    // Replies come in order: nothing sent after the oldest will be answered before it.
    const missed = [...this.#pending];
    this.#pending.clear();
    this.#stalled = true;
    for (const entry of missed)
      entry.fail(new RedisCommandTimeoutError(entry.command, this.#timeoutMs, false));
    this.#onStall(new RedisCommandTimeoutError(oldest.command, this.#timeoutMs, false));
  };

  #oldest(): Pending | undefined {
    for (const entry of this.#pending) return entry;
    return undefined;
  }
}

/** node-redis rejects with Errors only; anything else is wrapped rather than passed on bare. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
