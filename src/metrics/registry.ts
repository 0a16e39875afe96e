import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { DM_FAILURE_REASONS } from '../operators/delivery.js';
import { createAccountSeries } from './account-series.js';
import { METRIC_NAMES, OTHER, bounded, readProbe } from './names.js';
import { Counter, Gauge, RegistryClass, loadCollectDefaultMetrics } from './prom-client.js';
import type { ConnectionProbes, MetricsRegistry } from './types.js';

/** Options of {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
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
  /** The connection probes, if already known (else see {@link MetricsRegistry.setConnectionProbes}). */
  probes?: Partial<ConnectionProbes>;
  /** A monotonic clock in milliseconds, to time broker calls; injectable for tests. */
  monotonicNowMs?: () => number;
}

/** Defaults of {@link MetricsRegistryOptions}. */
export const METRICS_REGISTRY_DEFAULTS = {
  defaultMetrics: true,
  probes: {},
  monotonicNowMs: () => performance.now(),
} as const satisfies Required<Pick<MetricsRegistryOptions, 'defaultMetrics' | 'probes' | 'monotonicNowMs'>>;

/**
 * Creates one process's metrics, in one registry, for any number of accounts
 * ({@link MetricsRegistry.forAccount}). No label ever holds a secret or a free-form value: each
 * comes from a closed list (login reasons, outcomes, broker steps, result kinds, error kinds, the
 * configured operators and accounts), and anything outside it is counted as `other`.
 *
 * What is per account, and what is not:
 *
 * - Per account, labelled `account`: the token, the logins, the operators' answer times, the broker
 *   calls (each account has its own broker client and credentials), halts, bot requests (each
 *   account's bots publish on its own channel) and the state gauges. Each metric is registered
 *   once, so the text has one HELP and TYPE per metric, and one series per account.
 * - Process-wide, with no `account` label: the Redis and Discord connections (one client and one
 *   gateway serve every account: a label would only repeat the same value per account, and a sum
 *   over accounts would count one connection several times), the DM failures (whether Discord
 *   delivers a DM depends on the operator and the one bot, not on the account; the channel that
 *   reports them does not know one; an operator of two accounts is one series, never two that
 *   collide or double count), and Node's default metrics.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const settings = { ...METRICS_REGISTRY_DEFAULTS, ...options };
  const registry = options.registry ?? new RegistryClass();
  const registers = [registry];
  // Node's default metrics are set up at the first scrape, not here: loading them is not the relay's
  // start's business (see prom-client.ts). Cumulative ones (CPU time, memory, handles) read the
  // same then; the GC and event-loop histograms count from that scrape on.
  let defaultMetricsPending = settings.defaultMetrics;
  const collectDefaultMetricsOnce = (): void => {
    if (!defaultMetricsPending) return;
    defaultMetricsPending = false;
    // No prefix: dashboards and alerts written for Node.js look for the standard names.
    loadCollectDefaultMetrics()({ register: registry });
  };
  let probes: Partial<ConnectionProbes> = { ...settings.probes };
  // Every registered account's operators: the closed list of the `operator` label.
  const operators = new Set<string>();
  const accounts: string[] = [];

  const series = createAccountSeries(registry, settings.monotonicNowMs);
  const dmFailures = new Counter({
    name: METRIC_NAMES.dmFailures,
    help: 'DMs to an operator that failed for good, by operator (Discord user ID) and reason (dms-closed: Discord error 50007).',
    labelNames: ['operator', 'reason'] as const,
    registers,
  });
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

  return {
    registry,
    get accounts() {
      return [...accounts];
    },
    forAccount: ({ account, operatorIds = [] }) => {
      if (accounts.includes(account)) {
        throw new Error(`metrics: account ${JSON.stringify(account)} is registered already`);
      }
      accounts.push(account);
      for (const operator of operatorIds) {
        // Once per operator, whatever the number of its accounts: one series per operator and reason.
        if (operators.has(operator)) continue;
        operators.add(operator);
        // From 0, so that rate() and increase() see the first failure.
        for (const reason of DM_FAILURE_REASONS) dmFailures.inc({ operator, reason }, 0);
      }
      return series.add(account);
    },
    countDmFailure: ({ operatorId, reason }) => {
      dmFailures.inc({
        operator: operators.has(operatorId) ? operatorId : OTHER,
        reason: bounded(DM_FAILURE_REASONS, reason),
      });
    },
    setConnectionProbes: (next) => {
      probes = { ...probes, ...next };
    },
    render: async () => {
      collectDefaultMetricsOnce();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
