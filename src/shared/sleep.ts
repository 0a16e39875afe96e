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

/** Options of {@link reconnectDelayMs}. */
export interface ReconnectDelayOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before reconnect attempt `retries` (0 for the first): {@link backoffDelayMs}, so that the
 * relay's connections (and several relays, and the bots' clients) do not reconnect in lockstep.
 */
export function reconnectDelayMs(
  retries: number,
  options: ReconnectDelayOptions,
  random: () => number = Math.random,
): number {
  // Past 2 ** 30 the bound has long been reached; capping keeps the exponent finite.
  const attempt = Math.min(Math.max(retries, 0), 30) + 1;
  return backoffDelayMs(
    attempt,
    { baseDelayMs: options.initialDelayMs, maxDelayMs: options.maxDelayMs },
    random,
  );
}

/**
 * Resolves or rejects as `promise` does, or rejects with the signal's reason once it aborts (after
 * calling `onAbort`).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const aborted = (): void => {
      onAbort?.();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', aborted);
        resolve(value);
      },
      // Whatever `promise` rejects with, passed on as it is (node-redis rejects with Errors).
      (error: Error) => {
        signal.removeEventListener('abort', aborted);
        reject(error);
      },
    );
  });
}
