/**
 * Why a broker call failed.
 *
 * - `bad-credentials`, `bad-app-key`, `password-expired`, `pin-required`, `bad-pin`: the configuration
 *   or the account needs a human; never retried automatically (a retry loop can lock the account).
 * - `network`, `timeout`, `server-error`, `rate-limited`: transient; the call may be tried again later.
 * - `unexpected-answer`: the broker said something this client does not understand.
 */
export type BrokerErrorKind =
  | 'bad-credentials'
  | 'bad-app-key'
  | 'password-expired'
  | 'pin-required'
  | 'bad-pin'
  | 'unexpected-answer'
  | 'network'
  | 'timeout'
  | 'server-error'
  | 'rate-limited';

/** Which broker call failed. */
export type BrokerStep = 'start-login' | 'submit-code' | 'validate';

/** Kinds that need a person to fix the configuration or the account before any new login. */
export const FATAL_BROKER_ERROR_KINDS: ReadonlySet<BrokerErrorKind> = new Set<BrokerErrorKind>([
  'bad-credentials',
  'bad-app-key',
  'password-expired',
  'pin-required',
  'bad-pin',
]);

/** Kinds worth trying again after a while. */
export const TRANSIENT_BROKER_ERROR_KINDS: ReadonlySet<BrokerErrorKind> = new Set<BrokerErrorKind>([
  'network',
  'timeout',
  'server-error',
  'rate-limited',
]);

/** Fields of a {@link BrokerError}. */
export interface BrokerErrorOptions {
  kind: BrokerErrorKind;
  step: BrokerStep;
  /** HTTP status, when an answer came. */
  status?: number;
  /** `Retry-After` in milliseconds, when the broker sent one. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * A failed broker call. Its message names the kind, step and status only: never a header, a body
 * or any credential, so it is safe to log and to show to operators.
 */
export class BrokerError extends Error {
  public override readonly name = 'BrokerError';
  public readonly kind: BrokerErrorKind;
  public readonly step: BrokerStep;
  public readonly status: number | undefined;
  public readonly retryAfterMs: number | undefined;

  public constructor(options: BrokerErrorOptions) {
    super(
      `broker ${options.step} failed: ${options.kind}${options.status === undefined ? '' : ` (HTTP ${options.status})`}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.kind = options.kind;
    this.step = options.step;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True when only a person can fix this (credentials, app key, password, PIN). */
  public get fatal(): boolean {
    return FATAL_BROKER_ERROR_KINDS.has(this.kind);
  }

  /** True when the same call may succeed later. */
  public get transient(): boolean {
    return TRANSIENT_BROKER_ERROR_KINDS.has(this.kind);
  }
}
