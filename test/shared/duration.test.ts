import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { formatDuration, parseDuration } from '../../src/shared/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    ['0s', 0],
    ['0ms', 0],
    ['007m', 420_000],
    ['  5m\n', 300_000],
    ['\t1h ', 3_600_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '   ',
    '300',
    '5',
    'm',
    '5 m',
    '5 ms',
    '-5m',
    '+5m',
    '1.5h',
    '1e3ms',
    '1h30m',
    '5M',
    '5H',
    '5MS',
    '5min',
    '5sec',
    '2w',
    '5mm',
    'ms5',
    '0x10s',
    '５m',
    '5m.',
    `${'9'.repeat(20)}d`,
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('refuses an amount too large to be exact', () => {
    expect(parseDuration(`${Number.MAX_SAFE_INTEGER}ms`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDuration(`${Number.MAX_SAFE_INTEGER}s`)).toBeUndefined();
  });

  it('reads every integer amount of every unit', () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (amount, unit) => {
          expect(parseDuration(`${amount}${unit}`)).toBe(amount * units[unit]);
        },
      ),
    );
  });

  it('returns a non-negative safe integer or undefined for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789msdh -.') })),
        (text) => {
          const ms = parseDuration(text);
          if (ms !== undefined) {
            expect(Number.isSafeInteger(ms)).toBe(true);
            expect(ms).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1500ms'],
    [90_000, '90s'],
    [300_000, '5m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
    [-300_000, '-5m'],
    [299_999.6, '5m'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('refuses a number that is not finite', () => {
    expect(() => formatDuration(Number.NaN)).toThrow(RangeError);
    expect(() => formatDuration(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('writes what parseDuration reads back', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
