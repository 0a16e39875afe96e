import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { undici } from './undici.js';

const undiciErrors = undici.errors;
import type { RawAnswer } from './parse-answer.js';

/** Bodies larger than this are not read whole: no answer of ETNA's login is near this size. */
const MAX_BODY_BYTES = 64 * 1024;

/** Characters an HTTP header value may hold (visible ASCII, space and tab; no CR, LF or NUL). */
const HEADER_SAFE = /^[\x20-\x7e\t]*$/;

/** One HTTP call of {@link sendOnce}. */
export interface HttpCall {
  readonly dispatcher: Dispatcher;
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** Longest wait for the whole call (connect, headers and body), in milliseconds. */
  readonly timeoutMs: number;
  /** The caller's signal: its abort ends the call. */
  readonly signal: AbortSignal | undefined;
}

/** How a call of {@link sendOnce} ended, and how long it took. */
export type HttpOutcome =
  | { readonly kind: 'answer'; readonly answer: RawAnswer; readonly durationMs: number }
  /** The caller's signal aborted it (before its own time-out): `reason` is the signal's. */
  | { readonly kind: 'aborted'; readonly reason: unknown; readonly durationMs: number }
  /** `cause`: what {@link safeCause} keeps of the error. */
  | { readonly kind: 'timeout' | 'network'; readonly cause: unknown; readonly durationMs: number };

/**
 * One HTTP call with its own time-out, the body always read (or destroyed) so the socket is reused
 * or closed, never left hanging. Never retries. Throws the signal's reason if it has aborted already
 * (nothing is sent); every other ending is an {@link HttpOutcome}.
 */
export async function sendOnce(call: HttpCall): Promise<HttpOutcome> {
  const { signal: callerSignal, timeoutMs } = call;
  callerSignal?.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  timer.unref();
  const onCallerAbort = (): void => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const response = await undici.request(call.url, {
      dispatcher: call.dispatcher,
      method: call.method,
      headers: call.headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: controller.signal,
    });
    const body = await readBody(response.body);
    const retryAfter = response.headers['retry-after'];
    return {
      kind: 'answer',
      answer: {
        status: response.statusCode,
        body,
        retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        nowMs: Date.now(),
      },
      durationMs: elapsed(),
    };
  } catch (error) {
    if (callerSignal?.aborted && !timedOut) {
      return { kind: 'aborted', reason: callerSignal.reason, durationMs: elapsed() };
    }
    const kind = timedOut || isTimeoutError(error) ? 'timeout' : 'network';
    return { kind, cause: safeCause(error), durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * Throws a `TypeError` naming `name` (never the value) when `value` cannot be sent as an HTTP
 * header: CR, LF, NUL or anything outside ASCII.
 */
export function assertHeaderSafe(name: string, value: string): void {
  if (!HEADER_SAFE.test(value)) {
    throw new TypeError(`EtnaBroker: ${name} holds characters an HTTP header cannot carry`);
  }
}

/** Reads at most {@link MAX_BODY_BYTES}; a larger body is destroyed and reported as unreadable. */
async function readBody(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isTimeoutError(error: unknown): boolean {
  return (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError ||
    (error instanceof Error && error.name === 'TimeoutError')
  );
}

/**
 * The cause kept on a BrokerError: undici's and the socket's errors name addresses and codes, never
 * headers. Anything else is replaced by its name alone, in case its message quotes what was sent.
 */
function safeCause(error: unknown): unknown {
  if (error instanceof undiciErrors.UndiciError) return error;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') return error;
  return error instanceof Error ? new Error(error.name) : undefined;
}
