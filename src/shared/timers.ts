import { AsyncResource } from 'node:async_hooks';

/** Options of {@link Timers}. */
export interface TimersOptions {
  readonly now: () => number;
  readonly track: (work: Promise<unknown>) => void;
  /** Once aborted, no timer is armed and none fires. */
  readonly signal: AbortSignal;
}

/**
 * Named timers with one owner (a login's `deadline`, `reminder`, `deferral`, `lock-retry`,
 * `lock`…): arming a name replaces its timer. Every timer is `unref()`'d, and what it runs is
 * tracked, so the relay's `idle()` waits for it.
 */
export class Timers {
  readonly #o: TimersOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();

  public constructor(options: TimersOptions) {
    this.#o = options;
  }

  /** Runs `work` at `at` (at once if that has passed), replacing the timer of that name. */
  public at(name: string, at: Date | number, work: () => unknown): void {
    this.clear(name);
    if (this.#o.signal.aborted) return;
    const delayMs = Math.max(0, (typeof at === 'number' ? at : at.getTime()) - this.#o.now());
    // Run in the async context it was armed in (the input it answers, for a log or a test), whatever
    // timers run it.
    const bound = AsyncResource.bind(work);
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      this.#o.track(Promise.resolve().then(bound));
    }, delayMs);
    timer.unref();
    this.#timers.set(name, timer);
  }

  /** Runs `work` every `everyMs` until {@link Timers.clear}ed. */
  public every(name: string, everyMs: number, work: () => void): void {
    this.clear(name);
    if (this.#o.signal.aborted) return;
    const timer = setInterval(work, everyMs);
    timer.unref();
    this.#timers.set(name, timer);
  }

  public has(name: string): boolean {
    return this.#timers.has(name);
  }

  public clear(name: string): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }

  /** Clears every timer. */
  public stop(): void {
    for (const name of [...this.#timers.keys()]) this.clear(name);
  }
}
