import { describe, expect, it } from 'vitest';
import { cronPlannedLogins, planRenewal } from '../../src/relay/schedule.js';

const HOUR = 3_600_000;
const weekdays830NewYork = cronPlannedLogins('30 8 * * 1-5', 'America/New_York');

describe('cronPlannedLogins', () => {
  it('follows the zone across the spring daylight-saving change', () => {
    // Friday 6 March 2026 after 08:30 EST; clocks go forward on Sunday 8 March.
    const next = weekdays830NewYork.nextAfter(new Date('2026-03-06T14:00:00Z'));
    expect(next?.toISOString()).toBe('2026-03-09T12:30:00.000Z'); // Monday 08:30 EDT (UTC-4)
  });

  it('follows the zone across the autumn daylight-saving change', () => {
    // Friday 30 October 2026 after 08:30 EDT; clocks go back on Sunday 1 November.
    const next = weekdays830NewYork.nextAfter(new Date('2026-10-30T13:00:00Z'));
    expect(next?.toISOString()).toBe('2026-11-02T13:30:00.000Z'); // Monday 08:30 EST (UTC-5)
  });
});

describe('planRenewal', () => {
  const now = new Date('2026-11-30T13:31:00Z'); // Monday 08:31 EST

  it('renews RENEW_BEFORE ahead of expiry without a schedule', () => {
    expect(planRenewal({ now, expiresAt: new Date(now.getTime() + 24 * HOUR), renewBeforeMs: HOUR })).toEqual(
      {
        kind: 'before-expiry',
        renewAt: new Date(now.getTime() + 23 * HOUR),
      },
    );
  });

  it('renews at once when expiry is nearer than RENEW_BEFORE', () => {
    const plan = planRenewal({ now, expiresAt: new Date(now.getTime() + 10 * 60_000), renewBeforeMs: HOUR });
    expect(plan.renewAt).toEqual(now);
  });

  it('moves renewal to the planned time just before expiry (a 24 h token, a login every weekday)', () => {
    const plan = planRenewal({
      now,
      expiresAt: new Date('2026-12-01T13:31:00Z'),
      renewBeforeMs: HOUR,
      planned: weekdays830NewYork,
    });
    expect(plan).toEqual({ kind: 'planned', renewAt: new Date('2026-12-01T13:30:00Z') });
  });

  it('takes the last of several planned times that fall before expiry', () => {
    const plan = planRenewal({
      now,
      expiresAt: new Date('2026-12-03T20:00:00Z'),
      renewBeforeMs: HOUR,
      planned: weekdays830NewYork,
    });
    expect(plan).toEqual({ kind: 'planned', renewAt: new Date('2026-12-03T13:30:00Z') });
  });

  it('waits for the next planned time, and says so, when the token lapses first (a Friday token)', () => {
    const friday = new Date('2026-12-04T13:31:00Z');
    const plan = planRenewal({
      now: friday,
      expiresAt: new Date('2026-12-05T13:31:00Z'),
      renewBeforeMs: HOUR,
      planned: weekdays830NewYork,
    });
    expect(plan).toEqual({ kind: 'after-expiry', renewAt: new Date('2026-12-07T13:30:00Z') });
  });

  it('plans across the spring change in local hours, not UTC hours', () => {
    const plan = planRenewal({
      now: new Date('2026-03-06T13:31:00Z'), // Friday 08:31 EST
      expiresAt: new Date('2026-03-09T13:31:00Z'), // a 72 h token
      renewBeforeMs: HOUR,
      planned: weekdays830NewYork,
    });
    expect(plan).toEqual({ kind: 'planned', renewAt: new Date('2026-03-09T12:30:00Z') });
  });
});
