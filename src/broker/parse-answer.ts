import { Secret } from '../shared/secret.js';
import type { BrokerErrorKind } from '../domain/broker-errors.js';

/**
 * What one answer of `POST token` says, whichever step asked. The client decides what each means for
 * the step it is in (see `etna-client.ts`): this module only reads the answer.
 */
export type TokenAnswer =
  /** `State: Succeeded` with a token: the final bearer token. */
  | { readonly kind: 'succeeded'; readonly token: Secret }
  /** `State: Expecting`, `Step: VerificationCode`: a code was sent; `interim` is for step 2. */
  | { readonly kind: 'code-expected'; readonly interim: Secret }
  /** `State: Expecting`, `Step: SecutityPin` (sic): answer with a `PinCode` header. */
  | { readonly kind: 'pin-expected'; readonly ticket: Secret | undefined }
  /**
   * `State: Failed`, `Step: VerificationCode`: the code was refused. `interimSpent` is false only when
   * the answer plainly says that the code alone was wrong (see {@link isInterimSpent}).
   */
  | { readonly kind: 'code-failed'; readonly interimSpent: boolean }
  /** Anything else: a failure of the kind named. */
  | { readonly kind: 'error'; readonly error: BrokerErrorKind; readonly retryAfterMs?: number };

/** What one answer of `GET v1.0/users/@me/info` says. */
export type ValidateAnswer =
  | { readonly kind: 'valid' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'error'; readonly error: BrokerErrorKind; readonly retryAfterMs?: number };

/** One HTTP answer, as read off the wire: status, the body as text, and `Retry-After` if any. */
export interface RawAnswer {
  readonly status: number;
  /** The body as text; `undefined` when it could not be read whole (too large). */
  readonly body: string | undefined;
  /** The `Retry-After` header, when present. */
  readonly retryAfter?: string | undefined;
  /** The time to measure an HTTP-date `Retry-After` from, in epoch milliseconds. */
  readonly nowMs: number;
}

// Values compared case-insensitively: a "succeeded" must not cost a human a new SMS. Field names stay
// PascalCase as documented; an answer without them is not one this client understands.
const STATE_SUCCEEDED = 'succeeded';
const STATE_EXPECTING = 'expecting';
const STATE_FAILED = 'failed';
const STEP_VERIFICATION_CODE = 'verificationcode';
const STEP_BASE_AUTHENTICATION = 'baseauthentication';
// The broker spells it `SecutityPin`; accept the correct spelling too, should it ever be fixed.
const STEPS_PIN: ReadonlySet<string> = new Set(['secutitypin', 'securitypin']);

const APP_KEY_ERROR = /application key/i;
const PASSWORD_EXPIRED = /password\s+has\s+expired/i;
/** Reasons that say the code alone was wrong, and nothing about the ticket. */
const WRONG_CODE = /\b(?:invalid|wrong|incorrect|bad)\b.*\bcode\b/i;
/** Words that hint the interim token (the "ticket") itself is gone, or that the login is over. */
const TICKET_GONE = /ticket|token|interim|session|expired|corrupt|attempt|locked|exceeded|blocked|many/i;
/** A token must fit, unchanged, in an `Authorization: Bearer` header. */
const HEADER_SAFE_TOKEN = /^[\x21-\x7e]+$/;

/**
 * Whether a refused code leaves the interim token unusable.
 *
 * ETNA does not document it, so this leans to "spent": it is false only for a 400 or 401 whose
 * `Reason` says the code was wrong (`Invalid verification code`) and says nothing about the ticket.
 * `Corrupted ticket`, any mention of the ticket/token/session, expiry, attempts or lockout, no reason
 * at all, or any other status: spent. A wrong "not spent" costs one more refused call; a wrong
 * "spent" only costs a new SMS.
 */
export function isInterimSpent(status: number, reason: string | undefined): boolean {
  if (status !== 400 && status !== 401) return true;
  if (reason === undefined) return true;
  return !WRONG_CODE.test(reason) || TICKET_GONE.test(reason);
}

/**
 * Parses `Retry-After` (delay in seconds, or an HTTP date) into milliseconds from `nowMs`.
 * Returns `undefined` for a missing or unreadable value; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only dates that look like dates: Date.parse reads "5" or "1.5" as years.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const atMs = Date.parse(trimmed);
  if (Number.isNaN(atMs)) return undefined;
  return Math.max(0, atMs - nowMs);
}

/**
 * Reads one answer of `POST token` (step 1, step 2 or a PIN answer) per docs/broker.md. Pure: no I/O.
 *
 * The order matters: rate limits and 5xx first (whatever their body), then the app-key error (which
 * has no `State`), then an expired password (whose `Step` is not documented), then `State`/`Step`.
 */
export function interpretTokenAnswer(answer: RawAnswer): TokenAnswer {
  const transient = transientError(answer);
  if (transient) return transient;

  const body = parseJsonObject(answer.body);
  if (body === undefined) return { kind: 'error', error: 'unexpected-answer' };
  const common = commonError(body);
  if (common) return common;

  const state = stringField(body, 'State')?.toLowerCase();
  const step = stringField(body, 'Step')?.toLowerCase();
  const reason = stringField(body, 'Reason');
  const ok = answer.status >= 200 && answer.status < 300;

  if (state === STATE_SUCCEEDED) {
    const token = tokenField(body);
    return ok && token ? { kind: 'succeeded', token } : { kind: 'error', error: 'unexpected-answer' };
  }
  if (state === STATE_EXPECTING && ok) {
    if (step === STEP_VERIFICATION_CODE) {
      const interim = tokenField(body);
      return interim ? { kind: 'code-expected', interim } : { kind: 'error', error: 'unexpected-answer' };
    }
    if (step !== undefined && STEPS_PIN.has(step)) {
      // A Token that is present but unusable is a shape we do not know: do not guess.
      if (body['Token'] !== undefined && !tokenField(body))
        return { kind: 'error', error: 'unexpected-answer' };
      return { kind: 'pin-expected', ticket: tokenField(body) };
    }
  }
  if (state === STATE_FAILED) {
    if (step === STEP_BASE_AUTHENTICATION) return { kind: 'error', error: 'bad-credentials' };
    if (step !== undefined && STEPS_PIN.has(step)) return { kind: 'error', error: 'bad-pin' };
    if (step === STEP_VERIFICATION_CODE) {
      return { kind: 'code-failed', interimSpent: isInterimSpent(answer.status, reason) };
    }
  }
  return { kind: 'error', error: 'unexpected-answer' };
}

/**
 * Reads one answer of `GET v1.0/users/@me/info`. Pure: no I/O.
 *
 * 200 with a JSON object is `valid`; 401 is `invalid` unless its body is the app-key error (then the
 * configuration is wrong, not the token). 5xx, 429 and anything else are errors: never "invalid",
 * since an invalid token makes the relay ask a human for a new code.
 */
export function interpretValidateAnswer(answer: RawAnswer): ValidateAnswer {
  const transient = transientError(answer);
  if (transient) return transient;

  const body = parseJsonObject(answer.body);
  if (body !== undefined) {
    const common = commonError(body);
    if (common) return common;
  }
  if (answer.status === 200 && body !== undefined) return { kind: 'valid' };
  if (answer.status === 401) return { kind: 'invalid' };
  return { kind: 'error', error: 'unexpected-answer' };
}

function transientError(
  answer: RawAnswer,
): { kind: 'error'; error: BrokerErrorKind; retryAfterMs?: number } | undefined {
  if (answer.status === 429) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter, answer.nowMs);
    return retryAfterMs === undefined
      ? { kind: 'error', error: 'rate-limited' }
      : { kind: 'error', error: 'rate-limited', retryAfterMs };
  }
  if (answer.status >= 500) return { kind: 'error', error: 'server-error' };
  return undefined;
}

/** Errors that may come whatever the call: an unknown app key, an expired password. */
function commonError(body: Record<string, unknown>): { kind: 'error'; error: BrokerErrorKind } | undefined {
  const error = stringField(body, 'error');
  if (error !== undefined && APP_KEY_ERROR.test(error)) return { kind: 'error', error: 'bad-app-key' };
  const reason = stringField(body, 'Reason') ?? stringField(body, 'Message');
  if (reason !== undefined && PASSWORD_EXPIRED.test(reason))
    return { kind: 'error', error: 'password-expired' };
  return undefined;
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    // The parse error is dropped on purpose: its message quotes the body, which may hold a token.
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

function tokenField(body: Record<string, unknown>): Secret | undefined {
  const value = body['Token'];
  return typeof value === 'string' && HEADER_SAFE_TOKEN.test(value) ? new Secret(value) : undefined;
}
