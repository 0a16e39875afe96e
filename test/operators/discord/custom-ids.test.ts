import { describe, expect, it } from 'vitest';
import {
  buttonCustomId,
  modalCustomId,
  noticeCustomId,
  parseCustomId,
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
  ])('refuses %s', (customId) => {
    expect(parseCustomId(customId)).toBeUndefined();
  });

  it('refuses to make an ID for a time that is not one', () => {
    expect(() => noticeCustomId('force-login', -1)).toThrow(RangeError);
    expect(() => noticeCustomId('force-login', 1.5)).toThrow(RangeError);
  });
});
