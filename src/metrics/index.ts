export {
  BROKER_REQUEST_BUCKETS_SECONDS,
  METRIC_NAMES,
  METRIC_PREFIX,
  OPERATOR_ANSWER_BUCKETS_SECONDS,
} from './names.js';
export {
  createRelayMetrics,
  RELAY_METRICS_DEFAULTS,
  type ConnectionProbes,
  type RelayMetrics,
  type RelayMetricsOptions,
  type StateProbes,
  type TokenSummary,
} from './relay-metrics.js';
