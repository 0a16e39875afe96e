import { describe, expect, it } from 'vitest';
import {
  accountChoices,
  ACTION_LABELS,
  MAX_ACCOUNT_CHOICES,
  noticeActions,
  renderNotice,
  type RenderOptions,
} from '../../src/operators/messages.js';
import { DEFAULT_RENDER_OPTIONS, formatter } from '../../src/operators/text-format.js';
import type { OperatorNotice, StatusView } from '../../src/relay/ports/operators.js';

const expiresAt = new Date('2025-03-05T08:01:00Z');
const haltedAt = new Date('2025-03-04T07:58:00Z');
const names = (id: string): string => `user ${id}`;
const FORMATS = ['discord', 'plain', 'cli'] as const satisfies readonly RenderOptions['format'][];

function status(account: string, overrides?: Partial<StatusView>): StatusView {
  return {
    account,
    token: { generation: 42, expiresAt },
    login: { state: 'none' },
    nextLogin: undefined,
    lastFailure: undefined,
    halted: undefined,
    loginsLastHour: 1,
    maxLoginsPerHour: 4,
    recentLogins: [],
    ...overrides,
  };
}

const ACCOUNT_NOTICES: readonly OperatorNotice[] = [
  {
    kind: 'choose-account',
    question: { kind: 'code', inputId: '1234567890123456789' },
    accounts: ['live', 'paper'],
  },
  { kind: 'choose-account', question: { kind: 'command', command: 'login' }, accounts: ['live', 'paper'] },
  { kind: 'choose-account', question: { kind: 'command', command: 'cancel' }, accounts: ['live', 'paper'] },
  { kind: 'code-routed', account: 'paper' },
  { kind: 'choice-over', why: 'answered' },
  { kind: 'choice-over', why: 'code-gone' },
  { kind: 'unknown-account', account: 'demo', accounts: ['live', 'paper'] },
  { kind: 'unknown-account', account: 'demo', accounts: [] },
  { kind: 'statuses', statuses: [status('live'), status('paper', { token: undefined })] },
  { kind: 'statuses', statuses: [] },
  { kind: 'login-request', result: 'started', account: 'paper' },
  { kind: 'login-request', result: 'halt-confirm', haltAt: 5, account: 'paper' },
];

const render = (notice: OperatorNotice, format: RenderOptions['format'] = 'discord'): string =>
  renderNotice(notice, names, { format });

describe('the notices of several accounts', () => {
  it.each(ACCOUNT_NOTICES.map((notice) => [notice.kind, notice] as const))(
    'renders %s in every format, short and without markup in plain text',
    (_kind, notice) => {
      for (const format of FORMATS) {
        const text = render(notice, format);
        expect(text.length).toBeGreaterThan(10);
        expect(text.length).toBeLessThan(600);
        expect(text).not.toMatch(/undefined|null|NaN|\[object/);
        if (format !== 'discord') expect(text).not.toMatch(/\*\*|<t:|`/);
      }
      // The terminal names words to type, never a button.
      const buttons = new RegExp(`${Object.values(ACTION_LABELS).join('|')}|button|choose|press|DM`);
      expect(render(notice, 'plain')).not.toMatch(buttons);
    },
  );

  it('asks which account a code is for, with a button per account on Discord and the names to type on the terminal', () => {
    const notice = ACCOUNT_NOTICES[0]!;
    expect(render(notice)).toBe(
      '**Several accounts wait for a code**: which is this one for? Press its account below.',
    );
    expect(render(notice, 'plain')).toBe(
      'Several accounts wait for a code: which is this one for? Type its account: "live" or "paper".',
    );
    expect(render(notice, 'cli')).toContain('--account');
    // Nothing of the operator's message is repeated, its ID included.
    for (const format of FORMATS) expect(render(notice, format)).not.toMatch(/\d{4}/);
    expect(accountChoices(notice)).toEqual(['live', 'paper']);
    expect(noticeActions(notice)).toEqual([]);
  });

  it('asks which account a command is for: press one on Discord, type "login <account>" on the terminal', () => {
    const [, login, cancel] = ACCOUNT_NOTICES;
    expect(render(login!)).toBe('**Which account?** Press the one to log in below.');
    expect(render(cancel!)).toBe('**Which account?** Press the one whose login to cancel below.');
    expect(render(login!, 'plain')).toBe(
      'Which account? Type "login <account>", with one of: "live", "paper".',
    );
    expect(render(cancel!, 'plain')).toContain('Type "cancel <account>"');
    expect(accountChoices(login!)).toEqual(['live', 'paper']);
  });

  it('offers at most 25 accounts as choices, and says what to do about the others', () => {
    const accounts = Array.from({ length: 30 }, (_, i) => `account-${i}`);
    const code: OperatorNotice = {
      kind: 'choose-account',
      question: { kind: 'code', inputId: 'm' },
      accounts,
    };
    const login: OperatorNotice = {
      kind: 'choose-account',
      question: { kind: 'command', command: 'login' },
      accounts,
    };
    expect(accountChoices(code)).toEqual(accounts.slice(0, MAX_ACCOUNT_CHOICES));
    expect(MAX_ACCOUNT_CHOICES).toBe(25);
    expect(render(code)).toContain('Not listed? Press **Enter code** on its prompt.');
    expect(render(login)).toContain('Not listed? Use `/login account:<name>`.');
    expect(render({ ...code, accounts: ['a', 'b'] })).not.toContain('Not listed');
  });

  it('offers no choice on any other notice', () => {
    for (const notice of ACCOUNT_NOTICES.filter((n) => n.kind !== 'choose-account')) {
      expect(accountChoices(notice)).toEqual([]);
    }
  });

  it('answers a choice: the code went to that account, or the question is over and why', () => {
    expect(render({ kind: 'code-routed', account: 'paper' })).toBe(
      'The code goes to the login of account `paper`: its prompt shows the result.',
    );
    expect(render({ kind: 'choice-over', why: 'answered' })).toContain('already answered');
    const gone = render({ kind: 'choice-over', why: 'code-gone' });
    expect(gone).toMatch(/^Nothing was sent: the relay no longer holds that code/);
    expect(gone).toContain('press **Enter code**');
    expect(render({ kind: 'choice-over', why: 'code-gone' }, 'plain')).toContain('Type it again.');
  });

  it('names an unknown account and the operator’s own', () => {
    expect(render({ kind: 'unknown-account', account: 'demo', accounts: ['live', 'paper'] })).toBe(
      'No account `demo` is yours here, so nothing was done. Yours: `live`, `paper`.',
    );
    expect(render({ kind: 'unknown-account', account: 'demo', accounts: [] }, 'plain')).toContain(
      'You are an operator of no account here.',
    );
  });

  it('names the account of a /login answer when the hub gives one, and only then', () => {
    expect(render({ kind: 'login-request', result: 'started', account: 'paper' })).toBe(
      `**Account \`paper\`**: ${render({ kind: 'login-request', result: 'started' })}`,
    );
    expect(render({ kind: 'login-request', result: 'started' }, 'plain')).toMatch(/^Login started/);
  });
});

describe('/status of several accounts', () => {
  it('gives each account one line, its name first: token, login state and halt', () => {
    const text = render({
      kind: 'statuses',
      statuses: [
        status('live', { login: { state: 'awaiting-code', deadline: expiresAt, attemptsUsed: 1 } }),
        status('paper', { token: undefined, halted: { error: 'bad-pin', at: haltedAt } }),
        status('demo', { login: { state: 'exchanging' } }),
      ],
    });
    const t = Math.floor(expiresAt.getTime() / 1000);
    expect(text.split('\n')).toEqual([
      '**Status of 3 accounts**',
      `**\`live\`**: token 42 (expiry <t:${t}:R>); waiting for a code.`,
      '**`paper`**: no token; no login; **halted**: security PIN refused.',
      `**\`demo\`**: token 42 (expiry <t:${t}:R>); checking a code.`,
      "For one account's details, use `/status account:<account>`.",
    ]);
  });

  it('in plain text, shows times in UTC and says what to type', () => {
    const text = render(
      { kind: 'statuses', statuses: [status('live', { login: { state: 'starting' } })] },
      'plain',
    );
    expect(text.split('\n')).toEqual([
      'Status of 1 account',
      '"live": token 42 (expiry 2025-03-05 08:01 UTC); login starting.',
      `For one account's details, type "status <account>".`,
    ]);
  });

  it('fits 20 busy accounts of usual names in one Discord message', () => {
    const statuses = Array.from({ length: 20 }, (_, i) =>
      status(`account-number-${String(i).padStart(2, '0')}`, {
        token: { generation: 10_000 + i, expiresAt },
        login: { state: 'awaiting-code', deadline: expiresAt, attemptsUsed: 2 },
        ...(i % 4 === 0 ? { halted: { error: 'bad-credentials', at: haltedAt } } : {}),
      }),
    );
    const text = render({ kind: 'statuses', statuses });
    expect(text.split('\n')).toHaveLength(22);
    expect(text.length).toBeLessThan(2000);
  });

  it('shows an unknown login state as it is, never as markup', () => {
    expect(
      render({ kind: 'statuses', statuses: [status('live', { login: { state: 'we*ird' } })] }),
    ).toContain('login `we*ird`');
  });
});

describe('commands for one account', () => {
  it('are written as Discord shows them, as the terminal takes them, and as the CLI tells of them', () => {
    const of = (format: RenderOptions['format']) => formatter({ ...DEFAULT_RENDER_OPTIONS, format: format! });
    expect(of('discord').useCommand('login', 'paper')).toBe('use `/login account:paper`');
    expect(of('plain').useCommand('cancel', 'paper')).toBe('type "cancel paper"');
    expect(of('cli').useCommand('status', 'paper')).toBe('use /status account:paper on Discord');
    expect(of('discord').useCommand('login')).toBe('use `/login`');
  });
});
