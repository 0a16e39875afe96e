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
 * - The digits together must be exactly `length` long (6 unless told otherwise).
 * - Refused, among others: any letter (`code: 123456`), any other punctuation (`123456.`, `+1 555…`,
 *   `` `123456` ``, `||123456||`), two separators in a row (`123  456`, `123--456`), a leading or
 *   trailing separator (`-123456`), tabs or line breaks between groups, and digits from other
 *   scripts. Full-width `１２３４５６` and Arabic-Indic `١٢٣٤٥٦` digits are refused rather than
 *   converted: codes arrive by SMS in ASCII, and a conversion is one more place to get wrong.
 *
 * Reasons, checked in this order:
 * - `empty`: nothing but whitespace;
 * - `several-codes`: at least two separate runs of exactly `length` digits (`123456 654321`,
 *   `123456 or 654321`), whatever else the text holds;
 * - `not-a-code`: anything the grouping rule above does not allow;
 * - `wrong-length`: well-formed digit groups, but too few or too many digits (`12345`, `555-123-4567`).
 */

/** How long a code is unless the caller says otherwise. */
export const DEFAULT_CODE_LENGTH = 6;

/** Why a text is not one code; the Discord glue picks its help text from it. */
export const PARSE_CODE_FAILURE_REASONS = ['empty', 'not-a-code', 'several-codes', 'wrong-length'] as const;

/** One of {@link PARSE_CODE_FAILURE_REASONS}. */
export type ParseCodeFailureReason = (typeof PARSE_CODE_FAILURE_REASONS)[number];

/** What {@link parseCode} found. `code` is ASCII digits only, exactly the expected length. */
export type ParseCodeResult =
  | { readonly ok: true; readonly code: string }
  | { readonly ok: false; readonly reason: ParseCodeFailureReason };

/** Options of {@link parseCode}. */
export interface ParseCodeOptions {
  /** Digits in a code; a positive integer, {@link DEFAULT_CODE_LENGTH} when omitted. */
  readonly length?: number;
}

/** Digit groups, each pair joined by exactly one space or hyphen. Linear: no nested quantifiers overlap. */
const GROUPED_DIGITS = /^[0-9]+(?:[ -][0-9]+)*$/;
const DIGIT_RUNS = /[0-9]+/g;
const SEPARATORS = /[ -]/g;

/**
 * Parses an operator's text into one verification code, or says why it is not one.
 *
 * @throws RangeError when `options.length` is not a positive integer
 */
export function parseCode(text: string, options: ParseCodeOptions = {}): ParseCodeResult {
  const length = options.length ?? DEFAULT_CODE_LENGTH;
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(`parseCode: length must be a positive integer, got ${length}`);
  }

  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'empty' };

  const fullCodes = (trimmed.match(DIGIT_RUNS) ?? []).filter((run) => run.length === length);
  if (fullCodes.length >= 2) return { ok: false, reason: 'several-codes' };

  if (!GROUPED_DIGITS.test(trimmed)) return { ok: false, reason: 'not-a-code' };

  const code = trimmed.replace(SEPARATORS, '');
  if (code.length !== length) return { ok: false, reason: 'wrong-length' };
  return { ok: true, code };
}
