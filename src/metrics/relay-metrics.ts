import { RegistryClass } from './prom-client.js';
import { METRICS_REGISTRY_DEFAULTS, createMetricsRegistry, type MetricsRegistryOptions } from './registry.js';
import type { RelayMetrics } from './types.js';

export type {
  AccountMetrics,
  AccountMetricsOptions,
  ConnectionProbes,
  MetricsRegistry,
  ProcessMetrics,
  RelayMetrics,
  StateProbes,
  TokenSummary,
} from './types.js';

/** Options of {@link createRelayMetrics}. */
export interface RelayMetricsOptions extends MetricsRegistryOptions {
  /** `RELAY_ACCOUNT`: set as the `account` label of every series of the registry. */
  account: string;
  /**
   * `DISCORD_OPERATOR_IDS`: the values of the `operator` label. Their DM failure counters start at 0,
   * and a failure for anyone else is counted as `other`, so the label stays bounded.
   */
  operatorIds?: readonly string[];
}

/** Defaults of {@link RelayMetricsOptions}. */
export const RELAY_METRICS_DEFAULTS = {
  ...METRICS_REGISTRY_DEFAULTS,
  operatorIds: [],
} as const satisfies Required<
  Pick<RelayMetricsOptions, 'defaultMetrics' | 'operatorIds' | 'probes' | 'monotonicNowMs'>
>;

/**
 * Creates the metrics of a process that serves one account, in a registry of their own: a
 * {@link createMetricsRegistry} with that one account, as one object. Its text is what it was
 * before a process could serve several accounts: every series carries the `account` label, the
 * process-wide ones (connections, DM failures, Node's metrics) included, since they all belong to
 * the one account. A process that serves several accounts uses {@link createMetricsRegistry}.
 */
export function createRelayMetrics(options: RelayMetricsOptions): RelayMetrics {
  const { account, operatorIds, ...rest } = options;
  const registry = options.registry ?? new RegistryClass();
  // The per-account series carry the label themselves; the default label gives it to the others.
  registry.setDefaultLabels({ account });
  const metrics = createMetricsRegistry({ ...rest, registry });
  const own = metrics.forAccount({ account, ...(operatorIds === undefined ? {} : { operatorIds }) });
  return {
    ...own,
    registry: metrics.registry,
    countDmFailure: (failure) => metrics.countDmFailure(failure),
    setConnectionProbes: (probes) => metrics.setConnectionProbes(probes),
    render: () => metrics.render(),
  };
}
