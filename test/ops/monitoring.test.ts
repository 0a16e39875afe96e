import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createRelayMetrics, METRIC_NAMES } from '../../src/metrics/index.js';
import { COMPOSE_FILE, hasDockerCompose, service } from './compose-file.js';
import { REPO_ROOT, run } from './redis-server.js';

// The compose profile `monitoring`: Prometheus (deploy/prometheus) and Grafana (deploy/grafana),
// and the one thing that silently breaks a dashboard or an alert: a query naming a metric, or a
// label, that the relay does not export. The exported names come from the relay's own registry.

const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/dashboards/otp-relay.json');
const DATASOURCES = join(REPO_ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml');
const DASHBOARD_PROVIDERS = join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/otp-relay.yml');
const ALERTS = join(REPO_ROOT, 'deploy/prometheus/alerts.yml');

/** Series Prometheus itself makes: the scrape's `up`, and `ALERTS` for the alert rules. */
const PROMETHEUS_SERIES: Readonly<Record<string, readonly string[]>> = {
  up: ['job', 'instance'],
  ALERTS: ['alertname', 'alertstate', 'severity', 'job', 'instance', 'account', 'operator', 'reason'],
};

/** Labels Prometheus adds to every scraped series, and the one the relay sets on each of its own. */
const TARGET_LABELS = ['job', 'instance'];

/** What the relay exports: each series name (histograms' _bucket, _sum, _count) and its labels. */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const metrics = createRelayMetrics({ account: 'monitoring-test', operatorIds: ['100000000000000001'] });
  // The first scrape also loads Node's default metrics (process_*, nodejs_*).
  const { body } = await metrics.render();
  const series = new Map<string, Set<string>>();
  const registry: Registry = metrics.registry;
  for (const [, name, type] of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const metric = registry.getSingleMetric(name!) as unknown as { labelNames?: unknown } | undefined;
    const labelNames = Array.isArray(metric?.labelNames) ? (metric.labelNames as string[]) : [];
    // Labels of the samples themselves (default metrics set some of their own, e.g. `version`).
    const sampled = [
      ...body.matchAll(new RegExp(`^${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm')),
    ].flatMap((match) => [...match[1]!.matchAll(/(\w+)="/g)].map((label) => label[1]!));
    const labels = new Set([...labelNames, ...sampled, 'account', ...TARGET_LABELS]);
    if (type === 'histogram') {
      series.set(`${name}_bucket`, new Set([...labels, 'le']));
      series.set(`${name}_sum`, labels);
      series.set(`${name}_count`, labels);
    } else if (type === 'summary') {
      series.set(name!, new Set([...labels, 'quantile']));
      series.set(`${name}_sum`, labels);
      series.set(`${name}_count`, labels);
    } else {
      series.set(name!, labels);
    }
  }
  for (const [name, labels] of Object.entries(PROMETHEUS_SERIES)) series.set(name, new Set(labels));
  return series;
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  // Aggregation operators, which `by (...)` may separate from their parenthesis.
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);

/** A PromQL expression with its strings emptied, so that nothing in quotes looks like a name. */
function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** The names of the series an expression selects: not functions, keywords, labels or durations. */
function seriesNames(expr: string): string[] {
  const bare = withoutStrings(expr)
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  return [...bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)]
    .map((match) => match[1]!)
    .filter((name) => !KEYWORDS.has(name.toLowerCase()));
}

/** Label names of each `name{...}` selector, and of the `by (...)`-style lists. */
function labelUses(expr: string): { selectors: [string, string[]][]; grouping: string[] } {
  const text = withoutStrings(expr);
  const selectors = [...text.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)].map(
    ([, name, matchers]) =>
      [name!, [...matchers!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!)] as [
        string,
        string[],
      ],
  );
  const grouping = [...text.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)]
    .flatMap((match) => match[1]!.split(','))
    .map((label) => label.trim())
    .filter(Boolean);
  return { selectors, grouping };
}

interface Query {
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}

interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: Panel[];
  readonly annotations: { list: { name: string; expr?: string }[] };
  readonly templating: {
    list: { name: string; type: string; query: unknown; current?: { value: string } }[];
  };
}

/** Every PromQL expression of the dashboard: panels, annotations, and the variables' queries. */
function dashboardQueries(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
    }
  }
  for (const annotation of dashboard.annotations.list) {
    if (annotation.expr !== undefined)
      queries.push({ where: `annotation ${annotation.name}`, expr: annotation.expr });
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query =
      typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
    // label_values(metric, label): the metric is a series; the label, one of its labels.
    const labelValues = /^label_values\((.*),\s*(\w+)\)$/.exec(query);
    const expr = labelValues === null ? query : `${labelValues[1]} and on (${labelValues[2]}) vector(0)`;
    queries.push({ where: `variable ${variable.name}`, expr });
  }
  return queries;
}

/** Every `expr` of alerts.yml: one line, or a `|` block. */
function alertQueries(text: string): Query[] {
  const queries: Query[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const match = /^( *)expr: (.*)$/.exec(line);
    if (match === null) return;
    const [, indent, rest] = match;
    if (rest !== '|') {
      queries.push({ where: `alerts.yml:${index + 1}`, expr: rest! });
      return;
    }
    const block: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (next.trim() !== '' && next.search(/\S/) <= indent!.length) break;
      block.push(next);
    }
    queries.push({ where: `alerts.yml:${index + 1}`, expr: block.join('\n') });
  });
  return queries;
}

/** Grafana's variables replaced by values Prometheus accepts, for promtool. */
function asPromql(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$account/g, '.*');
}

describe('monitoring: the dashboard and the alert rules name only what the relay exports', () => {
  let exported: Map<string, Set<string>>;
  let dashboard: Dashboard;
  let queries: Query[];

  beforeAll(async () => {
    exported = await exportedSeries();
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    queries = [...dashboardQueries(dashboard), ...alertQueries(await readFile(ALERTS, 'utf8'))];
  });

  it('reads the names from the registry: every relay metric, and the state gauges', () => {
    for (const name of Object.values(METRIC_NAMES)) {
      expect(exported.has(name) || exported.has(`${name}_bucket`), name).toBe(true);
    }
    expect(exported.get(METRIC_NAMES.logins)).toEqual(
      new Set(['trigger', 'result', 'error', 'account', 'job', 'instance']),
    );
    expect(exported.has('process_cpu_user_seconds_total')).toBe(true);
    // The extraction sees through functions, keywords, labels, strings and durations.
    expect(
      seriesNames(
        'sum by (account) (increase(a_total{result!="x_total"}[1h]) and b offset 1h or c and on (job) (up offset 5m)) >= 2',
      ),
    ).toEqual(['a_total', 'b', 'c', 'up']);
  });

  it('has queries in every panel, the annotations and the variables, and in alerts.yml', () => {
    expect(queries.filter((q) => q.where.startsWith('panel')).length).toBeGreaterThanOrEqual(15);
    expect(queries.filter((q) => q.where.startsWith('alerts.yml'))).toHaveLength(6);
    for (const query of queries) expect(seriesNames(query.expr), query.where).not.toEqual([]);
  });

  it('names only series the relay exports (or up and ALERTS, which Prometheus makes)', () => {
    const unknown = queries.flatMap((query) =>
      seriesNames(query.expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${query.where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('selects and groups only by labels those series have', () => {
    const wrong: string[] = [];
    for (const query of queries) {
      const { selectors, grouping } = labelUses(query.expr);
      for (const [name, labels] of selectors) {
        for (const label of labels) {
          if (!exported.get(name)?.has(label)) wrong.push(`${query.where}: ${name}{${label}}`);
        }
      }
      const available = new Set(seriesNames(query.expr).flatMap((name) => [...(exported.get(name) ?? [])]));
      for (const label of grouping) {
        if (!available.has(label)) wrong.push(`${query.where}: by/on (${label})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('shows the token time left, logins by result, answer times, SMS per hour, DM failures and the connections', () => {
    const all = queries.filter((q) => !q.where.startsWith('alerts.yml')).map((q) => q.expr);
    const uses = (pattern: RegExp) => all.some((expr) => pattern.test(expr));
    expect(uses(/otp_relay_token_expiry_timestamp_seconds\{[^}]*\}\) - time\(\)/)).toBe(true);
    expect(uses(/sum by \(result\)[\s\S]*otp_relay_logins_total/)).toBe(true);
    expect(uses(/histogram_quantile\([\s\S]*otp_relay_operator_answer_seconds_bucket/)).toBe(true);
    expect(
      uses(
        /otp_relay_broker_request_duration_seconds_count\{[^}]*step="start-login", outcome="code-required"\}/,
      ),
    ).toBe(true);
    expect(uses(/otp_relay_dm_failures_total/)).toBe(true);
    expect(uses(/otp_relay_redis_connected/)).toBe(true);
    expect(uses(/otp_relay_discord_connected/)).toBe(true);
  });
});

describe('deploy/grafana', () => {
  let dashboard: Dashboard;

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  });

  it('is one dashboard with unique panel ids, each panel on the data source variable, inside 24 columns', () => {
    expect(dashboard.uid).toBe('otp-relay');
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(refIds.length, panel.title).toBeGreaterThan(0);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it('defaults to the provisioned data source, which is the compose service prometheus', async () => {
    const datasources = await readFile(DATASOURCES, 'utf8');
    const uid = /^ {4}uid: (\S+)$/m.exec(datasources)?.[1];
    expect(uid).toBe('otp-relay-prometheus');
    expect(datasources).toMatch(/^ {4}type: prometheus$/m);
    expect(datasources).toMatch(/^ {4}url: http:\/\/prometheus:9090$/m);
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: uid } });
  });

  it('is loaded by the dashboard provider from where compose mounts it', async () => {
    const providers = await readFile(DASHBOARD_PROVIDERS, 'utf8');
    const path = /^ {6}path: (\S+)$/m.exec(providers)?.[1];
    expect(path).toBe('/etc/grafana/dashboards');
    const grafana = service(await readFile(COMPOSE_FILE, 'utf8'), 'grafana');
    expect(grafana).toContain(`- ./deploy/grafana/dashboards:${path}:ro\n`);
    expect(grafana).toContain(`GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: ${path}/otp-relay.json\n`);
  });
});

describe('docker-compose.yml, profile monitoring', () => {
  let text: string;

  beforeAll(async () => {
    text = await readFile(COMPOSE_FILE, 'utf8');
  });

  it('runs Prometheus and Grafana in the profile only, on pinned images', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect(text).toContain(`  ${name}:\n    profiles: ['monitoring']\n`);
    }
    expect(service(text, 'prometheus')).toMatch(/^ {4}image: prom\/prometheus:v\d+\.\d+\.\d+$/m);
    expect(service(text, 'grafana')).toMatch(/^ {4}image: grafana\/grafana:\d+\.\d+\.\d+$/m);
  });

  it('mounts the repository files read-only, each of which exists', () => {
    for (const name of ['prometheus', 'grafana']) {
      const mounts = [...service(text, name).matchAll(/^ {6}- (\.\/[^:]+):(\S+):ro$/gm)];
      expect(mounts.length, name).toBeGreaterThan(0);
      for (const [, source] of mounts) expect(existsSync(join(REPO_ROOT, source!)), source).toBe(true);
    }
    const prometheus = service(text, 'prometheus');
    expect(prometheus).toContain('- ./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro\n');
    // prometheus.yml loads `alerts.yml` next to itself.
    expect(prometheus).toContain('- ./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro\n');
    expect(prometheus).toContain('--config.file=/etc/prometheus/prometheus.yml');
  });

  it("scrapes the relay at its service name and container port, and gives Grafana's admin a password file", () => {
    const relay = service(text, 'relay');
    expect(relay).toContain("HTTP_PORT: '8080'");
    const grafana = service(text, 'grafana');
    expect(grafana).toContain('GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/grafana_admin_password\n');
    expect(grafana).toMatch(/^ {4}secrets:\n {6}- grafana_admin_password$/m);
    expect(grafana).toContain('GF_AUTH_ANONYMOUS_ORG_ROLE: Viewer\n');
  });

  describe.skipIf(!hasDockerCompose())(
    'docker-compose config (skipped: docker-compose is not installed)',
    () => {
      let project: string;

      beforeAll(async () => {
        project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-monitoring-'));
        await writeFile(join(project, '.env'), await readFile(join(REPO_ROOT, '.env.example'), 'utf8'));
      });

      afterAll(async () => {
        await rm(project, { recursive: true, force: true });
      });

      it('is valid with the profile', async () => {
        const result = await run(
          'docker-compose',
          ['-f', COMPOSE_FILE, '--project-directory', project, '--profile', 'monitoring', 'config', '-q'],
          { env: { PATH: process.env.PATH } },
        );
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      });
    },
  );
});

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasPromtool())(
  'the dashboard queries parse as PromQL (skipped: promtool is not installed)',
  () => {
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'otp-relay-dashboard-promql-'));
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('each one, as a recording rule promtool checks', async () => {
      const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
      const rules = dashboardQueries(dashboard)
        .map(
          (query, index) =>
            `      - record: dashboard:query_${index}\n        expr: ${JSON.stringify(asPromql(query.expr))}\n`,
        )
        .join('');
      const file = join(dir, 'dashboard-queries.yml');
      await writeFile(file, `groups:\n  - name: dashboard\n    rules:\n${rules}`);
      const result = await run('promtool', ['check', 'rules', file], { env: { PATH: process.env.PATH } });
      expect(result.stdout + result.stderr).toContain('SUCCESS');
      expect(result.code).toBe(0);
    });
  },
);
