import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoginBudget } from '../../src/relay/login-budget.js';

const HOUR = 3_600_000;

describe('LoginBudget', () => {
  it('allows MAX_LOGINS_PER_HOUR logins, then says when the next may start', () => {
    const budget = new LoginBudget({ maxPerHour: 2 });
    expect(budget.trySpend(1_000)).toEqual({ ok: true });
    expect(budget.trySpend(5_000)).toEqual({ ok: true });
    expect(budget.trySpend(6_000)).toEqual({ ok: false, nextAllowedAt: new Date(1_000 + HOUR) });
    expect(budget.trySpend(1_000 + HOUR)).toEqual({ ok: true });
  });

  it('never lets more than the cap through in any one-hour window, whatever the call pattern', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 * HOUR }), { maxLength: 60 }),
        (cap, times) => {
          const budget = new LoginBudget({ maxPerHour: cap });
          const granted = [...times].sort((a, b) => a - b).filter((t) => budget.trySpend(t).ok);
          for (const start of granted) {
            expect(granted.filter((t) => t >= start && t < start + HOUR).length).toBeLessThanOrEqual(cap);
          }
        },
      ),
    );
  });

  it('counts logins spent before a restart', () => {
    const budget = new LoginBudget({ maxPerHour: 1, spent: [10_000] });
    expect(budget.trySpend(20_000).ok).toBe(false);
  });
});
