import { describe, expect, it } from 'vitest';
import { createRelayMetrics, METRIC_NAMES } from '../../src/metrics/index.js';
import type { DmFailureReason } from '../../src/operators/delivery.js';
import { find, parseSamples, valueOf } from './prometheus-text.js';
import type { EndedLogin } from '../../src/domain/login.js';

/** Issue 12, item 9: counters for DM failures, halts and bot requests. */

const ALICE = '100000000000000001';
const BOB = '100000000000000002';
const T0 = new Date('2026-11-30T13:00:00.000Z');

function metricsFor() {
  return createRelayMetrics({ account: 'default', defaultMetrics: false, operatorIds: [ALICE, BOB] });
}

async function samplesOf(metrics: ReturnType<typeof createRelayMetrics>) {
  return parseSamples((await metrics.render()).body);
}

function failed(error?: NonNullable<EndedLogin['error']>): EndedLogin {
  return {
    loginId: 'login-1',
    reason: 'startup',
    startedAt: T0,
    outcome: 'failed',
    ...(error === undefined ? {} : { error }),
    attempts: 0,
    endedAt: T0,
  };
}

describe(METRIC_NAMES.dmFailures, () => {
  it('starts at 0 for every operator and reason, so rate() works from the first failure', async () => {
    const samples = await samplesOf(metricsFor());
    expect(find(samples, METRIC_NAMES.dmFailures)).toHaveLength(6);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: BOB, reason: 'dms-closed' })).toBe(0);
  });

  it('counts failed DMs by operator and reason', async () => {
    const metrics = metricsFor();
    metrics.countDmFailure({ operatorId: BOB, reason: 'dms-closed' });
    metrics.countDmFailure({ operatorId: BOB, reason: 'dms-closed' });
    metrics.countDmFailure({ operatorId: ALICE, reason: 'failed' });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: BOB, reason: 'dms-closed' })).toBe(2);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: ALICE, reason: 'failed' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: ALICE, reason: 'dms-closed' })).toBe(0);
  });

  it('keeps its labels bounded: anyone but a configured operator, any other reason, is `other`', async () => {
    const metrics = metricsFor();
    metrics.countDmFailure({ operatorId: '999999999999999999', reason: 'dms-closed' });
    metrics.countDmFailure({ operatorId: ALICE, reason: 'whatever' as DmFailureReason });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: 'other', reason: 'dms-closed' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: ALICE, reason: 'other' })).toBe(1);
    expect(find(samples, METRIC_NAMES.dmFailures, { operator: '999999999999999999' })).toEqual([]);
  });
});

describe(METRIC_NAMES.halts, () => {
  it('counts logins that failed with an error only a person can fix, by error kind', async () => {
    const metrics = metricsFor();
    metrics.observer.loginEnded?.(failed('bad-credentials'));
    metrics.observer.loginEnded?.(failed('bad-pin'));
    metrics.observer.loginEnded?.(failed('bad-pin'));
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.halts, { error: 'bad-credentials' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.halts, { error: 'bad-pin' })).toBe(2);
  });

  it('leaves passing failures and other endings out', async () => {
    const metrics = metricsFor();
    metrics.observer.loginEnded?.(failed('network'));
    metrics.observer.loginEnded?.(failed('server-error'));
    metrics.observer.loginEnded?.({ ...failed(), outcome: 'rejected' });
    metrics.observer.loginEnded?.({ ...failed('bad-credentials'), outcome: 'expired' });
    expect(find(await samplesOf(metrics), METRIC_NAMES.halts)).toEqual([]);
  });
});

describe(METRIC_NAMES.botRequests, () => {
  it('starts at 0 and counts the bots’ requests by type, any unknown type as `other`', async () => {
    const metrics = metricsFor();
    expect(valueOf(await samplesOf(metrics), METRIC_NAMES.botRequests, { type: 'token.rejected' })).toBe(0);
    metrics.countBotRequest({ type: 'token.rejected' });
    metrics.countBotRequest({ type: 'token.rejected' });
    metrics.countBotRequest({ type: 'made-up' });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.botRequests, { type: 'token.rejected' })).toBe(2);
    expect(valueOf(samples, METRIC_NAMES.botRequests, { type: 'other' })).toBe(1);
  });
});
