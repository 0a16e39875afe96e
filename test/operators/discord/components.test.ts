import { describe, expect, it } from 'vitest';
import { codeModal, noticeComponents, promptComponents } from '../../../src/operators/discord/components.js';

/** The custom IDs of components' buttons, row by row. */
function customIds(rows: ReturnType<typeof noticeComponents>): string[][] {
  return rows.map((row) =>
    row.toJSON().components.map((button) => ('custom_id' in button ? button.custom_id : '')),
  );
}

describe('components of several accounts', () => {
  it('name the prompt’s account in its buttons and its modal, unless no custom ID can carry it', () => {
    expect(customIds(promptComponents('0a1b2c3d', ['code', 'cancel'], 'live'))).toEqual([
      ['otp:code@live:0a1b2c3d', 'otp:cancel@live:0a1b2c3d'],
    ]);
    expect(customIds(promptComponents('0a1b2c3d', ['resend'], 'Main.Account'))).toEqual([
      ['otp:resend:0a1b2c3d'],
    ]);
    expect(customIds(promptComponents('0a1b2c3d', ['resend']))).toEqual([['otp:resend:0a1b2c3d']]);
    const digits = { minDigits: 6, maxDigits: 6 };
    expect(codeModal('0a1b2c3d', digits, 'live').toJSON().custom_id).toBe('otp:modal@live:0a1b2c3d');
    expect(codeModal('0a1b2c3d', digits, 'Main.Account').toJSON().custom_id).toBe('otp:modal:0a1b2c3d');
  });

  it('give "Try anyway" the account of its answer', () => {
    expect(
      customIds(
        noticeComponents({ kind: 'login-request', result: 'halt-confirm', haltAt: 5, account: 'paper' }),
      ),
    ).toEqual([['otp:notice:force-login@paper:5']]);
    expect(customIds(noticeComponents({ kind: 'login-request', result: 'halt-confirm', haltAt: 5 }))).toEqual(
      [['otp:notice:force-login:5']],
    );
  });

  it('offer one button per account under a question, labelled with its name, in rows of five', () => {
    const accounts = ['a', 'b', 'c', 'd', 'e', 'f'];
    const rows = noticeComponents({
      kind: 'choose-account',
      question: { kind: 'command', command: 'cancel' },
      accounts,
    });
    expect(customIds(rows)).toEqual([
      [
        'otp:pick:cancel:a',
        'otp:pick:cancel:b',
        'otp:pick:cancel:c',
        'otp:pick:cancel:d',
        'otp:pick:cancel:e',
      ],
      ['otp:pick:cancel:f'],
    ]);
    expect(
      rows.flatMap((row) => row.toJSON().components.map((button) => ('label' in button ? button.label : ''))),
    ).toEqual(accounts);
  });

  it('leave out a button whose custom ID cannot be made, rather than fail the notice', () => {
    const rows = noticeComponents({
      kind: 'choose-account',
      question: { kind: 'code', inputId: '9'.repeat(80) },
      accounts: ['a', 'a-much-longer-account-name'],
    });
    expect(customIds(rows)).toEqual([[`otp:route:a:${'9'.repeat(80)}`]]);
    expect(
      noticeComponents({
        kind: 'choose-account',
        question: { kind: 'code', inputId: '1' },
        accounts: ['Bad.Name'],
      }),
    ).toEqual([]);
  });
});
