import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  createMetricsRegistry,
  METRIC_NAMES,
  PROCESS_METRICS,
  type MetricsRegistry,
} from '../../src/metrics/index.js';
import type { EndedLogin } from '../../src/domain/login.js';
import type { Broker } from '../../src/relay/ports/broker.js';
import { Secret } from '../../src/shared/secret.js';
import { find, parseSamples, valueOf, type Sample } from './prometheus-text.js';

/** Issue 19: one registry for the process, one set of series per account. */

const ALICE = '100000000000000001';
const BOB = '100000000000000002';
const CAROL = '100000000000000003';
const T0 = new Date('2026-11-30T13:00:00.000Z');

/** Two accounts in one registry; Bob is an operator of both. */
function twoAccounts() {
  let nowMs = 0;
  const metrics = createMetricsRegistry({ defaultMetrics: false, monotonicNowMs: () => nowMs });
  const live = metrics.forAccount({ account: 'live', operatorIds: [ALICE, BOB] });
  const paper = metrics.forAccount({ account: 'paper', operatorIds: [BOB, CAROL] });
  return { metrics, live, paper, advance: (ms: number) => (nowMs += ms) };
}

async function samplesOf(metrics: MetricsRegistry): Promise<Sample[]> {
  return parseSamples((await metrics.render()).body);
}

function ended(overrides: Partial<EndedLogin> = {}): EndedLogin {
  return {
    loginId: 'login-1',
    reason: 'renewal',
    startedAt: T0,
    outcome: 'failed',
    error: 'bad-credentials',
    attempts: 0,
    endedAt: T0,
    ...overrides,
  };
}

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('createMetricsRegistry: several accounts', () => {
  it('labels every series of an account with it, and the process-wide ones with none', async () => {
    const { metrics } = twoAccounts();
    expect(metrics.accounts).toEqual(['live', 'paper']);
    const samples = await samplesOf(metrics);
    const relay = samples.filter((s) => s.name.startsWith('otp_relay_'));
    const processWide = (s: Sample) => PROCESS_METRICS.some((name) => s.name === name);
    expect(relay.filter((s) => !processWide(s) && !['live', 'paper'].includes(s.labels.account!))).toEqual(
      [],
    );
    expect(relay.filter((s) => processWide(s) && 'account' in s.labels)).toEqual([]);
    // Each account has its own series from the start: a token gauge, bot requests at 0, the
    // answer-time histogram at 0, and the three state gauges.
    for (const account of ['live', 'paper']) {
      expect(valueOf(samples, METRIC_NAMES.tokenExpiry, { account })).toBe(0);
      expect(valueOf(samples, METRIC_NAMES.botRequests, { account, type: 'token.rejected' })).toBe(0);
      expect(valueOf(samples, `${METRIC_NAMES.operatorAnswer}_count`, { account })).toBe(0);
      for (const name of [METRIC_NAMES.nextLogin, METRIC_NAMES.halted, METRIC_NAMES.lastLoginFailed]) {
        expect(valueOf(samples, name, { account }), `${name} ${account}`).toBe(0);
      }
    }
  });

  it("moves one account's counters and gauges, never the other's", async () => {
    const { metrics, live, paper, advance } = twoAccounts();
    live.observer.loginStarted?.({ loginId: 'a', reason: 'renewal', startedAt: T0 });
    live.observer.loginEnded?.(ended());
    live.observer.codeReceived?.({ loginId: 'a', operatorId: ALICE, attempt: 1, waitedMs: 12_000 });
    live.countBotRequest({ type: 'token.rejected' });
    live.setToken({ generation: 4, expiresAt: '2026-12-01T13:00:00.000Z' });
    paper.setToken({ generation: 9, expiresAt: '2026-12-02T13:00:00.000Z' });
    live.setStateProbes({
      snapshot: () => ({
        login: { state: 'ended', outcome: 'failed' },
        halted: { error: 'bad-pin', at: '' },
      }),
      nextLoginAt: () => new Date('2026-12-01T12:00:00.000Z'),
    });
    const broker: Broker = {
      startLogin: async () => {
        advance(250);
        return { kind: 'code-required', interim: new Secret('i') };
      },
      submitCode: async () => ({ kind: 'code-rejected', interimSpent: false }),
      validate: async () => 'valid',
    };
    await paper.instrumentBroker(broker).startLogin();

    const samples = await samplesOf(metrics);
    const both = (name: string, labels: Record<string, string | undefined> = {}) =>
      ['live', 'paper'].map((account) => find(samples, name, { ...labels, account })[0]?.value);
    expect(both(METRIC_NAMES.loginsStarted, { trigger: 'renewal' })).toEqual([1, undefined]);
    expect(both(METRIC_NAMES.logins, { trigger: 'renewal', result: 'failed' })).toEqual([1, undefined]);
    expect(both(METRIC_NAMES.halts, { error: 'bad-credentials' })).toEqual([1, undefined]);
    expect(both(`${METRIC_NAMES.operatorAnswer}_count`)).toEqual([1, 0]);
    expect(both(METRIC_NAMES.botRequests, { type: 'token.rejected' })).toEqual([1, 0]);
    expect(both(METRIC_NAMES.tokenGeneration)).toEqual([4, 9]);
    expect(both(METRIC_NAMES.tokenExpiry)).toEqual([1_796_130_000, 1_796_216_400]);
    expect(both(METRIC_NAMES.halted)).toEqual([1, 0]);
    expect(both(METRIC_NAMES.lastLoginFailed)).toEqual([1, 0]);
    expect(both(METRIC_NAMES.nextLogin)).toEqual([Date.parse('2026-12-01T12:00:00.000Z') / 1_000, 0]);
    const calls = `${METRIC_NAMES.brokerRequestDuration}_count`;
    expect(both(calls, { step: 'start-login', outcome: 'code-required' })).toEqual([undefined, 1]);
    expect(valueOf(samples, `${METRIC_NAMES.brokerRequestDuration}_sum`, { account: 'paper' })).toBe(0.25);

    // No token for one account shows as its expiry 0, the other's stays.
    live.setToken(undefined);
    const after = await samplesOf(metrics);
    expect(valueOf(after, METRIC_NAMES.tokenExpiry, { account: 'live' })).toBe(0);
    expect(valueOf(after, METRIC_NAMES.tokenExpiry, { account: 'paper' })).toBe(1_796_216_400);
  });

  it('counts DMs per operator once, an operator of both accounts in one series per reason', async () => {
    const { metrics } = twoAccounts();
    let samples = await samplesOf(metrics);
    // Alice, Bob and Carol: three operators, three reasons each; Bob is not there twice.
    expect(find(samples, METRIC_NAMES.dmFailures)).toHaveLength(9);
    expect(find(samples, METRIC_NAMES.dmFailures, { operator: BOB })).toHaveLength(3);

    metrics.countDmFailure({ operatorId: BOB, reason: 'dms-closed' });
    metrics.countDmFailure({ operatorId: CAROL, reason: 'failed' });
    metrics.countDmFailure({ operatorId: '999999999999999999', reason: 'dms-closed' });
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: BOB, reason: 'dms-closed' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: CAROL, reason: 'failed' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: 'other', reason: 'dms-closed' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: ALICE, reason: 'dms-closed' })).toBe(0);
  });

  it('reads the connection probes once for the process', async () => {
    const { metrics } = twoAccounts();
    metrics.setConnectionProbes({ redisConnected: () => true, discordConnected: () => false });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.redisConnected)).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.discordConnected)).toBe(0);
  });

  it('refuses an account registered already, and takes accounts registered after a scrape', async () => {
    const { metrics } = twoAccounts();
    expect(() => metrics.forAccount({ account: 'live' })).toThrow(/"live" is registered already/);
    await metrics.render();
    const late = metrics.forAccount({ account: 'late', operatorIds: [ALICE] });
    late.countBotRequest({ type: 'token.rejected' });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.botRequests, { account: 'late', type: 'token.rejected' })).toBe(1);
    expect(find(samples, METRIC_NAMES.dmFailures, { operator: ALICE })).toHaveLength(3);
    expect(metrics.accounts).toEqual(['live', 'paper', 'late']);
  });

  it('describes each metric once, with HELP and TYPE, before its samples', async () => {
    const { metrics, live, paper } = twoAccounts();
    live.observer.loginEnded?.(ended());
    paper.observer.loginEnded?.({ ...ended(), outcome: 'failed', error: 'network' });
    const { body } = await metrics.render();
    const help = [...body.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]);
    const type = [...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(new Set(help).size).toBe(help.length);
    expect(type).toEqual(help);
    expect(type).toHaveLength(14);
    // Every sample follows the TYPE line of its metric, with no other metric's in between.
    let current = '';
    for (const line of body.split('\n')) {
      const typed = /^# TYPE (\S+) /.exec(line);
      if (typed !== null) current = typed[1]!;
      else if (line !== '' && !line.startsWith('#')) {
        expect(line.replace(/(_bucket|_sum|_count)?[{ ].*$/, ''), line).toBe(current);
      }
    }
  });

  it.skipIf(!hasPromtool())('renders text that `promtool check metrics` accepts', async () => {
    const { metrics, live, paper } = twoAccounts();
    live.observer.loginEnded?.(ended());
    paper.observer.codeReceived?.({ loginId: 'b', operatorId: BOB, attempt: 1, waitedMs: 3_000 });
    metrics.countDmFailure({ operatorId: BOB, reason: 'failed' });
    const { body } = await metrics.render();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
