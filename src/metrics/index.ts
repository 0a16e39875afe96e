export {
  BROKER_REQUEST_BUCKETS_SECONDS,
  METRIC_NAMES,
  METRIC_PREFIX,
  OPERATOR_ANSWER_BUCKETS_SECONDS,
  PROCESS_METRICS,
} from './names.js';
export { createMetricsRegistry, METRICS_REGISTRY_DEFAULTS, type MetricsRegistryOptions } from './registry.js';
export {
  createRelayMetrics,
  RELAY_METRICS_DEFAULTS,
  type AccountMetrics,
  type AccountMetricsOptions,
  type ConnectionProbes,
  type MetricsRegistry,
  type ProcessMetrics,
  type RelayMetrics,
  type RelayMetricsOptions,
  type StateProbes,
  type TokenSummary,
} from './relay-metrics.js';
