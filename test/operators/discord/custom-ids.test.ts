import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buttonCustomId,
  MAX_CUSTOM_ID_LENGTH,
  modalCustomId,
  noticeCustomId,
  parseCustomId,
  pickCustomId,
  routeCustomId,
  type PromptCustomId,
} from '../../../src/operators/discord/custom-ids.js';

describe('custom IDs', () => {
  it('round-trips a prompt button and a modal', () => {
    expect(parseCustomId(buttonCustomId('resend', 'login-1'))).toEqual({
      kind: 'button',
      action: 'resend',
      loginId: 'login-1',
    });
    expect(parseCustomId(modalCustomId('a:b'))).toEqual({ kind: 'modal', loginId: 'a:b' });
  });

  it('names the halt a "Try anyway" was offered for, and reads it back', () => {
    const haltAt = Date.parse('2026-11-30T13:00:00.123Z');
    const customId = noticeCustomId('force-login', haltAt);
    expect(customId).toBe(`otp:notice:force-login:${haltAt}`);
    expect(parseCustomId(customId)).toEqual({ kind: 'notice', action: 'force-login', haltAt });
  });

  it('reads a "Try anyway" of an older version, which names no halt', () => {
    expect(noticeCustomId('force-login')).toBe('otp:notice:force-login');
    expect(parseCustomId('otp:notice:force-login')).toEqual({ kind: 'notice', action: 'force-login' });
  });

  it.each([
    'otp:notice:force-login:',
    'otp:notice:force-login:12ab',
    'otp:notice:force-login:-5',
    'otp:notice:force-login:1.5',
    'otp:notice:force-login:99999999999999999',
    'otp:notice:force-login:1:2',
    'otp:notice:other:1',
    'otp:notice:force-login@:1',
    'otp:notice:force-login@Live:1',
    'otp:code@:0a1b2c3d',
    'otp:code@live',
    'otp:code@LIVE:0a1b2c3d',
    'otp:code@live@x:0a1b2c3d',
    'otp:other@live:0a1b2c3d',
    'otp:route:live',
    'otp:route:live:',
    'otp:route::123',
    'otp:route:Live:123',
    'otp:pick:status:live',
    'otp:pick:login',
    'otp:pick:login:live:x',
    'otp:pick:login:a.b',
    'other:code:0a1b2c3d',
    'otp',
  ])('refuses %s', (customId) => {
    expect(parseCustomId(customId)).toBeUndefined();
  });

  it('refuses to make an ID for a time that is not one', () => {
    expect(() => noticeCustomId('force-login', -1)).toThrow(RangeError);
    expect(() => noticeCustomId('force-login', 1.5)).toThrow(RangeError);
  });

  it('refuses to make an ID for an account it cannot carry, or with nothing to name', () => {
    for (const account of ['', 'Live', 'a:b', 'a@b', 'x'.repeat(33), 'demo.1']) {
      expect(() => buttonCustomId('code', '0a1b2c3d', account)).toThrow(RangeError);
      expect(() => routeCustomId(account, '1234')).toThrow(RangeError);
      expect(() => pickCustomId('login', account)).toThrow(RangeError);
    }
    expect(() => buttonCustomId('code', '')).toThrow(RangeError);
    expect(() => routeCustomId('live', '')).toThrow(RangeError);
  });
});

describe('custom IDs of several accounts', () => {
  it('name the account of a prompt’s buttons, its modal and a "Try anyway"', () => {
    expect(buttonCustomId('code', '0a1b2c3d', 'live')).toBe('otp:code@live:0a1b2c3d');
    expect(modalCustomId('0a1b2c3d', 'paper-2')).toBe('otp:modal@paper-2:0a1b2c3d');
    expect(noticeCustomId('force-login', 17, 'live')).toBe('otp:notice:force-login@live:17');
    expect(noticeCustomId('force-login', undefined, 'live')).toBe('otp:notice:force-login@live');
    expect(parseCustomId('otp:cancel@live:0a1b2c3d')).toEqual({
      kind: 'button',
      action: 'cancel',
      loginId: '0a1b2c3d',
      account: 'live',
    });
    expect(parseCustomId('otp:notice:force-login@live')).toEqual({
      kind: 'notice',
      action: 'force-login',
      account: 'live',
    });
  });

  it('still read the prompts sent before the upgrade, which name no account', () => {
    expect(parseCustomId('otp:code:0a1b2c3d')).toEqual({
      kind: 'button',
      action: 'code',
      loginId: '0a1b2c3d',
    });
    expect(parseCustomId('otp:modal:0a1b2c3d')).toEqual({ kind: 'modal', loginId: '0a1b2c3d' });
    expect(parseCustomId('otp:notice:force-login:17')).toEqual({
      kind: 'notice',
      action: 'force-login',
      haltAt: 17,
    });
  });

  it('route a code to an account by the message that held it, and pick a command’s account', () => {
    expect(routeCustomId('paper', '1312345678901234567')).toBe('otp:route:paper:1312345678901234567');
    expect(parseCustomId('otp:route:paper:1312345678901234567')).toEqual({
      kind: 'route',
      account: 'paper',
      inputId: '1312345678901234567',
    });
    expect(pickCustomId('cancel', 'live')).toBe('otp:pick:cancel:live');
    expect(parseCustomId('otp:pick:login:live')).toEqual({ kind: 'pick', command: 'login', account: 'live' });
  });
});

const account = fc.stringMatching(/^[a-z0-9_-]{1,32}$/);
const maybeAccount = fc.option(account, { nil: undefined });
/** Production's login IDs (8 hex digits), and anything else a test or an older version used. */
const loginId = fc.oneof(fc.stringMatching(/^[0-9a-f]{8}$/), fc.string({ minLength: 1, maxLength: 90 }));
/** Discord's message snowflakes, and anything else. */
const inputId = fc.oneof(fc.stringMatching(/^[1-9]\d{16,19}$/), fc.string({ minLength: 1, maxLength: 90 }));

/** What each maker is given, as the parse of its ID must give it back. */
const made: fc.Arbitrary<PromptCustomId> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('button' as const),
      action: fc.constantFrom('code', 'resend', 'cancel' as const),
      loginId,
      account,
    },
    { requiredKeys: ['kind', 'action', 'loginId'] },
  ),
  fc.record({ kind: fc.constant('modal' as const), loginId, account }, { requiredKeys: ['kind', 'loginId'] }),
  fc.record(
    {
      kind: fc.constant('notice' as const),
      action: fc.constant('force-login' as const),
      haltAt: fc.maxSafeNat(),
      account,
    },
    { requiredKeys: ['kind', 'action'] },
  ),
  fc.record({ kind: fc.constant('route' as const), account, inputId }),
  fc.record({
    kind: fc.constant('pick' as const),
    command: fc.constantFrom('login', 'cancel' as const),
    account,
  }),
);

function make(id: PromptCustomId): string {
  switch (id.kind) {
    case 'button':
      return buttonCustomId(id.action, id.loginId, id.account);
    case 'modal':
      return modalCustomId(id.loginId, id.account);
    case 'notice':
      return noticeCustomId(id.action, id.haltAt, id.account);
    case 'route':
      return routeCustomId(id.account, id.inputId);
    case 'pick':
      return pickCustomId(id.command, id.account);
  }
}

describe('every custom ID made', () => {
  it('parses back to what made it, or is refused for its length', () => {
    fc.assert(
      fc.property(made, (id) => {
        let customId: string;
        try {
          customId = make(id);
        } catch (error) {
          // Only a login or input ID longer than production's can make an ID too long.
          expect(error).toBeInstanceOf(RangeError);
          expect((error as Error).message).toMatch(/Discord allows 100/);
          return;
        }
        expect(customId.length).toBeLessThanOrEqual(MAX_CUSTOM_ID_LENGTH);
        expect(parseCustomId(customId)).toEqual(id);
      }),
      { numRuns: 2_000 },
    );
  });

  it('fits Discord’s 100 characters with production’s IDs and the longest account names', () => {
    fc.assert(
      fc.property(
        maybeAccount,
        fc.stringMatching(/^[0-9a-f]{8}$/),
        fc.stringMatching(/^[1-9]\d{16,19}$/),
        fc.maxSafeNat(),
        (name, login, message, haltAt) => {
          const ids = [
            buttonCustomId('resend', login, name),
            modalCustomId(login, name),
            noticeCustomId('force-login', haltAt, name),
            ...(name === undefined ? [] : [routeCustomId(name, message), pickCustomId('cancel', name)]),
          ];
          for (const customId of ids) expect(customId.length).toBeLessThanOrEqual(MAX_CUSTOM_ID_LENGTH);
        },
      ),
    );
  });
});
