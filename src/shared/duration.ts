/**
 * Durations as the configuration writes them: an integer amount followed by one unit, e.g. `500ms`,
 * `90s`, `5m`, `24h`, `1d`.
 *
 * Rules, chosen so a value means one thing only:
 * - units are lowercase `ms`, `s`, `m`, `h` and `d` (a day is 24 hours); `d` is accepted because
 *   `7d` is how people write a week, and it cannot be mistaken for anything else;
 * - the amount is a non-negative integer in ASCII digits: no sign, no fraction, no exponent;
 * - no space between amount and unit, no compound values (`1h30m`: write `90m`);
 * - a bare number is refused: `300` could be milliseconds or seconds;
 * - uppercase units are refused: `5M` reads as months to some people;
 * - surrounding whitespace is ignored.
 */

/** Milliseconds in one of each unit {@link parseDuration} accepts. */
const UNIT_MS = {
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
} as const satisfies Record<string, number>;

type DurationUnit = keyof typeof UNIT_MS;

const DURATION_PATTERN = /^([0-9]+)(ms|s|m|h|d)$/;

/** The units {@link formatDuration} writes, largest first. Not `d`, so 24 hours reads `24h` as in the docs. */
const FORMAT_UNITS: readonly DurationUnit[] = ['h', 'm', 's'];

/** What a duration looks like, for error messages. */
export const DURATION_FORMAT_HINT =
  'write an integer and a unit (ms, s, m, h or d) such as 500ms, 90s, 5m or 24h';

/**
 * Parses a duration such as `500ms`, `90s`, `5m`, `24h` or `1d` into milliseconds.
 *
 * @returns the duration in milliseconds, or `undefined` when `text` is not a duration by the rules
 *   above (or is too large to be exact as a number of milliseconds)
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amountText, unitText] = match;
  if (amountText === undefined || unitText === undefined) return undefined;
  const ms = Number(amountText) * UNIT_MS[unitText as DurationUnit];
  // Past 2^53 the product is no longer exact: refuse it rather than round silently.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Writes a duration for a message, in the same form {@link parseDuration} reads: the largest of
 * `h`, `m`, `s` that divides it exactly, else `ms` (`300000` → `5m`, `90000` → `90s`, `86400000` →
 * `24h`, `1500` → `1500ms`). `parseDuration(formatDuration(ms)) === ms` for every non-negative safe
 * integer.
 *
 * @param ms - a finite number of milliseconds; it is rounded to whole milliseconds, and a negative
 *   value gets a leading `-`
 * @throws RangeError when `ms` is not finite
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatDuration needs a finite number, got ${ms}`);
  const whole = Math.round(Math.abs(ms));
  const sign = ms < 0 && whole !== 0 ? '-' : '';
  if (whole === 0) return '0s';
  for (const unit of FORMAT_UNITS) {
    const size = UNIT_MS[unit];
    if (whole % size === 0) return `${sign}${whole / size}${unit}`;
  }
  return `${sign}${whole}ms`;
}
