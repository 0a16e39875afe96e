/**
 * src/metrics/prom-client.ts loads prom-client's classes from their own files, not from the
 * package's index (which also loads the Pushgateway, the cluster aggregator and the default
 * metrics at every start). They must be the very classes the index exports.
 */
import { createRequire } from 'node:module';
import * as promClient from 'prom-client';
import { describe, expect, it } from 'vitest';

const requireHere = createRequire(import.meta.url);

describe("prom-client's files", () => {
  it('export the classes and the default metrics of the package index', () => {
    expect(requireHere('prom-client/lib/counter')).toBe(promClient.Counter);
    expect(requireHere('prom-client/lib/gauge')).toBe(promClient.Gauge);
    expect(requireHere('prom-client/lib/histogram')).toBe(promClient.Histogram);
    expect(requireHere('prom-client/lib/registry')).toBe(promClient.Registry);
    expect(requireHere('prom-client/lib/defaultMetrics')).toBe(promClient.collectDefaultMetrics);
  });
});
