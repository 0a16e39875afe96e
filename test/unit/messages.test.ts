import { describe, expect, it } from 'vitest';
import type { BrokerErrorKind } from '../../src/broker/errors.js';
import { FATAL_BROKER_ERROR_KINDS, TRANSIENT_BROKER_ERROR_KINDS } from '../../src/broker/errors.js';
import {
  ACTION_LABELS,
  renderNotice,
  renderPrompt,
  type RenderOptions,
} from '../../src/operators/messages.js';
import type { LoginReason, OperatorNotice, PromptState, PromptView } from '../../src/operators/types.js';

const deadline = new Date('2025-03-04T08:05:30Z');
const expiresAt = new Date('2025-03-05T08:01:00Z');
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
  { kind: 'busy', operatorId: 'u1' },
  { kind: 'prompt-inactive' },
  ...ALL_ERRORS.map(
    (error) =>
      ({ kind: 'login-failed', account: 'main', error, fatal: FATAL_BROKER_ERROR_KINDS.has(error) }) as const,
  ),
  { kind: 'pin-missing', account: 'main' },
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
    expect(text).toContain(`08:05:30 UTC (<t:${deadline.getTime() / 1000}:R>)`);
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

  it('shows an account name with markup characters literally', () => {
    const { text } = renderPrompt({ ...view({ kind: 'expired' }), account: 'a_b*c`d' }, names);
    expect(text).toContain("`a_b*c'd`");
  });
});

describe('renderNotice', () => {
  for (const notice of NOTICES) {
    const label = `${notice.kind}${'error' in notice ? ` ${notice.error}` : ''}${'attemptsLeft' in notice ? ` ${notice.attemptsLeft}` : ''}`;
    it(`renders ${label}`, () => {
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
    expect(renderNotice({ kind: 'pin-missing', account: 'main' }, names)).toContain('ETNA_PIN');
    expect(
      renderNotice({ kind: 'login-failed', account: 'main', error: 'bad-app-key', fatal: true }, names),
    ).toContain('ETNA_APP_KEY');
  });
});
