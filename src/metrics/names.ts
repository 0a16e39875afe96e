import { BrokerError, FATAL_BROKER_ERROR_KINDS } from '../domain/broker-errors.js';
import { BROKER_ERROR_KINDS, isOneOf } from '../domain/vocabulary.js';

/** The relay's metric names and the closed lists of their label values. */

/**
 * Prefix of the relay's own metrics. Node's default metrics keep their standard names (`process_*`,
 * `nodejs_*`), so that stock dashboards for Node.js work as they are.
 */
export const METRIC_PREFIX = 'otp_relay_';

/** Metric names, for dashboards and tests. */
export const METRIC_NAMES = {
  tokenExpiry: 'otp_relay_token_expiry_timestamp_seconds',
  tokenGeneration: 'otp_relay_token_generation',
  loginsStarted: 'otp_relay_logins_started_total',
  logins: 'otp_relay_logins_total',
  operatorAnswer: 'otp_relay_operator_answer_seconds',
  brokerRequestDuration: 'otp_relay_broker_request_duration_seconds',
  redisConnected: 'otp_relay_redis_connected',
  discordConnected: 'otp_relay_discord_connected',
  dmFailures: 'otp_relay_dm_failures_total',
  halts: 'otp_relay_halts_total',
  botRequests: 'otp_relay_bot_requests_total',
  nextLogin: 'otp_relay_next_login_timestamp_seconds',
  halted: 'otp_relay_halted',
  lastLoginFailed: 'otp_relay_last_login_failed',
} as const;

/**
 * The relay's metrics that describe the process, not one account: one Redis client, one Discord
 * gateway and one bot serve every account (`createMetricsRegistry` says why). They carry no
 * `account` label of their own; every other `otp_relay_` metric has one series per account.
 */
export const PROCESS_METRICS: readonly string[] = [
  METRIC_NAMES.redisConnected,
  METRIC_NAMES.discordConnected,
  METRIC_NAMES.dmFailures,
];

/** The bot requests counted by type: the one the contract has (`token.rejected`), else `other`. */
export const BOT_REQUEST_TYPES = ['token.rejected'] as const;

/** Broker errors that halt every login until a person fixes the configuration. */
export const HALTING_ERRORS: readonly string[] = [...FATAL_BROKER_ERROR_KINDS];

/**
 * Seconds from the prompt to an operator's first code. `CODE_TIMEOUT` is at most 10 minutes, so
 * the buckets run from a quick answer (5 s) to the longest possible wait.
 */
export const OPERATOR_ANSWER_BUCKETS_SECONDS = [5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600];

/** Seconds of one broker call: HTTP round trips, up to the client's timeout (15 s by default) and beyond. */
export const BROKER_REQUEST_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60];

/**
 * The `outcome` label of a broker call that returned: the result's kind (`token`, `code-required`,
 * `code-rejected`) or the validity (`valid`, `invalid`). A call that threw has the `BrokerError`'s
 * kind, `aborted` when the caller's signal aborted it, else `unexpected-error`.
 */
export const RESULT_OUTCOMES = ['token', 'code-required', 'code-rejected', 'valid', 'invalid'] as const;

/** Stands for any label value outside its closed list, so a label can never grow without bound. */
export const OTHER = 'other';

/** `value` when it is one of `members`, else {@link OTHER}. */
export function bounded(members: readonly string[], value: unknown): string {
  return isOneOf(members, value) ? value : OTHER;
}

/** The `kind` of a step-1 or step-2 result, or a validity (a plain string). */
export function resultOutcome(result: unknown): string {
  const kind = typeof result === 'object' && result !== null ? (result as { kind?: unknown }).kind : result;
  return bounded(RESULT_OUTCOMES, kind);
}

export function errorOutcome(error: unknown, signal: AbortSignal | undefined): string {
  if (error instanceof BrokerError) return bounded(BROKER_ERROR_KINDS, error.kind);
  return signal?.aborted === true ? 'aborted' : 'unexpected-error';
}

export function readState(read: () => number): number {
  try {
    const value = read();
    return Number.isFinite(value) ? value : 0;
  } catch {
    // As with the connection probes: a scrape never fails because the state cannot be read.
    return 0;
  }
}

export function readProbe(probe: (() => boolean) | undefined): number {
  try {
    return probe?.() === true ? 1 : 0;
  } catch {
    // A probe that cannot tell is no proof of a connection; a scrape must not fail because of it.
    return 0;
  }
}
