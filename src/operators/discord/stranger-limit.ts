/** Options of {@link StrangerLimit}. */
export interface StrangerLimitOptions {
  /** At most one reply (or log line) per user in this long. */
  intervalMs: number;
  /** Users remembered at once; the one seen longest ago is forgotten first. */
  maxUsers: number;
  /** Epoch milliseconds; `Date.now` unless a test needs it fixed. */
  now?: () => number;
}

/**
 * Rate-limits what the relay spends on users who are not operators: at most one refusal (one REST
 * call) and one log line per user per `intervalMs`. Anyone can DM a bot or use its commands, so the
 * memory is bounded too: at most `maxUsers` users are remembered, and a flood of new IDs only pushes
 * out the oldest (which then get one more reply: harmless).
 */
export class StrangerLimit {
  readonly #intervalMs: number;
  readonly #maxUsers: number;
  readonly #now: () => number;
  /** User ID → when they last got a reply; in order of that time, oldest first. */
  readonly #lastAllowedMs = new Map<string, number>();

  public constructor(options: StrangerLimitOptions) {
    this.#intervalMs = options.intervalMs;
    this.#maxUsers = Math.max(1, Math.floor(options.maxUsers));
    this.#now = options.now ?? Date.now;
  }

  /** Whether `userId` may get a reply now; when it may, the reply is counted. */
  public allow(userId: string): boolean {
    const nowMs = this.#now();
    const last = this.#lastAllowedMs.get(userId);
    if (last !== undefined && nowMs - last < this.#intervalMs) return false;
    // Delete first: a Map keeps insertion order, so the oldest reply stays first.
    this.#lastAllowedMs.delete(userId);
    this.#lastAllowedMs.set(userId, nowMs);
    for (const oldest of this.#lastAllowedMs.keys()) {
      if (this.#lastAllowedMs.size <= this.#maxUsers) break;
      this.#lastAllowedMs.delete(oldest);
    }
    return true;
  }

  /** How many users are remembered now (never more than `maxUsers`). */
  public get size(): number {
    return this.#lastAllowedMs.size;
  }
}
