import type { Registry } from 'prom-client';
import type { DmFailureReason } from '../operators/delivery.js';
import type { Broker } from '../relay/ports/broker.js';
import type { RelayObserver, RelaySnapshot } from '../relay/state.js';

/** What the metrics show of a token: never the token itself. */
export interface TokenSummary {
  readonly generation: number;
  /** ISO 8601. */
  readonly expiresAt: string;
}

/** Functions that tell whether a connection is up, read at every scrape. */
export interface ConnectionProbes {
  redisConnected: () => boolean;
  discordConnected: () => boolean;
}

/**
 * What the state gauges read at every scrape (alert rules tell a planned gap from a failure with
 * them: deploy/prometheus/alerts.yml).
 */
export interface StateProbes {
  /** The relay's picture: its halt, and its last login's state and outcome. */
  snapshot: () => Pick<RelaySnapshot, 'login' | 'halted'>;
  /** When the relay starts its next login by itself (a renewal or a planned login), if one is set. */
  nextLoginAt: () => Date | undefined;
}

/** Options of {@link MetricsRegistry.forAccount}. */
export interface AccountMetricsOptions {
  /** The account's name (`RELAY_ACCOUNT`, or one of `RELAY_ACCOUNTS`): its series' `account` label. */
  readonly account: string;
  /**
   * The account's `DISCORD_OPERATOR_IDS`: they join the values of the process-wide DM failure
   * counter's `operator` label (see {@link ProcessMetrics.countDmFailure}). An operator of several
   * accounts is one operator there.
   */
  readonly operatorIds?: readonly string[];
}

/**
 * One account's metrics: every series they write carries the label `account` with its name. One
 * account's calls never move another account's series.
 */
export interface AccountMetrics {
  /** The value of this account's `account` label. */
  readonly account: string;
  /**
   * Pass to the account's relay (alone or through `combineObservers`): counts ended logins and halts
   * (a login failed with a broker error only a person can fix), times operators' first answers and
   * shows the published token's generation and expiry.
   */
  readonly observer: RelayObserver;
  /** Counts a request a bot published (`P:requests:A`), by type, as the relay receives it. */
  countBotRequest(request: { readonly type: string }): void;
  /**
   * A broker that times every call of `broker` by step and outcome. Arguments (the signal included)
   * reach `broker` untouched, results come back as they are and errors are rethrown as they are.
   */
  instrumentBroker(broker: Broker): Broker;
  /**
   * Shows `token` as the published one, or no token (`undefined`: expiry 0, generation kept). The
   * observer's `tokenPublished` calls it; pass it to `Relay.onTokenChange` as well, so that a token
   * kept at startup, or removed, shows too.
   */
  setToken(token: TokenSummary | undefined): void;
  /** Sets (or replaces) the state probes, read at every scrape; one not set, or that throws, reads 0. */
  setStateProbes(probes: Partial<StateProbes>): void;
}

/**
 * What a process has once, however many accounts it serves: its registry, its connections (one
 * Redis client and one Discord gateway for all accounts) and the DMs its one Discord bot could not
 * deliver. These series carry no `account` label of their own (see {@link createMetricsRegistry}).
 */
export interface ProcessMetrics {
  /** The registry every metric is in. */
  readonly registry: Registry;
  /**
   * Counts a DM that failed for good, by operator and reason (the operators' channel's
   * `onDmFailure`). An operator of no registered account is counted as `other`.
   */
  countDmFailure(failure: { readonly operatorId: string; readonly reason: DmFailureReason }): void;
  /** Sets (or replaces) the probes read at every scrape; a probe not set, or that throws, reads 0. */
  setConnectionProbes(probes: Partial<ConnectionProbes>): void;
  /** The Prometheus text for `GET /metrics` (see `HttpServerOptions.metrics`). */
  render(): Promise<{ contentType: string; body: string }>;
}

/** One process's metrics: the process-wide ones, and one {@link AccountMetrics} per account. */
export interface MetricsRegistry extends ProcessMetrics {
  /**
   * Registers an account: its series appear at once (counters and the answer-time histogram at 0,
   * no token), labelled with its name. Throws when the account is registered already: two relays
   * writing the same series would hide each other's counts.
   */
  forAccount(options: AccountMetricsOptions): AccountMetrics;
  /** The registered accounts, in the order they were registered. */
  readonly accounts: readonly string[];
}

/** The metrics of a process that serves one account (see `createRelayMetrics`). */
export interface RelayMetrics extends AccountMetrics, ProcessMetrics {}
