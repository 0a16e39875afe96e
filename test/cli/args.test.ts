import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DEFAULT_TIMEOUT_MS, parseCliArgs, USAGE } from '../../src/cli/args.js';

/** Words that make an argv look almost right: the cases that matter. */
const WORD = fc.oneof(
  fc.constantFrom(
    'code',
    'help',
    '--account',
    '--account=paper',
    '--timeout',
    '--timeout=5s',
    '--timeout=0s',
    '--timeout=11m',
    '-h',
    '--help',
    '--help=yes',
    '--',
    '-',
    '-1234',
    '--123456',
    '123456',
    '123 456',
    '30s',
    'default',
    '',
  ),
  fc.string(),
  fc.stringMatching(/^-{0,2}[a-z0-9=-]{0,12}$/),
);

describe('parseCliArgs', () => {
  it('takes `code <CODE>`, with the default time-out and no account', () => {
    expect(parseCliArgs(['code', '123456'])).toEqual({
      ok: true,
      command: { kind: 'code', text: '123456', account: undefined, timeoutMs: DEFAULT_TIMEOUT_MS },
    });
  });

  it('joins a code given in several words, as typed unquoted: `code 123 456`', () => {
    expect(parseCliArgs(['code', '123', '456'])).toMatchObject({ ok: true, command: { text: '123 456' } });
  });

  it('takes --account and --timeout, before or after the code', () => {
    expect(parseCliArgs(['--account', 'paper', 'code', '123456', '--timeout', '2m'])).toEqual({
      ok: true,
      command: { kind: 'code', text: '123456', account: 'paper', timeoutMs: 120_000 },
    });
    expect(parseCliArgs(['code', '--account=live', '123456'])).toMatchObject({
      ok: true,
      command: { account: 'live', text: '123456' },
    });
  });

  it('answers --help, -h and `help` with the help', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['code', '123456', '--help']]) {
      expect(parseCliArgs(argv)).toEqual({ ok: true, command: { kind: 'help' } });
    }
    expect(USAGE).toContain('otp-relay code <CODE> [--account NAME]');
  });

  it.each([
    [[], /no command/],
    [['login'], /unknown command/],
    [['code'], /the code is missing/],
    [['code', ' '], /the code is missing/],
    [['code', '123456', '--timeout', '0s'], /--timeout takes a duration from 1s to 10m/],
    [['code', '123456', '--timeout', '11m'], /--timeout/],
    [['code', '123456', '--timeout', '30'], /--timeout/],
    [['code', '123456', '--account'], /take a value/],
    [['code', '123456', '--acount', 'paper'], /unknown option/],
  ])('refuses %j with a usage message', (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it('never quotes an argument back: any of them may be the code', () => {
    for (const argv of [
      ['code', '-123456'],
      ['code', '--123456'],
      ['--timeout', '123456', 'code'],
      ['code', '123456', '--timeout=987654'],
    ]) {
      const parsed = parseCliArgs(argv);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).not.toMatch(/123456|987654/);
    }
  });

  it('takes any argv or refuses it with a usage message that quotes none of it, and never throws', () => {
    fc.assert(
      fc.property(fc.array(WORD, { maxLength: 6 }), (argv) => {
        const parsed = parseCliArgs(argv);
        if (parsed.ok) {
          if (parsed.command.kind === 'code') {
            expect(parsed.command.text.trim()).not.toBe('');
            expect(parsed.command.timeoutMs).toBeGreaterThanOrEqual(1_000);
            expect(parsed.command.timeoutMs).toBeLessThanOrEqual(600_000);
          }
          return;
        }
        expect(parsed.message.length).toBeGreaterThan(0);
        // No digit run of the argv's (a code is 4 to 12 digits) comes back in the message.
        for (const run of argv.join(' ').match(/[0-9]{4,}/g) ?? []) expect(parsed.message).not.toContain(run);
      }),
      { numRuns: 2_000 },
    );
  });
});
