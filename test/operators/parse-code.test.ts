import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { parseCode } from '../../src/operators/parse-code.js';
import {
  DEFAULT_CODE_DIGITS,
  MAX_CODE_DIGITS,
  describeCodeDigits,
  readCodeDigits,
  type CodeDigits,
} from '../../src/domain/code-digits.js';

const ASCII_DIGIT = fc.constantFrom(...'0123456789');
/** Whitespace `String.prototype.trim` removes, line breaks and non-ASCII spaces included. */
const SURROUNDING = fc.constantFrom('', ' ', '  ', '\n', '\t', ' \r\n ', '\u00a0', '\u3000', '\u2003');
/** Characters that make a text look almost like a code: the cases that matter. */
const CODE_LIKE_UNIT = fc.constantFrom(...'0123456789 -\t\n.,:;+#/()aZcodeé１٣۴०', '\u00a0', '\u200b');

/** A code of `length` ASCII digits. */
function codeOf(length: number): fc.Arbitrary<string> {
  return fc.array(ASCII_DIGIT, { minLength: length, maxLength: length }).map((digits) => digits.join(''));
}

/** `code` cut into groups at random places, each cut marked by one space or one hyphen. */
function grouped(code: string): fc.Arbitrary<string> {
  return fc
    .array(fc.constantFrom('', ' ', '-'), { minLength: code.length - 1, maxLength: code.length - 1 })
    .map((cuts) => [...code].map((digit, i) => digit + (cuts[i] ?? '')).join(''));
}

const asciiDigits = (text: string): string => text.replace(/[^0-9]/g, '');

/** The tables below were written for 6-digit codes: pinned, as `CODE_DIGITS=6` does. */
const SIX: CodeDigits = { minDigits: 6, maxDigits: 6 };

/** Settings the properties run under: pinned lengths, narrow and wide ranges, the extremes. */
const RANGES: readonly CodeDigits[] = [
  DEFAULT_CODE_DIGITS,
  SIX,
  { minDigits: 8, maxDigits: 8 },
  { minDigits: 5, maxDigits: 7 },
  { minDigits: 4, maxDigits: 4 },
  { minDigits: 1, maxDigits: MAX_CODE_DIGITS },
  { minDigits: 10, maxDigits: MAX_CODE_DIGITS },
];

const range = fc.constantFrom(...RANGES);

/** A code whose length is within `digits`. */
function codeWithin(digits: CodeDigits): fc.Arbitrary<string> {
  return fc.integer({ min: digits.minDigits, max: digits.maxDigits }).chain(codeOf);
}

/** Text between two codes: not empty, and no digit (a digit would make the two runs one). */
const BETWEEN = fc
  .oneof(
    fc.string({ unit: CODE_LIKE_UNIT, minLength: 1, maxLength: 6 }),
    fc.string({ minLength: 1, maxLength: 6 }),
  )
  .filter((text) => !/[0-9]/.test(text));

const runsOf = (text: string): string[] => text.match(/[0-9]+/g) ?? [];
const within = (digits: CodeDigits, run: string): boolean =>
  run.length >= digits.minDigits && run.length <= digits.maxDigits;

describe('parseCode', () => {
  it.each([
    ['123456', '123456'],
    ['123 456', '123456'],
    ['123-456', '123456'],
    ['  123456  ', '123456'],
    ['\n123 456\n', '123456'],
    ['\u00a0123-456\u3000', '123456'],
    ['12 34 56', '123456'],
    ['12-34-56', '123456'],
    ['1 2 3 4 5 6', '123456'],
    ['12-34 56', '123456'],
    ['000000', '000000'],
    ['012345', '012345'],
  ])('reads %j as %j', (text, code) => {
    expect(parseCode(text, SIX)).toEqual({ ok: true, code });
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['\n\t', 'empty'],
    ['123456 654321', 'several-codes'],
    ['123456\n654321', 'several-codes'],
    ['123456, 654321', 'several-codes'],
    ['123456 or 654321', 'several-codes'],
    ['123456-654321', 'several-codes'],
    ['12345', 'wrong-length'],
    ['1234567', 'wrong-length'],
    ['123 4567', 'wrong-length'],
    ['555-123-4567', 'wrong-length'],
    ['123 456 654 321', 'wrong-length'],
    ['123456654321', 'wrong-length'],
    ['123456 12', 'wrong-length'],
    ['code: 123456', 'not-a-code'],
    ['code 123456', 'not-a-code'],
    ['123456 thanks', 'not-a-code'],
    ['123456.', 'not-a-code'],
    ['123.456', 'not-a-code'],
    ['123,456', 'not-a-code'],
    ['123_456', 'not-a-code'],
    ['123/456', 'not-a-code'],
    ['+1 555 123 4567', 'not-a-code'],
    ['(555) 123-4567', 'not-a-code'],
    ['123  456', 'not-a-code'],
    ['123--456', 'not-a-code'],
    ['123 - 456', 'not-a-code'],
    ['-123456', 'not-a-code'],
    ['123456-', 'not-a-code'],
    ['123\t456', 'not-a-code'],
    ['123\n456', 'not-a-code'],
    ['123\u00a0456', 'not-a-code'],
    ['123\u2013456', 'not-a-code'],
    ['`123456`', 'not-a-code'],
    ['||123456||', 'not-a-code'],
    ['１２３４５６', 'not-a-code'],
    ['١٢٣٤٥٦', 'not-a-code'],
    ['123\u200b456', 'not-a-code'],
    ['hello', 'not-a-code'],
    ['one two three', 'not-a-code'],
    ['-', 'not-a-code'],
    ['1e5', 'not-a-code'],
  ])('refuses %j: %s', (text, reason) => {
    expect(parseCode(text, SIX)).toEqual({ ok: false, reason });
  });

  it('takes any one run of 4 to 8 digits by default (CODE_DIGITS=4-8)', () => {
    expect(DEFAULT_CODE_DIGITS).toEqual({ minDigits: 4, maxDigits: 8 });
    for (const code of ['1234', '12345', '123456', '1234567', '12345678']) {
      expect(parseCode(code)).toEqual({ ok: true, code });
    }
    // The 8-digit code of issue 10, which the 6-digit parser refused as "wrong length".
    expect(parseCode('48291735')).toEqual({ ok: true, code: '48291735' });
    expect(parseCode('482-91-735')).toEqual({ ok: true, code: '48291735' });
    expect(parseCode('123')).toEqual({ ok: false, reason: 'wrong-length' });
    expect(parseCode('123456789')).toEqual({ ok: false, reason: 'wrong-length' });
    expect(parseCode('555-123-4567')).toEqual({ ok: false, reason: 'wrong-length' });
    // One 8-digit code, or two 4-digit ones? In doubt, refused.
    expect(parseCode('1234 5678')).toEqual({ ok: false, reason: 'several-codes' });
    expect(parseCode('12 345678')).toEqual({ ok: true, code: '12345678' });
  });

  it('honours a pinned length and a narrow range', () => {
    const eight = { minDigits: 8, maxDigits: 8 };
    expect(parseCode('1234 5678', eight)).toEqual({ ok: true, code: '12345678' });
    expect(parseCode('123456', eight)).toEqual({ ok: false, reason: 'wrong-length' });
    expect(parseCode('1234', { minDigits: 4, maxDigits: 4 })).toEqual({ ok: true, code: '1234' });
    expect(parseCode('1234 5678', { minDigits: 4, maxDigits: 4 })).toEqual({
      ok: false,
      reason: 'several-codes',
    });
    const fiveToSeven = { minDigits: 5, maxDigits: 7 };
    expect(parseCode('1234', fiveToSeven)).toEqual({ ok: false, reason: 'wrong-length' });
    expect(parseCode('12345', fiveToSeven)).toEqual({ ok: true, code: '12345' });
    expect(parseCode('1234 567', fiveToSeven)).toEqual({ ok: true, code: '1234567' });
    expect(parseCode('12345678', fiveToSeven)).toEqual({ ok: false, reason: 'wrong-length' });
  });

  it.each([
    { minDigits: 0, maxDigits: 6 },
    { minDigits: -1, maxDigits: 6 },
    { minDigits: 8, maxDigits: 4 },
    { minDigits: 1.5, maxDigits: 6 },
    { minDigits: 4, maxDigits: MAX_CODE_DIGITS + 1 },
    { minDigits: Number.NaN, maxDigits: 6 },
    { minDigits: 4, maxDigits: Number.POSITIVE_INFINITY },
  ])('refuses the setting %o', (digits) => {
    expect(() => parseCode('123456', digits)).toThrow(RangeError);
  });

  it('reads any code of an accepted length cut into groups by single spaces or hyphens, whitespace around, unless two groups could each be a code', () => {
    const example = range.chain((digits) =>
      codeWithin(digits).chain((code) =>
        fc.record({
          digits: fc.constant(digits),
          code: fc.constant(code),
          body: grouped(code),
          around: fc.tuple(SURROUNDING, SURROUNDING),
        }),
      ),
    );
    fc.assert(
      fc.property(example, ({ digits, code, body, around }) => {
        const text = `${around[0]}${body}${around[1]}`;
        const ambiguous = runsOf(body).filter((run) => within(digits, run)).length >= 2;
        expect(parseCode(text, digits)).toEqual(
          ambiguous ? { ok: false, reason: 'several-codes' } : { ok: true, code },
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('reads every code written whole, and with groups shorter than the shortest code', () => {
    const example = range.chain((digits) =>
      codeWithin(digits).chain((code) =>
        fc.record({
          digits: fc.constant(digits),
          code: fc.constant(code),
          // Cut at least every minDigits - 1 digits: no group is a whole code on its own.
          text: fc
            .array(fc.constantFrom(' ', '-'), { minLength: code.length, maxLength: code.length })
            .map((cuts) =>
              [...code]
                .map(
                  (digit, i) =>
                    digit +
                    ((i + 1) % Math.max(1, digits.minDigits - 1) === 0 && i < code.length - 1 ? cuts[i] : ''),
                )
                .join(''),
            ),
        }),
      ),
    );
    fc.assert(
      fc.property(example, ({ digits, code, text }) => {
        expect(parseCode(code, digits)).toEqual({ ok: true, code });
        if (digits.minDigits > 1) expect(parseCode(text, digits)).toEqual({ ok: true, code });
      }),
    );
  });

  it('never makes a code out of text that is not one', () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: CODE_LIKE_UNIT, maxLength: 20 }),
      fc
        .tuple(
          fc.string({ unit: CODE_LIKE_UNIT, maxLength: 4 }),
          fc.integer({ min: 1, max: MAX_CODE_DIGITS }).chain(codeOf),
          fc.string({ unit: CODE_LIKE_UNIT, maxLength: 4 }),
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(anyText, range, (text, digits) => {
        const result = parseCode(text, digits);
        if (!result.ok) return;
        expect(result.code).toMatch(new RegExp(`^[0-9]{${digits.minDigits},${digits.maxDigits}}$`));
        expect(result.code).toBe(asciiDigits(text));
        expect(text).not.toMatch(/\p{L}/u);
        // Nothing but ASCII digits, single spaces and hyphens between them, whitespace around.
        expect(text.trim()).toMatch(/^[0-9]+(?:[ -][0-9]+)*$/);
        // And never two runs that could each be a code.
        expect(runsOf(text).filter((run) => within(digits, run)).length).toBeLessThan(2);
      }),
      { numRuns: 3000 },
    );
  });

  it('never makes a code out of two codes written whole, whatever is between them', () => {
    fc.assert(
      fc.property(
        range.chain((digits) => fc.tuple(fc.constant(digits), codeWithin(digits), codeWithin(digits))),
        BETWEEN,
        SURROUNDING,
        ([digits, first, second], between, around) => {
          expect(parseCode(`${around}${first}${between}${second}${around}`, digits)).toEqual({
            ok: false,
            reason: 'several-codes',
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never makes a code out of two grouped codes, unless they are joined by one space, one hyphen or nothing', () => {
    fc.assert(
      fc.property(
        range.chain((digits) =>
          fc.tuple(fc.constant(digits), codeWithin(digits).chain(grouped), codeWithin(digits).chain(grouped)),
        ),
        BETWEEN.filter((text) => text !== ' ' && text !== '-'),
        SURROUNDING,
        ([digits, first, second], between, around) => {
          expect(parseCode(`${around}${first}${between}${second}${around}`, digits).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never makes a code out of two grouped codes at all when two codes are longer than the longest', () => {
    // 6, 8, 5-7, 4 and 10-12: two of the shortest codes already have too many digits for one.
    const narrow = RANGES.filter((digits) => 2 * digits.minDigits > digits.maxDigits);
    expect(narrow.length).toBeGreaterThanOrEqual(4);
    fc.assert(
      fc.property(
        fc
          .constantFrom(...narrow)
          .chain((digits) =>
            fc.tuple(
              fc.constant(digits),
              codeWithin(digits).chain(grouped),
              codeWithin(digits).chain(grouped),
            ),
          ),
        fc.oneof(fc.constantFrom('', ' ', '-'), BETWEEN),
        SURROUNDING,
        ([digits, first, second], between, around) => {
          expect(parseCode(`${around}${first}${between}${second}${around}`, digits).ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('readCodeDigits (CODE_DIGITS)', () => {
  it.each([
    ['6', { minDigits: 6, maxDigits: 6 }],
    ['4-8', { minDigits: 4, maxDigits: 8 }],
    ['5-7', { minDigits: 5, maxDigits: 7 }],
    [' 8 ', { minDigits: 8, maxDigits: 8 }],
    ['1-12', { minDigits: 1, maxDigits: 12 }],
    ['6-6', { minDigits: 6, maxDigits: 6 }],
    ['06', { minDigits: 6, maxDigits: 6 }],
  ])('reads %j', (text, digits) => {
    expect(readCodeDigits(text)).toEqual(digits);
  });

  it.each([
    '',
    '0',
    '0-6',
    '8-4',
    'abc',
    '4-',
    '-4',
    '13',
    '4-13',
    '100',
    '4 - 8',
    '4..8',
    '4-8-9',
    '6.5',
    '+6',
    '４',
  ])('refuses %j', (text) => {
    expect(readCodeDigits(text)).toBeUndefined();
  });

  it('describes a setting in words', () => {
    expect(describeCodeDigits({ minDigits: 6, maxDigits: 6 })).toBe('6 digits');
    expect(describeCodeDigits({ minDigits: 4, maxDigits: 8 })).toBe('4 to 8 digits');
  });
});
