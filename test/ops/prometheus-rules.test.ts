import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, run } from './redis-server.js';

// deploy/prometheus: the alert rules, their unit test and the Prometheus configuration, checked by
// promtool (Debian's package prometheus, which .ci/run installs when it is missing).

const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy/prometheus');
const RULES = join(PROMETHEUS_DIR, 'alerts.yml');
const RULES_TEST = join(PROMETHEUS_DIR, 'alerts.test.yml');
const CONFIG = join(PROMETHEUS_DIR, 'prometheus.yml');

/** The alerts issue 20 asks for, each with a unit test that shows it firing and quiet. */
const ALERTS = [
  'OtpRelayDown',
  'OtpRelayNoValidToken',
  'OtpRelayTokenExpiresSoon',
  'OtpRelayLoginsFailing',
  'OtpRelayHalted',
  'OtpRelayOperatorUnreachable',
];

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const PROMTOOL = hasPromtool();

const promtool = (...args: string[]) =>
  run('promtool', args, { env: { PATH: process.env.PATH }, cwd: PROMETHEUS_DIR });

describe('deploy/prometheus/alerts.yml', () => {
  let rules: string;
  let tests: string;

  beforeAll(async () => {
    rules = await readFile(RULES, 'utf8');
    tests = await readFile(RULES_TEST, 'utf8');
  });

  it('has each alert once, with a severity, a summary and a description', () => {
    const names = [...rules.matchAll(/^ {6}- alert: (\S+)$/gm)].map((match) => match[1]);
    expect(names.sort()).toEqual([...ALERTS].sort());
    const blocks = rules.split(/^ {6}- alert: /m).slice(1);
    for (const block of blocks) {
      const name = block.split('\n')[0]!;
      expect(block, name).toMatch(/^ {10}severity: (page|warning)$/m);
      expect(block, name).toMatch(/^ {10}summary: \S/m);
      expect(block, name).toMatch(/^ {10}description: \S/m);
    }
  });

  it('has a unit test that shows each alert firing, and one that shows it quiet', () => {
    const checks = [...tests.matchAll(/^ {8}alertname: (\S+)\n {8}exp_alerts:( \[\])?\n/gm)];
    for (const name of ALERTS) {
      const mine = checks.filter((match) => match[1] === name);
      expect(
        mine.some((match) => match[2] === undefined),
        `${name} firing`,
      ).toBe(true);
      expect(
        mine.some((match) => match[2] === ' []'),
        `${name} quiet`,
      ).toBe(true);
    }
    expect(tests).toMatch(/^rule_files:\n {2}- alerts\.yml$/m);
  });

  it('sums failed logins across labels: never the per-series rule of old', () => {
    const block = rules.split(/^ {6}- alert: /m).find((text) => text.startsWith('OtpRelayLoginsFailing'))!;
    expect(block).toMatch(/sum by \(account\) \(/);
    expect(block).toContain('otp_relay_logins_total{result!="succeeded"}');
  });

  describe.skipIf(!PROMTOOL)(
    'promtool (skipped: promtool is not installed; Debian package prometheus)',
    () => {
      let scratch: string;

      beforeAll(async () => {
        scratch = await mkdtemp(join(tmpdir(), 'otp-relay-promtool-'));
      });

      afterAll(async () => {
        await rm(scratch, { recursive: true, force: true });
      });

      it('checks the rules', async () => {
        const result = await promtool('check', 'rules', RULES);
        expect(result.stderr).toBe('');
        expect(result.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
        expect(result.code).toBe(0);
      });

      it('passes the unit tests of alerts.test.yml', async () => {
        const result = await promtool('test', 'rules', RULES_TEST);
        expect(result.stdout + result.stderr).toContain('SUCCESS');
        expect(result.stdout + result.stderr).not.toContain('FAILED');
        expect(result.code).toBe(0);
      });

      it('checks prometheus.yml, which scrapes the relay as job otp-relay and loads alerts.yml', async () => {
        const result = await promtool('check', 'config', CONFIG);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('SUCCESS: 1 rule files found');
        const config = await readFile(CONFIG, 'utf8');
        expect(config).toMatch(/^rule_files:\n {2}- alerts\.yml$/m);
        expect(config).toMatch(/^ {2}- job_name: otp-relay$/m);
        expect(config).toMatch(/^ {6}- targets: \['relay:8080'\]$/m);
      });

      /** The unit test run against alerts.yml with `from` replaced by `to`: it must fail. */
      const withRule = async (from: string, to: string) => {
        expect(rules).toContain(from);
        await writeFile(join(scratch, 'alerts.yml'), rules.replace(from, to));
        await copyFile(RULES_TEST, join(scratch, 'alerts.test.yml'));
        return run('promtool', ['test', 'rules', join(scratch, 'alerts.test.yml')], {
          env: { PATH: process.env.PATH },
          cwd: scratch,
        });
      };

      it('fails on the per-series rule the README once showed, which two different failures never reach', async () => {
        const summed = /sum by \(account\) \([\s\S]*?\) >= 2/.exec(rules)![0];
        const result = await withRule(
          summed,
          'increase(otp_relay_logins_total{result!="succeeded"}[1h]) >= 2',
        );
        expect(result.code).not.toBe(0);
        expect(result.stdout + result.stderr).toMatch(/alertname: OtpRelayLoginsFailing/);
      });

      it('fails when the expiry alert counts no token as "soon", or ignores the schedule (weekends)', async () => {
        const noToken = await withRule(
          'otp_relay_token_expiry_timestamp_seconds - time() > 0 < 3600',
          'otp_relay_token_expiry_timestamp_seconds - time() < 3600',
        );
        expect(noToken.code).not.toBe(0);
        expect(noToken.stdout + noToken.stderr).toMatch(/alertname: OtpRelayTokenExpiresSoon/);
        const anyTime = await withRule(
          'unless\n            otp_relay_next_login_timestamp_seconds > time()\n',
          '\n',
        );
        expect(anyTime.code).not.toBe(0);
        expect(anyTime.stdout + anyTime.stderr).toMatch(/alertname: OtpRelayTokenExpiresSoon/);
      });
    },
  );
});
