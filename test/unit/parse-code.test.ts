import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DEFAULT_CODE_LENGTH, parseCode } from '../../src/operators/parse-code.js';

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
    expect(parseCode(text)).toEqual({ ok: true, code });
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
    expect(parseCode(text)).toEqual({ ok: false, reason });
  });

  it('honours another length', () => {
    expect(parseCode('1234 5678', { length: 8 })).toEqual({ ok: true, code: '12345678' });
    expect(parseCode('123456', { length: 8 })).toEqual({ ok: false, reason: 'wrong-length' });
    expect(parseCode('1234', { length: 4 })).toEqual({ ok: true, code: '1234' });
    expect(parseCode('1234 5678', { length: 4 })).toEqual({ ok: false, reason: 'several-codes' });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses length %d', (length) => {
    expect(() => parseCode('123456', { length })).toThrow(RangeError);
  });

  it('reads any code cut into groups by single spaces or hyphens, whitespace around', () => {
    const example = fc.integer({ min: 1, max: 12 }).chain((length) =>
      codeOf(length).chain((code) =>
        fc.record({
          length: fc.constant(length),
          code: fc.constant(code),
          text: fc.tuple(SURROUNDING, grouped(code), SURROUNDING).map((parts) => parts.join('')),
        }),
      ),
    );
    fc.assert(
      fc.property(example, ({ length, code, text }) => {
        expect(parseCode(text, { length })).toEqual({ ok: true, code });
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
          codeOf(6),
          fc.string({ unit: CODE_LIKE_UNIT, maxLength: 4 }),
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(anyText, fc.constantFrom(4, 6, 8), (text, length) => {
        const result = parseCode(text, { length });
        if (!result.ok) return;
        expect(result.code).toMatch(new RegExp(`^[0-9]{${length}}$`));
        expect(result.code).toBe(asciiDigits(text));
        expect(text).not.toMatch(/\p{L}/u);
        // Nothing but ASCII digits, single spaces and hyphens between them, whitespace around.
        expect(text.trim()).toMatch(/^[0-9]+(?:[ -][0-9]+)*$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('never makes a code out of two codes in one text', () => {
    fc.assert(
      fc.property(
        codeOf(DEFAULT_CODE_LENGTH).chain(grouped),
        codeOf(DEFAULT_CODE_LENGTH).chain(grouped),
        fc.oneof(fc.string({ unit: CODE_LIKE_UNIT, maxLength: 6 }), fc.string({ maxLength: 6 })),
        SURROUNDING,
        (first, second, between, around) => {
          expect(parseCode(`${around}${first}${between}${second}${around}`).ok).toBe(false);
        },
      ),
    );
  });

  it('names two whole codes as several codes', () => {
    fc.assert(
      fc.property(
        codeOf(DEFAULT_CODE_LENGTH),
        codeOf(DEFAULT_CODE_LENGTH),
        fc.string({ unit: CODE_LIKE_UNIT, minLength: 1, maxLength: 6 }).filter((s) => !/[0-9]/.test(s)),
        (first, second, between) => {
          expect(parseCode(`${first}${between}${second}`)).toEqual({ ok: false, reason: 'several-codes' });
        },
      ),
    );
  });
});
