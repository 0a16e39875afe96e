import { describe, expect, it } from 'vitest';
import type { BrokerErrorKind } from '../../src/domain/broker-errors.js';
import { FATAL_BROKER_ERROR_KINDS, TRANSIENT_BROKER_ERROR_KINDS } from '../../src/domain/broker-errors.js';
import {
  ACTION_LABELS,
  NOTICE_ACTION_LABELS,
  noticeActions,
  renderNotice,
  renderPrompt,
  type RenderOptions,
} from '../../src/operators/messages.js';
import { parseCode } from '../../src/operators/parse-code.js';
import { codeExamples, exampleCode } from '../../src/operators/text-format.js';
import type { OperatorNotice, PromptState, PromptView, StatusView } from '../../src/relay/ports/operators.js';
import type { LoginReason } from '../../src/domain/vocabulary.js';

const deadline = new Date('2025-03-04T08:05:30Z');
const expiresAt = new Date('2025-03-05T08:01:00Z');
const nextLoginAt = new Date('2025-03-05T12:30:00Z');
const names = (id: string): string => ({ u1: 'Alice', u2: 'Bob' })[id] ?? `user ${id}`;

function view(state: PromptState, reason: LoginReason = 'renewal'): PromptView {
  return { loginId: 'login-1', account: 'main', reason, deadline, state };
}

const ALL_ERRORS: readonly BrokerErrorKind[] = [
  'bad-credentials',
  'bad-app-key',
  'password-expired',
  'pin-required',
  'bad-pin',
  'unexpected-answer',
  'network',
  'timeout',
  'server-error',
  'rate-limited',
];

const STATES: readonly { state: PromptState; actions: readonly string[] }[] = [
  { state: { kind: 'open', attemptsLeft: 3 }, actions: ['code', 'resend', 'cancel'] },
  { state: { kind: 'checking', operatorId: 'u1' }, actions: [] },
  { state: { kind: 'succeeded', operatorId: 'u1', expiresAt }, actions: [] },
  { state: { kind: 'rejected', operatorId: 'u2', interimSpent: false }, actions: ['resend'] },
  { state: { kind: 'rejected', operatorId: 'u2', interimSpent: true }, actions: ['resend'] },
  { state: { kind: 'expired' }, actions: ['resend'] },
  { state: { kind: 'cancelled', operatorId: 'u2' }, actions: ['resend'] },
  ...ALL_ERRORS.map((error) => {
    const fatal = FATAL_BROKER_ERROR_KINDS.has(error);
    return { state: { kind: 'failed', error, fatal } as const, actions: fatal ? [] : ['resend'] };
  }),
];

const NOTICES: readonly OperatorNotice[] = [
  { kind: 'help' },
  { kind: 'code-received' },
  { kind: 'code-rejected', attemptsLeft: 2 },
  { kind: 'code-rejected', attemptsLeft: 1 },
  { kind: 'code-rejected', attemptsLeft: 0 },
  { kind: 'logged-in', account: 'main', expiresAt },
  { kind: 'no-pending-login' },
  { kind: 'stale-code', promptSentAt: deadline },
  { kind: 'code-already-tried' },
  { kind: 'no-attempts-left' },
  { kind: 'input-not-taken' },
  { kind: 'login-abandoned', account: 'main', why: 'another-login' },
  { kind: 'login-abandoned', account: 'main', why: 'lock-lost' },
  { kind: 'login-abandoned', account: 'main', why: 'store-unavailable' },
  { kind: 'busy', operatorId: 'u1' },
  { kind: 'prompt-inactive' },
  ...ALL_ERRORS.map(
    (error) =>
      ({ kind: 'login-failed', account: 'main', error, fatal: FATAL_BROKER_ERROR_KINDS.has(error) }) as const,
  ),
  { kind: 'login-deferred', account: 'main', reason: 'renewal', nextAllowedAt: deadline, retrying: true },
  {
    kind: 'login-deferred',
    account: 'main',
    reason: 'bot-request',
    nextAllowedAt: deadline,
    retrying: false,
  },
  { kind: 'expiry-warning', account: 'main', expiresAt, nextLoginAt },
  { kind: 'login-request', result: 'started' },
  { kind: 'login-request', result: 'already-running' },
  { kind: 'login-request', result: 'halted' },
  { kind: 'login-request', result: 'halt-confirm', haltError: 'bad-credentials' },
  { kind: 'login-request', result: 'halt-confirm' },
  { kind: 'login-request', result: 'rate-limited', nextAllowedAt: deadline },
  { kind: 'login-request', result: 'rate-limited' },
  { kind: 'cancel-request', cancelled: true },
  { kind: 'cancel-request', cancelled: false },
];

const endedAt = new Date('2025-03-04T07:58:00Z');

/** A quiet relay: no token yet, nothing under way, nothing planned. */
const EMPTY_STATUS: StatusView = {
  account: 'main',
  token: undefined,
  login: { state: 'none' },
  nextLogin: undefined,
  lastFailure: undefined,
  halted: undefined,
  loginsLastHour: 0,
  maxLoginsPerHour: 4,
  recentLogins: [],
};

/** A busy relay: every optional part of the view filled in. */
const FULL_STATUS: StatusView = {
  account: 'main',
  token: { generation: 42, expiresAt },
  login: { state: 'awaiting-code', reason: 'renewal', deadline, attemptsUsed: 1 },
  nextLogin: { at: nextLoginAt, reason: 'schedule' },
  lastFailure: { reason: 'code-rejected', at: endedAt },
  halted: { error: 'bad-app-key', at: endedAt },
  loginsLastHour: 2,
  maxLoginsPerHour: 4,
  recentLogins: [
    { reason: 'renewal', outcome: 'succeeded', operatorId: 'u1', attempts: 1, endedAt },
    { reason: 'bot-request', outcome: 'rejected', operatorId: 'u2', attempts: 3, endedAt },
    { reason: 'startup', outcome: 'expired', attempts: 0, endedAt },
    { reason: 'operator-request', outcome: 'cancelled', operatorId: 'u2', attempts: 0, endedAt },
    { reason: 'schedule', outcome: 'failed', attempts: 0, endedAt },
    { reason: 'token-invalid', outcome: 'succeeded', operatorId: 'u1', attempts: 2, endedAt },
  ],
};

/** Every login state `/status` can show, and the words that must say it. */
const LOGIN_LINES: readonly { login: StatusView['login']; words: readonly string[] }[] = [
  { login: { state: 'none' }, words: ['Login: none under way'] },
  { login: { state: 'starting', reason: 'operator-request' }, words: ['Login: operator request, starting'] },
  {
    login: { state: 'awaiting-code', reason: 'renewal', deadline, attemptsUsed: 2 },
    words: ['Login: renewal, waiting for a code until 08:05:30 UTC, 2 codes tried.'],
  },
  { login: { state: 'exchanging', reason: 'schedule' }, words: ['Login: planned, checking a code'] },
  {
    login: { state: 'ended', reason: 'renewal', outcome: 'expired' },
    words: ['none under way; the last one: no code in time (renewal).'],
  },
  { login: { state: 'ended' }, words: ['none under way; the last one: ended.'] },
  { login: { state: 'paused' }, words: ['"paused"'] },
];

const STATUS_NOTICES: readonly OperatorNotice[] = [
  { kind: 'status', status: EMPTY_STATUS },
  { kind: 'status', status: FULL_STATUS },
  ...LOGIN_LINES.map(({ login }) => ({ kind: 'status', status: { ...EMPTY_STATUS, login } }) as const),
  ...ALL_ERRORS.map(
    (error) =>
      ({
        kind: 'status',
        status: {
          ...EMPTY_STATUS,
          halted: { error, at: endedAt },
          lastFailure: { reason: error, at: endedAt },
        },
      }) as const,
  ),
];

const FORMATS: readonly Required<RenderOptions>['format'][] = ['discord', 'plain'];

describe('renderPrompt', () => {
  for (const { state, actions } of STATES) {
    const label = `${state.kind}${'error' in state ? ` ${state.error}` : ''}`;
    it(`renders ${label} with actions [${actions.join(', ')}]`, () => {
      for (const format of FORMATS) {
        const rendered = renderPrompt(view(state), names, { format });
        expect(rendered.actions).toEqual(actions);
        expect(rendered.text).toContain('main');
        expect(rendered.text).not.toMatch(/undefined|null|NaN|\[object/);
        expect(rendered.text.length).toBeLessThan(2000);
      }
    });
  }

  it('says which account, why, until when, how to answer and the attempts left', () => {
    const { text } = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }, 'bot-request'), names);
    expect(text).toContain('`main`');
    expect(text).toContain('a trading bot reported');
    expect(text).toContain(`<t:${deadline.getTime() / 1000}:t> (<t:${deadline.getTime() / 1000}:R>)`);
    expect(text).toContain('`123 456`');
    expect(text).toContain(`**${ACTION_LABELS.code}**`);
    expect(text).toContain('3 attempts left');
    expect(renderPrompt(view({ kind: 'open', attemptsLeft: 1 }), names).text).toContain('1 attempt left');
  });

  it('gives every login reason its own words', () => {
    const reasons: LoginReason[] = [
      'startup',
      'renewal',
      'schedule',
      'token-invalid',
      'bot-request',
      'operator-request',
    ];
    const texts = reasons.map((reason) => renderPrompt(view({ kind: 'expired' }, reason), names).text);
    expect(new Set(texts).size).toBe(reasons.length);
  });

  it('names who answered, who cancelled, and whose code was refused', () => {
    expect(renderPrompt(view({ kind: 'checking', operatorId: 'u1' }), names).text).toContain('Alice');
    expect(renderPrompt(view({ kind: 'succeeded', operatorId: 'u1', expiresAt }), names).text).toContain(
      'Alice',
    );
    expect(renderPrompt(view({ kind: 'cancelled', operatorId: 'u2' }), names).text).toContain('Bob');
    expect(
      renderPrompt(view({ kind: 'rejected', operatorId: 'u2', interimSpent: false }), names).text,
    ).toContain('Bob');
  });

  it('says until when the new token is good after a success', () => {
    const { text } = renderPrompt(view({ kind: 'succeeded', operatorId: 'u1', expiresAt }), names, {
      format: 'plain',
    });
    expect(text).toContain('2025-03-05 08:01 UTC');
  });

  it('tells what to fix for each fatal broker error, and to try later for transient ones', () => {
    const fixes: Partial<Record<BrokerErrorKind, string[]>> = {
      'bad-credentials': ['ETNA_USERNAME', 'ETNA_PASSWORD'],
      'bad-app-key': ['ETNA_APP_KEY'],
      'password-expired': ['Change it at the broker', 'ETNA_PASSWORD'],
      'pin-required': ['ETNA_PIN'],
      'bad-pin': ['ETNA_PIN'],
    };
    for (const [error, words] of Object.entries(fixes)) {
      const { text } = renderPrompt(
        view({ kind: 'failed', error: error as BrokerErrorKind, fatal: true }),
        names,
      );
      for (const word of words) expect(text).toContain(word);
    }
    for (const error of TRANSIENT_BROKER_ERROR_KINDS) {
      const { text } = renderPrompt(view({ kind: 'failed', error, fatal: false }), names);
      expect(text).toContain(`Try **${ACTION_LABELS.resend}** later`);
    }
  });

  it('in plain format, has no Discord markup', () => {
    for (const { state } of STATES) {
      const { text } = renderPrompt(view(state), names, { format: 'plain' });
      expect(text).not.toMatch(/\*\*|<t:|`/);
    }
    expect(renderPrompt(view({ kind: 'open', attemptsLeft: 2 }), names, { format: 'plain' }).text).toContain(
      '08:05:30 UTC',
    );
  });

  it('in plain format (the terminal), names the words to type, never a button or a DM', () => {
    const buttons = new RegExp(`${Object.values(ACTION_LABELS).join('|')}|Try anyway|button|choose|press|DM`);
    const plain = [
      ...STATES.map(({ state }) => renderPrompt(view(state), names, { format: 'plain' }).text),
      ...[...NOTICES, ...STATUS_NOTICES].map((notice) => renderNotice(notice, names, { format: 'plain' })),
    ];
    for (const text of plain) expect(text).not.toMatch(buttons);
    const open = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names, { format: 'plain' }).text;
    expect(open).toContain('Type the code');
    expect(open).toContain('Type "cancel"');
    const reminder = renderNotice({ kind: 'code-reminder', account: 'main', deadline }, names, {
      format: 'plain',
    });
    expect(reminder).toContain('type "new" for a new SMS');
  });

  it('shows an account name with markup characters literally', () => {
    const { text } = renderPrompt({ ...view({ kind: 'expired' }), account: 'a_b*c`d' }, names);
    expect(text).toContain("`a_b*c'd`");
  });
});

/** A test name that tells the variants of one kind apart. */
function noticeLabel(notice: OperatorNotice): string {
  const detail = (() => {
    switch (notice.kind) {
      case 'login-failed':
        return notice.error;
      case 'login-abandoned':
        return notice.why;
      case 'code-rejected':
        return String(notice.attemptsLeft);
      case 'login-deferred':
        return notice.retrying ? 'retrying' : 'waiting for an operator';
      case 'login-request':
        return `${notice.result}${notice.nextAllowedAt === undefined ? '' : ' with a time'}${notice.haltError === undefined ? '' : ` ${notice.haltError}`}`;
      case 'cancel-request':
        return notice.cancelled ? 'cancelled' : 'nothing to cancel';
      case 'status':
        return `${notice.status.login.state}${notice.status.halted === undefined ? '' : ` halted ${notice.status.halted.error}`}${notice.status.recentLogins.length > 0 ? ' full' : ''}`;
      default:
        return '';
    }
  })();
  return detail === '' ? notice.kind : `${notice.kind} ${detail}`;
}

describe('renderNotice', () => {
  for (const notice of [...NOTICES, ...STATUS_NOTICES]) {
    it(`renders ${noticeLabel(notice)}`, () => {
      for (const format of FORMATS) {
        const text = renderNotice(notice, names, { format });
        expect(text.length).toBeGreaterThan(10);
        expect(text.length).toBeLessThan(2000);
        expect(text).not.toMatch(/undefined|null|NaN|\[object/);
        if (format === 'plain') expect(text).not.toMatch(/\*\*|<t:|`/);
      }
    });
  }

  it('shows the accepted forms of a code in the help', () => {
    for (const format of FORMATS) {
      const text = renderNotice({ kind: 'help' }, names, { format });
      for (const form of ['123456', '123 456', '123-456']) expect(text).toContain(form);
    }
  });

  it('counts the attempts left after a refused code', () => {
    expect(renderNotice({ kind: 'code-rejected', attemptsLeft: 2 }, names)).toContain('2 attempts left');
    expect(renderNotice({ kind: 'code-rejected', attemptsLeft: 0 }, names)).toContain(ACTION_LABELS.resend);
  });

  it('names the operator whose code is being checked', () => {
    expect(renderNotice({ kind: 'busy', operatorId: 'u2' }, names)).toContain('Bob');
  });

  it('tells what to set when the PIN is missing, and what to fix after a failed login', () => {
    // A PIN the account asks for and ETNA_PIN does not give is a failed login (pin-required).
    expect(
      renderNotice({ kind: 'login-failed', account: 'main', error: 'pin-required', fatal: true }, names),
    ).toContain('ETNA_PIN');
    expect(
      renderNotice({ kind: 'login-failed', account: 'main', error: 'bad-app-key', fatal: true }, names),
    ).toContain('ETNA_APP_KEY');
  });
});

describe('renderNotice for the SMS guard, expiry and commands', () => {
  it('says when a held-back login starts by itself, or that an operator should /login then', () => {
    const retrying = renderNotice(
      { kind: 'login-deferred', account: 'main', reason: 'renewal', nextAllowedAt: deadline, retrying: true },
      names,
    );
    expect(retrying).toContain('`main`');
    expect(retrying).toContain('MAX_LOGINS_PER_HOUR');
    expect(retrying).toContain(`starts it by itself at <t:${deadline.getTime() / 1000}:t>`);
    expect(retrying).not.toContain('/login');

    const waiting = {
      kind: 'login-deferred',
      account: 'main',
      reason: 'bot-request',
      nextAllowedAt: deadline,
      retrying: false,
    } as const;
    expect(renderNotice(waiting, names, { format: 'plain' })).toContain('08:05:30 UTC');
    expect(renderNotice(waiting, names)).toContain('use `/login` then');
    expect(renderNotice(waiting, names, { format: 'plain' })).toContain('type "login" then');
  });

  it('warns with both times that the token lapses before the next planned login', () => {
    const text = renderNotice({ kind: 'expiry-warning', account: 'main', expiresAt, nextLoginAt }, names, {
      format: 'plain',
    });
    expect(text).toContain('"main"');
    expect(text).toContain('2025-03-05 08:01 UTC');
    expect(text).toContain('2025-03-05 12:30 UTC');
    expect(text).toContain('type "login" before it expires');
    expect(
      renderNotice({ kind: 'expiry-warning', account: 'main', expiresAt, nextLoginAt }, names),
    ).toContain('use `/login` before');
  });

  it('answers /login with each result, and the time when rate-limited', () => {
    const texts = (['started', 'already-running', 'halted', 'rate-limited'] as const).map((result) =>
      renderNotice({ kind: 'login-request', result }, names),
    );
    expect(new Set(texts).size).toBe(4);
    expect(texts[2]).toContain('configuration');
    expect(texts[2]).toContain('`/status`');
    expect(texts[3]).toContain('MAX_LOGINS_PER_HOUR');
    expect(
      renderNotice({ kind: 'login-request', result: 'rate-limited', nextAllowedAt: deadline }, names, {
        format: 'plain',
      }),
    ).toContain('08:05:30 UTC');
  });

  it('answers /cancel whether or not there was a login to cancel', () => {
    expect(renderNotice({ kind: 'cancel-request', cancelled: true }, names)).toContain('cancelled');
    expect(renderNotice({ kind: 'cancel-request', cancelled: false }, names)).toContain('nothing to cancel');
  });
});

describe('renderNotice for /status', () => {
  const render = (status: StatusView): string =>
    renderNotice({ kind: 'status', status }, names, { format: 'plain' });

  it('shows a quiet relay in a few lines: no token, no login, the SMS count', () => {
    const text = render(EMPTY_STATUS);
    expect(text.split('\n')).toEqual([
      'Status of account "main"',
      'Token: none.',
      'Login: none under way.',
      'SMS this hour: 0 of 4.',
    ]);
  });

  it('shows every part of a busy relay', () => {
    const text = render(FULL_STATUS);
    expect(text).toContain('Token: generation 42, good until 2025-03-05 08:01 UTC.');
    expect(text).toContain('Login: renewal, waiting for a code until 08:05:30 UTC, 1 code tried.');
    expect(text).toContain('Next login: planned, 2025-03-05 12:30 UTC.');
    expect(text).toContain('Last failure: the broker refused the code, 2025-03-04 07:58 UTC.');
    expect(text).toContain('Halted since 2025-03-04 07:58 UTC');
    expect(text).toContain('ETNA_APP_KEY');
    expect(text).toContain('SMS this hour: 2 of 4.');
    expect(text).toContain('- 2025-03-04 07:58 UTC: logged in (renewal) by Alice, 1 code tried');
    expect(text).toContain('code refused (bot report) by Bob, 3 codes tried');
    expect(text).toContain('no code in time (at start), no code tried');
    expect(text).toContain('cancelled (operator request) by Bob');
    expect(text).toContain('failed (planned), no code tried');
  });

  it('lists only the last five logins', () => {
    const text = render(FULL_STATUS);
    expect(text.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(5);
    expect(text).not.toContain('token refused');
  });

  it('says each login state in words', () => {
    for (const { login, words } of LOGIN_LINES) {
      const text = render({ ...EMPTY_STATUS, login });
      for (const word of words) expect(text).toContain(word);
    }
  });

  it('tells what to fix when halted, for every fatal broker error', () => {
    for (const error of FATAL_BROKER_ERROR_KINDS) {
      const text = render({ ...EMPTY_STATUS, halted: { error, at: endedAt } });
      expect(text).toMatch(/ETNA_[A-Z]+/);
      expect(text).toContain('No new login starts until this is fixed');
    }
  });

  it('shows an unknown failure reason or outcome as it is, never as markup', () => {
    const text = renderNotice(
      {
        kind: 'status',
        status: {
          ...EMPTY_STATUS,
          lastFailure: { reason: 'odd*reason', at: endedAt },
          recentLogins: [{ reason: 'renewal', outcome: 'odd_outcome', attempts: 1, endedAt }],
        },
      },
      names,
    );
    expect(text).toContain('`odd*reason`');
    expect(text).toContain('`odd_outcome`');
  });

  it('uses Discord timestamps and bold in the discord format', () => {
    const text = renderNotice({ kind: 'status', status: FULL_STATUS }, names);
    expect(text).toContain('**Status of account `main`**');
    expect(text).toContain(`<t:${expiresAt.getTime() / 1000}:R>`);
    expect(text).toContain('**Halted**');
  });
});

describe('texts follow CODE_DIGITS', () => {
  const SETTINGS = [
    { minDigits: 4, maxDigits: 8 },
    { minDigits: 6, maxDigits: 6 },
    { minDigits: 8, maxDigits: 8 },
    { minDigits: 5, maxDigits: 7 },
    { minDigits: 4, maxDigits: 4 },
    { minDigits: 1, maxDigits: 12 },
    { minDigits: 10, maxDigits: 12 },
  ] as const;

  it('shows only examples the parser takes, and always the whole code', () => {
    for (const codeDigits of SETTINGS) {
      const examples = codeExamples(codeDigits);
      expect(examples[0]).toBe(exampleCode(codeDigits));
      for (const example of examples) expect(parseCode(example, codeDigits).ok, example).toBe(true);
    }
    expect(codeExamples({ minDigits: 4, maxDigits: 8 })).toEqual(['123456', '123 456', '123-456']);
    expect(codeExamples({ minDigits: 8, maxDigits: 8 })).toEqual(['12345678', '1234 5678', '1234-5678']);
    // Under 1-12, "123 456" would be two codes: only the whole form is shown.
    expect(codeExamples({ minDigits: 1, maxDigits: 12 })).toEqual(['123456']);
  });

  it('tells the number of digits and the forms in the prompt and the help', () => {
    const eight = { minDigits: 8, maxDigits: 8 };
    for (const format of FORMATS) {
      const prompt = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names, {
        format,
        codeDigits: eight,
      }).text;
      const help = renderNotice({ kind: 'help' }, names, { format, codeDigits: eight });
      for (const text of [prompt, help]) {
        expect(text).toContain('8 digits');
        expect(text).toContain('1234 5678');
        expect(text).not.toContain('123 456');
      }
    }
    const byDefault = renderNotice({ kind: 'help' }, names);
    expect(byDefault).toContain('4 to 8 digits');
    expect(byDefault).toContain('`123 456`');
  });
});

describe('renderNotice for stale, repeated and untaken codes, and abandoned logins', () => {
  const unix = deadline.getTime() / 1000;

  it('says a stale code belongs to an earlier login, with when the current SMS was asked for', () => {
    const text = renderNotice({ kind: 'stale-code', promptSentAt: deadline }, names);
    expect(text).toContain(`<t:${unix}:T> (<t:${unix}:R>)`);
    expect(text).toContain('it was not sent');
    expect(text).toContain('newest SMS');
    expect(
      renderNotice({ kind: 'stale-code', promptSentAt: deadline }, names, { format: 'plain' }),
    ).toContain('at 08:05:30 UTC');
  });

  it('says a repeated code was not sent again, and a login out of attempts sends nothing', () => {
    const repeated = renderNotice({ kind: 'code-already-tried' }, names);
    expect(repeated).toContain('already refused for this login');
    expect(repeated).toContain('not sent again');
    const spent = renderNotice({ kind: 'no-attempts-left' }, names);
    expect(spent).toContain('all its attempts');
    expect(spent).toContain(ACTION_LABELS.resend);
  });

  it('asks to try again in a moment when an answer could not be taken', () => {
    const text = renderNotice({ kind: 'input-not-taken' }, names);
    expect(text).toContain('not taken');
    expect(text).toContain('Try again in a moment');
    expect(text).toContain('nothing was sent to the broker');
  });

  it('gives each reason a login was abandoned its own words and the account', () => {
    const whys = ['another-login', 'lock-lost', 'store-unavailable'] as const;
    const texts = whys.map((why) => renderNotice({ kind: 'login-abandoned', account: 'main', why }, names));
    expect(new Set(texts).size).toBe(3);
    for (const text of texts) {
      expect(text).toContain('`main`');
      expect(text).toContain('will not be taken');
    }
    expect(texts[0]).toContain("another relay's login");
    expect(texts[1]).toContain('use `/login`');
    expect(texts[2]).toContain('Redis');
  });
});

describe('the halt-confirm answer to /login', () => {
  const notice = { kind: 'login-request', result: 'halt-confirm', haltError: 'bad-credentials' } as const;

  it('explains that the broker refused the same credentials, that retrying may lock the account, and offers Try anyway', () => {
    const text = renderNotice(notice, names);
    expect(text).toContain('refused these same credentials');
    expect(text).toContain('username or password refused');
    expect(text).toContain('may lock the account');
    expect(text).toContain(`press **${NOTICE_ACTION_LABELS['force-login']}**`);
    expect(renderNotice(notice, names, { format: 'plain' })).toContain('type "login anyway"');
    expect(noticeActions(notice)).toEqual(['force-login']);
  });

  it('offers no action on any other notice', () => {
    for (const other of NOTICES.filter((n) => !(n.kind === 'login-request' && n.result === 'halt-confirm'))) {
      expect(noticeActions(other)).toEqual([]);
    }
  });
});
