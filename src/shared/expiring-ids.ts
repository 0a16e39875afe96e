/** Options of {@link ExpiringIds}. */
export interface ExpiringIdsOptions {
  /** How long an ID is remembered from when it is added, in ms: one for all, so oldest is first due. */
  readonly keepMs: number;
  /** How many IDs are remembered at most; beyond, the oldest are forgotten first (a flood cannot grow memory). */
  readonly max?: number;
}

/**
 * IDs remembered for a while (inputs already handled, questions already answered): a bounded map
 * in insertion order, which with one `keepMs` for all is also the order they fall due, so each
 * look forgets only what is due.
 */
export class ExpiringIds {
  readonly #o: ExpiringIdsOptions;
  /** ID → when it is forgotten (epoch ms). */
  readonly #until = new Map<string, number>();

  public constructor(options: ExpiringIdsOptions) {
    this.#o = options;
  }

  /** Whether `id` is remembered at `nowMs`. */
  public has(id: string, nowMs: number): boolean {
    this.#forget(nowMs);
    return this.#until.has(id);
  }

  /** Remembers `id` from `nowMs` on (again: from now). */
  public add(id: string, nowMs: number): void {
    this.#forget(nowMs);
    this.#until.delete(id);
    this.#until.set(id, nowMs + this.#o.keepMs);
    const max = this.#o.max ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.#until.keys()) {
      if (this.#until.size <= max) break;
      this.#until.delete(oldest);
    }
  }

  /** Whether `id` is new at `nowMs`, remembering it either way. */
  public firstTime(id: string, nowMs: number): boolean {
    if (this.has(id, nowMs)) return false;
    this.add(id, nowMs);
    return true;
  }

  /** Forgets `id`. */
  public delete(id: string): void {
    this.#until.delete(id);
  }

  #forget(nowMs: number): void {
    for (const [id, untilMs] of this.#until) {
      if (untilMs > nowMs) break;
      this.#until.delete(id);
    }
  }
}
