import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PROCESS_METRICS } from '../../src/metrics/index.js';

/**
 * The process-wide series (connections, DM failures) have no `account` label in a process that
 * serves several accounts: a dashboard query or an alert that selects or groups them by account
 * would show nothing, or lose the label it prints. test/ops/monitoring.test.ts checks the names
 * and labels against a one-account registry, where every series has `account`; this checks what
 * several accounts change.
 */

const ROOT = new URL('../../', import.meta.url);

/** Every PromQL expression of the dashboard (its `expr` fields) and of alerts.yml (its rules). */
async function expressions(): Promise<{ where: string; expr: string }[]> {
  const dashboard = await readFile(new URL('deploy/grafana/dashboards/otp-relay.json', ROOT), 'utf8');
  const fromDashboard = [...dashboard.matchAll(/"expr": ("(?:[^"\\]|\\.)*")/g)].map((match) => ({
    where: 'otp-relay.json',
    expr: JSON.parse(match[1]!) as string,
  }));
  const alerts = await readFile(new URL('deploy/prometheus/alerts.yml', ROOT), 'utf8');
  const fromAlerts = alerts
    .split(/^ {6}- alert: /m)
    .slice(1)
    .map((block) => ({
      where: `alerts.yml ${block.split('\n')[0]!}`,
      expr: /^ {8}expr: ([\s\S]*?)^ {8}\w/m.exec(block)![1]!,
    }));
  return [...fromDashboard, ...fromAlerts];
}

describe('queries of the process-wide series', () => {
  it('neither select nor group them by account', async () => {
    const all = await expressions();
    expect(all.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const { where, expr } of all) {
      for (const name of PROCESS_METRICS) {
        if (!expr.includes(name)) continue;
        if (new RegExp(`${name}\\s*\\{[^}]*\\baccount\\b`).test(expr))
          wrong.push(`${where}: ${name}{account}`);
        if (/\b(?:by|on)\s*\([^)]*\baccount\b/.test(expr)) wrong.push(`${where}: by/on (account)`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
