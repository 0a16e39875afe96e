import { describe, expect, it } from 'vitest';
import { renderNotice, renderPrompt } from '../../src/operators/messages.js';
import type { OperatorNotice, PromptState, PromptView, StatusView } from '../../src/relay/ports/operators.js';

/**
 * Issue 12, item 3: absolute times in DMs are Discord timestamps, which each operator reads in their
 * own time zone; the terminal keeps UTC text and says so. The prompt's first line, which a phone's
 * notification shows, says that a code is needed.
 */

const deadline = new Date('2025-03-04T08:05:30Z');
const expiresAt = new Date('2025-03-05T08:01:00Z');
const later = new Date('2025-03-05T12:30:00Z');
const unix = (at: Date): number => at.getTime() / 1000;
const names = (id: string): string => ({ u1: 'Alice', u2: 'Bob' })[id] ?? `user ${id}`;

function view(state: PromptState): PromptView {
  return { loginId: 'login-1', account: 'main', reason: 'renewal', deadline, state };
}

const STATUS: StatusView = {
  account: 'main',
  token: { generation: 42, expiresAt },
  login: { state: 'awaiting-code', reason: 'renewal', deadline, attemptsUsed: 1 },
  nextLogin: { at: later, reason: 'schedule' },
  lastFailure: { reason: 'expired', at: expiresAt },
  halted: { error: 'bad-pin', at: expiresAt },
  loginsLastHour: 1,
  maxLoginsPerHour: 4,
  recentLogins: [
    { reason: 'renewal', outcome: 'succeeded', operatorId: 'u1', attempts: 1, endedAt: expiresAt },
  ],
};

/** Every text that shows an absolute time, with the times it shows. */
const TIMED_TEXTS: readonly { what: string; render: (format: 'discord' | 'plain') => string }[] = [
  {
    what: 'open prompt',
    render: (format) => renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names, { format }).text,
  },
  {
    what: 'expired prompt',
    render: (format) => renderPrompt(view({ kind: 'expired' }), names, { format }).text,
  },
  {
    what: 'succeeded prompt',
    render: (format) =>
      renderPrompt(view({ kind: 'succeeded', operatorId: 'u1', expiresAt }), names, { format }).text,
  },
  ...(
    [
      { kind: 'logged-in', account: 'main', expiresAt },
      { kind: 'login-deferred', account: 'main', reason: 'renewal', nextAllowedAt: deadline, retrying: true },
      {
        kind: 'login-deferred',
        account: 'main',
        reason: 'renewal',
        nextAllowedAt: deadline,
        retrying: false,
      },
      { kind: 'expiry-warning', account: 'main', expiresAt, nextLoginAt: later },
      { kind: 'login-request', result: 'rate-limited', nextAllowedAt: deadline },
      { kind: 'status', status: STATUS },
    ] satisfies OperatorNotice[]
  ).map((notice) => ({
    what: `${notice.kind} notice`,
    render: (format: 'discord' | 'plain') => renderNotice(notice, names, { format }),
  })),
];

describe('times in DMs', () => {
  for (const { what, render } of TIMED_TEXTS) {
    it(`${what}: Discord timestamps on Discord, no UTC text; UTC text in plain`, () => {
      const discord = render('discord');
      expect(discord).not.toMatch(/UTC|\d\d:\d\d/);
      expect(discord).toMatch(/<t:\d+:[tf]> \(<t:\d+:R>\)/);
      const plain = render('plain');
      expect(plain).toMatch(/\d\d:\d\d(:\d\d)? UTC/);
      expect(plain).not.toContain('<t:');
    });
  }

  it('shows a time within the hour as <t:…:t> and a date as <t:…:f>, each with <t:…:R>', () => {
    const open = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names).text;
    expect(open).toContain(`until <t:${unix(deadline)}:t> (<t:${unix(deadline)}:R>)`);
    const loggedIn = renderNotice({ kind: 'logged-in', account: 'main', expiresAt }, names);
    expect(loggedIn).toContain(`good until <t:${unix(expiresAt)}:f> (<t:${unix(expiresAt)}:R>)`);
    const status = renderNotice({ kind: 'status', status: STATUS }, names);
    expect(status).toContain(`Next login: planned, <t:${unix(later)}:f> (<t:${unix(later)}:R>).`);
    expect(status).toContain(`waiting for a code until <t:${unix(deadline)}:t>`);
  });

  it('keeps the terminal in UTC, and says so', () => {
    const open = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names, { format: 'plain' }).text;
    expect(open).toContain('until 08:05:30 UTC');
    expect(
      renderNotice({ kind: 'logged-in', account: 'main', expiresAt }, names, { format: 'plain' }),
    ).toContain('good until 2025-03-05 08:01 UTC');
  });
});

describe("the prompt's first line", () => {
  it('says that an SMS code is needed, and for which account', () => {
    const [discord] = renderPrompt(view({ kind: 'open', attemptsLeft: 3 }), names).text.split('\n');
    expect(discord).toMatch(/^\*\*SMS code needed for account `main`\*\*/);
    const [plain] = renderPrompt(view({ kind: 'open', attemptsLeft: 2 }), names, {
      format: 'plain',
    }).text.split('\n');
    expect(plain).toMatch(/^SMS code needed for account "main"/);
  });

  it('no longer says a code is needed once the login is checking one or over', () => {
    const states: PromptState[] = [
      { kind: 'checking', operatorId: 'u1' },
      { kind: 'succeeded', operatorId: 'u1', expiresAt },
      { kind: 'rejected', operatorId: 'u1', interimSpent: true },
      { kind: 'expired' },
      { kind: 'cancelled', operatorId: 'u2' },
      { kind: 'failed', error: 'network', fatal: false },
    ];
    for (const state of states) {
      const [first] = renderPrompt(view(state), names).text.split('\n');
      expect(first, state.kind).toMatch(/^\*\*Login for account `main`\*\*/);
    }
  });
});
