/**
 * The pure parser of an operator's reply: is this text clearly one verification code?
 *
 * A wrong code costs one of the login's few attempts and may lock the account, so the rules are
 * strict and anything in doubt is refused (the Discord glue answers a refusal with a short help):
 *
 * - Surrounding whitespace (any Unicode whitespace, line breaks included) is ignored.
 * - What remains must be one or more groups of ASCII digits `0-9`, neighbouring groups separated
 *   by exactly one ASCII space or one ASCII hyphen-minus `-` (mixing them is fine): `123456`,
 *   `123 456`, `123-456`, `12 34 56`, `1-2-3-4-5-6`.
 * - The digits together must number from `minDigits` to `maxDigits` (`CODE_DIGITS`; 4 to 8 unless
 *   told otherwise: the broker does not document its code's length).
 * - Refused, among others: any letter (`code: 123456`), any other punctuation (`123456.`, `+1 555…`,
 *   `` `123456` ``, `||123456||`), two separators in a row (`123  456`, `123--456`), a leading or
 *   trailing separator (`-123456`), tabs or line breaks between groups, and digits from other
 *   scripts. Full-width `１２３４５６` and Arabic-Indic `١٢٣٤٥٦` digits are refused rather than
 *   converted: codes arrive by SMS in ASCII, and a conversion is one more place to get wrong.
 *
 * Reasons, checked in this order:
 * - `empty`: nothing but whitespace;
 * - `several-codes`: at least two separate runs of digits that each could be a whole code (a length
 *   from `minDigits` to `maxDigits`), whatever else the text holds: `123456 654321`, and with the
 *   default 4 to 8 also `1234 5678` (one 8-digit code, or two of 4? In doubt, refused);
 * - `not-a-code`: anything the grouping rule above does not allow;
 * - `wrong-length`: well-formed digit groups, but too few or too many digits (`123`, `555-123-4567`).
 *
 * What a wide range cannot tell apart: groups that are each shorter than `minDigits` are read as
 * one code (`12-34 56-78` is `12345678` under 4 to 8). Setting the exact length, once it is known,
 * makes every such text that is not one code a `wrong-length`.
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

/** Why a text is not one code; the Discord glue picks its help text from it. */
export const PARSE_CODE_FAILURE_REASONS = ['empty', 'not-a-code', 'several-codes', 'wrong-length'] as const;

/** One of {@link PARSE_CODE_FAILURE_REASONS}. */
export type ParseCodeFailureReason = (typeof PARSE_CODE_FAILURE_REASONS)[number];

/** What {@link parseCode} found. `code` is ASCII digits only, of an accepted length. */
export type ParseCodeResult =
  | { readonly ok: true; readonly code: string }
  | { readonly ok: false; readonly reason: ParseCodeFailureReason };

/** Digit groups, each pair joined by exactly one space or hyphen. Linear: no nested quantifiers overlap. */
const GROUPED_DIGITS = /^[0-9]+(?:[ -][0-9]+)*$/;
const DIGIT_RUNS = /[0-9]+/g;
const SEPARATORS = /[ -]/g;

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

/**
 * Parses an operator's text into one verification code, or says why it is not one.
 *
 * @throws RangeError when `digits` is not a usable setting (see {@link isCodeDigits})
 */
export function parseCode(text: string, digits: CodeDigits = DEFAULT_CODE_DIGITS): ParseCodeResult {
  if (!isCodeDigits(digits)) {
    throw new RangeError(
      `parseCode: digits must be whole numbers with 1 <= minDigits <= maxDigits <= ${MAX_CODE_DIGITS}, got ${digits.minDigits}-${digits.maxDigits}`,
    );
  }
  const { minDigits, maxDigits } = digits;

  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'empty' };

  const wholeCodes = (trimmed.match(DIGIT_RUNS) ?? []).filter(
    (run) => run.length >= minDigits && run.length <= maxDigits,
  );
  if (wholeCodes.length >= 2) return { ok: false, reason: 'several-codes' };

  if (!GROUPED_DIGITS.test(trimmed)) return { ok: false, reason: 'not-a-code' };

  const code = trimmed.replace(SEPARATORS, '');
  if (code.length < minDigits || code.length > maxDigits) return { ok: false, reason: 'wrong-length' };
  return { ok: true, code };
}
