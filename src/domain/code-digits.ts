/**
 * How long an SMS code is: the broker does not document it, so it is a setting (`CODE_DIGITS`),
 * read and checked here for the configuration and the parser alike.
 */

/** How many digits a code has: from `minDigits` to `maxDigits`, both included (`CODE_DIGITS`). */
export interface CodeDigits {
  readonly minDigits: number;
  readonly maxDigits: number;
}

/** The most digits a code may be set to have: no SMS code comes near it. */
export const MAX_CODE_DIGITS = 12;

/**
 * `CODE_DIGITS`'s default: any one run of 4 to 8 digits, the lengths SMS codes commonly have. The
 * broker does not document its code's length (docs/broker.md), so the default does not guess one.
 */
export const DEFAULT_CODE_DIGITS = Object.freeze({ minDigits: 4, maxDigits: 8 }) satisfies CodeDigits;

/**
 * Whether `digits` is a usable setting: whole numbers, `1 <= minDigits <= maxDigits <=`
 * {@link MAX_CODE_DIGITS}.
 */
export function isCodeDigits(digits: CodeDigits): boolean {
  const { minDigits, maxDigits } = digits;
  return (
    Number.isSafeInteger(minDigits) &&
    Number.isSafeInteger(maxDigits) &&
    minDigits >= 1 &&
    minDigits <= maxDigits &&
    maxDigits <= MAX_CODE_DIGITS
  );
}

/**
 * Reads `CODE_DIGITS`: one number (`6`) or a range (`4-8`), from 1 to {@link MAX_CODE_DIGITS}.
 * `undefined` for anything else (`0`, `8-4`, `4-`, `abc`, `13`).
 */
export function readCodeDigits(text: string): CodeDigits | undefined {
  const match = /^([0-9]{1,2})(?:-([0-9]{1,2}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const minDigits = Number(match[1]);
  const maxDigits = match[2] === undefined ? minDigits : Number(match[2]);
  const digits = { minDigits, maxDigits };
  return isCodeDigits(digits) ? digits : undefined;
}

/** `6 digits`, `4 to 8 digits`: for texts that tell operators what a code looks like. */
export function describeCodeDigits(digits: CodeDigits): string {
  return digits.minDigits === digits.maxDigits
    ? `${digits.minDigits} ${digits.minDigits === 1 ? 'digit' : 'digits'}`
    : `${digits.minDigits} to ${digits.maxDigits} digits`;
}
