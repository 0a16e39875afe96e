import { describe, expect, it } from 'vitest';
import { ACTION_LABELS, renderNotice, renderPrompt } from '../../src/operators/messages.js';
import type { OperatorNotice, PromptView } from '../../src/relay/ports/operators.js';

/**
 * Issue 12, item 10: after a refused code, say what is known. The broker refused the code; it may
 * have ended the login too (ETNA does not say whether a wrong code spends the interim token); what to
 * press either way. When the broker's answer shows the login is over, say that, not "no attempts
 * left".
 */

const names = (id: string): string => ({ u1: 'Alice', u2: 'Bob' })[id] ?? `user ${id}`;
const FORMATS = ['discord', 'plain'] as const;

/** How each format names "Send a new code": the button on Discord, the word to type at the terminal. */
const RESEND = { discord: `**${ACTION_LABELS.resend}**`, plain: 'type "new"' } as const;

function rejected(notice: Omit<Extract<OperatorNotice, { kind: 'code-rejected' }>, 'kind'>): OperatorNotice {
  return { kind: 'code-rejected', ...notice };
}

function view(interimSpent: boolean): PromptView {
  return {
    loginId: 'login-1',
    account: 'main',
    reason: 'startup',
    deadline: new Date('2025-03-04T08:05:30Z'),
    state: { kind: 'rejected', operatorId: 'u2', interimSpent },
  };
}

describe('the code-rejected notice', () => {
  it('with attempts left: the code was refused, the login may be over too, and what to do either way', () => {
    for (const format of FORMATS) {
      const text = renderNotice(rejected({ attemptsLeft: 2 }), names, { format });
      expect(text).toContain('The broker refused that code');
      expect(text).toContain('2 attempts left');
      expect(text).toContain('may also have ended this login');
      expect(text).toContain(RESEND[format]);
      expect(text).not.toMatch(/no attempts/i);
    }
    expect(renderNotice(rejected({ attemptsLeft: 1 }), names)).toContain('1 attempt left');
  });

  it('when the broker ended the login: says so, never "no attempts left"', () => {
    for (const format of FORMATS) {
      const text = renderNotice(rejected({ attemptsLeft: 0, ended: 'interim-spent' }), names, { format });
      expect(text).toContain('ended this login');
      expect(text).toContain(RESEND[format]);
      expect(text).not.toMatch(/no attempts|attempts left/i);
    }
  });

  it('without a reason (none left): says the login is over, not that the attempts ran out', () => {
    const text = renderNotice(rejected({ attemptsLeft: 0 }), names);
    expect(text).toContain('this login is over');
    expect(text).toContain(`press **${ACTION_LABELS.resend}**`);
    expect(text).not.toMatch(/no attempts/i);
  });

  it('tells the attempts used up and a passed deadline apart', () => {
    expect(renderNotice(rejected({ attemptsLeft: 0, ended: 'no-attempts-left' }), names)).toContain(
      'used all its attempts',
    );
    expect(renderNotice(rejected({ attemptsLeft: 0, ended: 'deadline-passed' }), names)).toContain(
      'the time for this login',
    );
  });
});

describe('the rejected prompt', () => {
  it("when the broker's answer shows the login is over: says the broker ended it, not that attempts ran out", () => {
    for (const format of FORMATS) {
      const { text, actions } = renderPrompt(view(true), names, { format });
      expect(text).toContain('refused the code from Bob');
      expect(text).toContain('ended this login');
      expect(text).not.toMatch(/attempts/i);
      expect(actions).toEqual(['resend']);
    }
  });

  it('when the attempts ran out: says so', () => {
    const { text } = renderPrompt(view(false), names);
    expect(text).toContain('used all its attempts');
    expect(text).not.toContain('ended this login');
  });
});
