import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { BROKER_ERROR_KINDS, LOGIN_OUTCOMES, LOGIN_REASONS, isOneOf } from '../domain/vocabulary.js';
import { DM_FAILURE_REASONS, type DmFailureReason } from '../operators/delivery.js';
import type { BrokerStep } from '../domain/broker-errors.js';
import {
  BOT_REQUEST_TYPES,
  BROKER_REQUEST_BUCKETS_SECONDS,
  HALTING_ERRORS,
  METRIC_NAMES,
  OPERATOR_ANSWER_BUCKETS_SECONDS,
  bounded,
  errorOutcome,
  readProbe,
  readState,
  resultOutcome,
} from './names.js';

import type { Broker } from '../relay/ports/broker.js';
import type { RelayObserver, RelaySnapshot } from '../relay/state.js';

/**
 * prom-client, loaded with `require`, one file per class (types come from `import type`).
 *
 * - `require`, not `import`: prom-client is CommonJS, and an ES module's named import would have Node
 *   read it with cjs-module-lexer first, at every start (see operators/discord/discord-js.ts).
 * - One file per class, not the package's index: the index also loads the Pushgateway (Node's
 *   `https`, so TLS), the cluster aggregator, Summary's t-digest and the default metrics (with
 *   `@opentelemetry/api`), about 40 ms of CPU at every start for what the relay uses later or never.
 *   The default metrics are loaded at the first scrape ({@link createRelayMetrics}).
 *
 * These are the very classes the index exports (prom-client's index requires the same files; the
 * version is pinned, and test/metrics/prom-client-files.test.ts checks it), so a `Registry` made
 * elsewhere is a `Registry` here.
 */
const requirePromClient = createRequire(import.meta.url);
const Counter = requirePromClient('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = requirePromClient('prom-client/lib/gauge') as typeof PromClient.Gauge;
const Histogram = requirePromClient('prom-client/lib/histogram') as typeof PromClient.Histogram;
const RegistryClass = requirePromClient('prom-client/lib/registry') as typeof PromClient.Registry;

/** prom-client's `collectDefaultMetrics`, loaded when first called for. */
function loadCollectDefaultMetrics(): typeof PromClient.collectDefaultMetrics {
  return requirePromClient('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics;
}

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

/** Options of {@link createRelayMetrics}. */
export interface RelayMetricsOptions {
  /** `RELAY_ACCOUNT`: set as the `account` label of every series of the registry. */
  account: string;
  /**
   * Where the metrics are registered; a new one by default. Never prom-client's global registry:
   * two relays (or two tests) in one process would collide there.
   */
  registry?: Registry;
  /**
   * Whether to collect prom-client's default process and Node.js metrics, under their standard names
   * (`process_cpu_user_seconds_total`, `nodejs_heap_size_used_bytes`…: no prefix). They are set up
   * at the first `render()` (the first scrape), which every scrape's answer includes.
   */
  defaultMetrics?: boolean;
  /**
   * `DISCORD_OPERATOR_IDS`: the values of the `operator` label. Their DM failure counters start at 0,
   * and a failure for anyone else is counted as `other`, so the label stays bounded.
   */
  operatorIds?: readonly string[];
  /** The connection probes, if already known (else see {@link RelayMetrics.setConnectionProbes}). */
  probes?: Partial<ConnectionProbes>;
  /** A monotonic clock in milliseconds, to time broker calls; injectable for tests. */
  monotonicNowMs?: () => number;
}

/** Defaults of {@link RelayMetricsOptions}. */
export const RELAY_METRICS_DEFAULTS = {
  defaultMetrics: true,
  operatorIds: [],
  probes: {},
  monotonicNowMs: () => performance.now(),
} as const satisfies Required<
  Pick<RelayMetricsOptions, 'defaultMetrics' | 'operatorIds' | 'probes' | 'monotonicNowMs'>
>;

/** The relay's Prometheus metrics. */
export interface RelayMetrics {
  /** The registry every metric is in. */
  readonly registry: Registry;
  /**
   * Pass to the relay (alone or through `combineObservers`): counts ended logins and halts (a login
   * failed with a broker error only a person can fix), times operators' first answers and shows the
   * published token's generation and expiry.
   */
  readonly observer: RelayObserver;
  /** Counts a DM that failed for good, by operator and reason (the operators' channel's `onDmFailure`). */
  countDmFailure(failure: { readonly operatorId: string; readonly reason: DmFailureReason }): void;
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
  /** Sets (or replaces) the probes read at every scrape; a probe not set, or that throws, reads 0. */
  setConnectionProbes(probes: Partial<ConnectionProbes>): void;
  /** Sets (or replaces) the state probes, read at every scrape; one not set, or that throws, reads 0. */
  setStateProbes(probes: Partial<StateProbes>): void;
  /** The Prometheus text for `GET /metrics` (see `HttpServerOptions.metrics`). */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Creates the relay's metrics in their own registry. No label ever holds a secret or a free-form
 * value: each comes from a closed list (login reasons, outcomes, broker steps, result kinds and
 * error kinds), and anything outside it is counted as `other`.
 */
export function createRelayMetrics(options: RelayMetricsOptions): RelayMetrics {
  const settings = { ...RELAY_METRICS_DEFAULTS, ...options };
  const registry = options.registry ?? new RegistryClass();
  registry.setDefaultLabels({ account: options.account });
  // Node's default metrics are set up at the first scrape, not here: loading them is not the relay's
  // start's business (see the imports above). Cumulative ones (CPU time, memory, handles) read the
  // same then; the GC and event-loop histograms count from that scrape on.
  let defaultMetricsPending = settings.defaultMetrics;
  const collectDefaultMetricsOnce = (): void => {
    if (!defaultMetricsPending) return;
    defaultMetricsPending = false;
    // No prefix: dashboards and alerts written for Node.js look for the standard names.
    loadCollectDefaultMetrics()({ register: registry });
  };
  const registers = [registry];
  const now = settings.monotonicNowMs;
  let probes: Partial<ConnectionProbes> = { ...settings.probes };
  let stateProbes: Partial<StateProbes> = {};

  const tokenExpiry = new Gauge({
    name: METRIC_NAMES.tokenExpiry,
    help: 'When the published token expires, in seconds since the Unix epoch.',
    registers,
  });
  const tokenGeneration = new Gauge({
    name: METRIC_NAMES.tokenGeneration,
    help: 'Generation of the published token.',
    registers,
  });
  const loginsStarted = new Counter({
    name: METRIC_NAMES.loginsStarted,
    help: 'Logins started, by trigger.',
    labelNames: ['trigger'] as const,
    registers,
  });
  const logins = new Counter({
    name: METRIC_NAMES.logins,
    help: 'Logins ended, by trigger and result; failed ones also by broker error kind (error).',
    labelNames: ['trigger', 'result', 'error'] as const,
    registers,
  });
  const operatorAnswer = new Histogram({
    name: METRIC_NAMES.operatorAnswer,
    help: "Seconds from a login's prompt to the first code an operator sent for it.",
    buckets: OPERATOR_ANSWER_BUCKETS_SECONDS,
    registers,
  });
  const brokerDuration = new Histogram({
    name: METRIC_NAMES.brokerRequestDuration,
    help: 'Seconds a broker call took, by step and outcome (result kind or error kind).',
    labelNames: ['step', 'outcome'] as const,
    buckets: BROKER_REQUEST_BUCKETS_SECONDS,
    registers,
  });
  const dmFailures = new Counter({
    name: METRIC_NAMES.dmFailures,
    help: 'DMs to an operator that failed for good, by operator (Discord user ID) and reason (dms-closed: Discord error 50007).',
    labelNames: ['operator', 'reason'] as const,
    registers,
  });
  for (const operator of settings.operatorIds) {
    for (const reason of DM_FAILURE_REASONS) dmFailures.inc({ operator, reason }, 0);
  }
  const halts = new Counter({
    name: METRIC_NAMES.halts,
    help: 'Times a broker error that needs a person (credentials, app key, password, PIN) halted every login, by error kind.',
    labelNames: ['error'] as const,
    registers,
  });
  const botRequests = new Counter({
    name: METRIC_NAMES.botRequests,
    help: 'Requests the trading bots published (token.rejected: the broker refused their token), by type.',
    labelNames: ['type'] as const,
    registers,
  });
  for (const type of BOT_REQUEST_TYPES) botRequests.inc({ type }, 0);
  const probeGauge = (name: string, help: string, probe: keyof ConnectionProbes): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(readProbe(probes[probe]));
      },
    });
  };
  probeGauge(METRIC_NAMES.redisConnected, '1 when the Redis connection is ready, else 0.', 'redisConnected');
  probeGauge(
    METRIC_NAMES.discordConnected,
    '1 when the Discord gateway is connected, else 0.',
    'discordConnected',
  );

  const stateGauge = (name: string, help: string, read: (probes: Partial<StateProbes>) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(readState(() => read(stateProbes)));
      },
    });
  };
  stateGauge(
    METRIC_NAMES.nextLogin,
    'When the relay starts its next login by itself (a renewal, or a planned login of LOGIN_SCHEDULE), in seconds since the Unix epoch; 0 when none is set.',
    (p) => (p.nextLoginAt?.()?.getTime() ?? 0) / 1_000,
  );
  stateGauge(
    METRIC_NAMES.halted,
    '1 while a broker error that needs a person (credentials, app key, password, PIN) halts every login, else 0.',
    (p) => (p.snapshot?.().halted === undefined ? 0 : 1),
  );
  stateGauge(
    METRIC_NAMES.lastLoginFailed,
    '1 when the last login this relay knows of ended without a token (automatic logins then wait for an operator), else 0.',
    (p) => {
      const login = p.snapshot?.().login;
      return login?.state === 'ended' && login.outcome !== 'succeeded' ? 1 : 0;
    },
  );

  const observer: RelayObserver = {
    loginStarted: (login) => {
      loginsStarted.inc({ trigger: bounded(LOGIN_REASONS, login.reason) });
    },
    codeReceived: (info) => {
      // Later attempts of the same login are counted from the same prompt: they would measure the
      // broker's refusals, not how fast someone answers.
      if (info.attempt !== 1) return;
      operatorAnswer.observe(Math.max(0, info.waitedMs) / 1_000);
    },
    loginEnded: (login) => {
      const result = bounded(LOGIN_OUTCOMES, login.outcome);
      logins.inc({
        trigger: bounded(LOGIN_REASONS, login.reason),
        result,
        // Only failures carry an error kind: the other results have no `error` label at all.
        ...(result === 'failed' ? { error: bounded(BROKER_ERROR_KINDS, login.error) } : {}),
      });
      if (result === 'failed' && isOneOf(HALTING_ERRORS, login.error)) halts.inc({ error: login.error });
    },
    tokenPublished: (token) => setToken(token),
  };

  const setToken = (token: TokenSummary | undefined): void => {
    if (token === undefined) {
      // No valid token: an expiry in the past (the epoch) makes "expires within …" alerts fire.
      // The generation stays: it never goes back, and says which token was the last.
      tokenExpiry.set(0);
      return;
    }
    // Only these two fields are read: a whole TokenRecord (with its token) may be handed in.
    tokenGeneration.set(token.generation);
    const expiresAtMs = Date.parse(token.expiresAt);
    tokenExpiry.set(Number.isNaN(expiresAtMs) ? 0 : expiresAtMs / 1_000);
  };

  const instrumentBroker = (broker: Broker): Broker => {
    const timed = async <R>(
      step: BrokerStep,
      signal: AbortSignal | undefined,
      call: () => Promise<R>,
    ): Promise<R> => {
      const startedMs = now();
      let result: R;
      try {
        result = await call();
      } catch (error) {
        brokerDuration.observe({ step, outcome: errorOutcome(error, signal) }, seconds(startedMs));
        throw error;
      }
      // Outside the try: whatever the result looks like, it goes back to the caller as it came.
      brokerDuration.observe({ step, outcome: resultOutcome(result) }, seconds(startedMs));
      return result;
    };
    const seconds = (startedMs: number): number => Math.max(0, now() - startedMs) / 1_000;
    return {
      startLogin: (...args) => timed('start-login', args[0], () => broker.startLogin(...args)),
      submitCode: (...args) => timed('submit-code', args[2], () => broker.submitCode(...args)),
      validate: (...args) => timed('validate', args[1], () => broker.validate(...args)),
    };
  };

  return {
    registry,
    observer,
    instrumentBroker,
    setToken,
    countDmFailure: ({ operatorId, reason }) => {
      dmFailures.inc({
        operator: bounded(settings.operatorIds, operatorId),
        reason: bounded(DM_FAILURE_REASONS, reason),
      });
    },
    countBotRequest: ({ type }) => {
      botRequests.inc({ type: bounded(BOT_REQUEST_TYPES, type) });
    },
    setConnectionProbes: (next) => {
      probes = { ...probes, ...next };
    },
    setStateProbes: (next) => {
      stateProbes = { ...stateProbes, ...next };
    },
    render: async () => {
      collectDefaultMetricsOnce();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
