import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/**
 * prom-client, loaded with `require`, one file per class (types come from `import type`).
 *
 * - `require`, not `import`: prom-client is CommonJS, and an ES module's named import would have Node
 *   read it with cjs-module-lexer first, at every start (see operators/discord/discord-js.ts).
 * - One file per class, not the package's index: the index also loads the Pushgateway (Node's
 *   `https`, so TLS), the cluster aggregator, Summary's t-digest and the default metrics (with
 *   `@opentelemetry/api`), about 40 ms of CPU at every start for what the relay uses later or never.
 *   The default metrics are loaded at the first scrape ({@link loadCollectDefaultMetrics}).
 *
 * These are the very classes the index exports (prom-client's index requires the same files; the
 * version is pinned, and test/metrics/prom-client-files.test.ts checks it), so a `Registry` made
 * elsewhere is a `Registry` here.
 */
const requirePromClient = createRequire(import.meta.url);

/** prom-client's `Counter`. */
export const Counter = requirePromClient('prom-client/lib/counter') as typeof PromClient.Counter;
/** prom-client's `Gauge`. */
export const Gauge = requirePromClient('prom-client/lib/gauge') as typeof PromClient.Gauge;
/** prom-client's `Histogram`. */
export const Histogram = requirePromClient('prom-client/lib/histogram') as typeof PromClient.Histogram;
/** prom-client's `Registry`. */
export const RegistryClass = requirePromClient('prom-client/lib/registry') as typeof PromClient.Registry;

/** prom-client's `collectDefaultMetrics`, loaded when first called for. */
export function loadCollectDefaultMetrics(): typeof PromClient.collectDefaultMetrics {
  return requirePromClient('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics;
}
