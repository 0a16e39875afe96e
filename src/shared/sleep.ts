/**
 * Waits `ms`, or less if `signal` aborts first. Resolves either way (never rejects): the caller
 * looks at `signal.aborted` to know which. Each call has its own timer, so concurrent waits never
 * overwrite each other; the timer is `unref()`'d so a wait never keeps the process alive.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Options of {@link backoffDelayMs}. */
export interface BackoffOptions {
  /** Wait before the second try; it doubles with each try. */
  readonly baseDelayMs: number;
  /** Longest wait. */
  readonly maxDelayMs: number;
}

/**
 * The wait before try `attempt + 1` (`attempt` ≥ 1 tries made): exponential, capped, with "equal
 * jitter" (between half and all of it) so that replicas retrying together spread out.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}
