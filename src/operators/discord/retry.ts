import { setTimeout as delay } from 'node:timers/promises';
import { discord } from './discord-js.js';

/** How a DM that failed for a passing reason is tried again. */
export interface RetryOptions {
  /** Tries in all, the first included; 1 never retries. */
  tries?: number;
  /** The wait before the second try; each later wait doubles, up to `maxDelayMs`. */
  baseDelayMs?: number;
  /** The longest wait between two tries. */
  maxDelayMs?: number;
}

/**
 * Three tries, 1 s then 2 s apart (each give or take half). discord.js has already retried a 5xx
 * answer 3 times at once before any of these tries fails, so a try here stands for a short outage.
 */
export const DEFAULT_RETRY_OPTIONS = {
  tries: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
} as const satisfies Required<RetryOptions>;

/** Node's and undici's codes for a network failure worth another try. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a failed Discord request may well succeed if tried again: a 5xx or 429 answer, a timeout
 * or a network failure. A 4xx answer (closed DMs 50007, unknown user 10013, a bad body) is final,
 * and so is any error discord.js raises before a request is made.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof discord.RateLimitError) return true;
  if (error instanceof discord.DiscordAPIError || error instanceof discord.HTTPError) {
    return error.status === 429 || error.status >= 500;
  }
  if (!(error instanceof Error)) return false;
  // discord.js aborts a request after its `rest.timeout`.
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  return networkCodeOf(error) !== undefined;
}

/** The network error code of `error` or of its cause (undici wraps it in a `fetch failed` TypeError). */
function networkCodeOf(error: Error): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** Options of {@link withRetries}. */
export interface WithRetriesOptions extends Required<RetryOptions> {
  /** Stops waiting for the next try: the last error is thrown at once. */
  signal?: AbortSignal;
  /** Called before each wait, with the error, the try that failed (1-based) and the wait. */
  onRetry?: (error: unknown, failedTry: number, delayMs: number) => void;
  /** A number in [0, 1); `Math.random` unless a test needs it fixed. */
  random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails with an error {@link isTransientError} does not accept, or
 * has been tried `tries` times; then rethrows the last error. The waits grow exponentially and are
 * jittered (half fixed, half random), so relays that failed together do not retry together.
 */
export async function withRetries<T>(attempt: () => Promise<T>, options: WithRetriesOptions): Promise<T> {
  const random = options.random ?? Math.random;
  const tries = Math.max(1, Math.floor(options.tries));
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (tryNumber >= tries || !isTransientError(error) || options.signal?.aborted === true) throw error;
      const ceilingMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (tryNumber - 1));
      const delayMs = Math.round(ceilingMs / 2 + (random() * ceilingMs) / 2);
      options.onRetry?.(error, tryNumber, delayMs);
      try {
        await delay(delayMs, undefined, { signal: options.signal, ref: false });
      } catch {
        // Stopped while waiting: the failure stands.
        throw error;
      }
    }
  }
}
