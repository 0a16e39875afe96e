import { describe, expect, it } from 'vitest';
import { renderNotice, renderPrompt } from '../../src/operators/messages.js';
import type { PromptView, StatusView } from '../../src/relay/ports/operators.js';

/**
 * Issue 12, item 2 (texts): a prompt names the operators the channel could not reach, so the others
 * know who did not get it; `/status` lists whom the last prompt reached.
 */

const names = (id: string): string => ({ u1: 'Alice', u2: 'Bob', u3: 'Carol' })[id] ?? `<@${id}>`;
const since = new Date('2025-03-04T08:00:00Z');
const at = new Date('2025-03-04T08:00:30Z');

const view: PromptView = {
  loginId: 'login-1',
  account: 'main',
  reason: 'renewal',
  deadline: new Date('2025-03-04T08:05:30Z'),
  state: { kind: 'open', attemptsLeft: 3 },
};

const STATUS: StatusView = {
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

describe('a prompt with operators out of reach', () => {
  it('names them, and why, at the end', () => {
    const { text } = renderPrompt(view, names, undefined, {
      unreachable: [
        { operatorId: 'u2', reason: 'dms-closed', since },
        { operatorId: '100000000000000009', reason: 'unknown-user', since },
      ],
    });
    expect(text.split('\n').at(-1)).toBe(
      'Could not reach: Bob (DMs closed), <@100000000000000009> (no such Discord user). They did not get this message.',
    );
    expect(text.split('\n')[0]).toContain('SMS code needed');
  });

  it('says nothing of it when everyone was reached', () => {
    expect(renderPrompt(view, names, undefined, { unreachable: [] }).text).not.toContain('Could not reach');
    expect(renderPrompt(view, names).text).not.toContain('Could not reach');
  });
});

describe('/status with the last prompt', () => {
  it('lists whom it reached and whom it could not', () => {
    const text = renderNotice({ kind: 'status', status: STATUS }, names, undefined, {
      lastPrompt: {
        loginId: 'login-1',
        at,
        reached: ['u1', 'u3'],
        unreachable: [{ operatorId: 'u2', reason: 'dms-closed', since }],
      },
    });
    expect(text).toContain(
      `Last prompt, <t:${at.getTime() / 1000}:f> (<t:${at.getTime() / 1000}:R>): sent to Alice, Carol; could not reach Bob (DMs closed).`,
    );
  });

  it('says when it reached nobody, and has no such line before any prompt', () => {
    const nobody = renderNotice(
      { kind: 'status', status: STATUS },
      names,
      { format: 'plain' },
      {
        lastPrompt: {
          loginId: 'l',
          at,
          reached: [],
          unreachable: [{ operatorId: 'u2', reason: 'failed', since }],
        },
      },
    );
    expect(nobody).toContain(
      'Last prompt, 2025-03-04 08:00 UTC: sent to nobody; could not reach Bob (the DM failed).',
    );
    expect(renderNotice({ kind: 'status', status: STATUS }, names)).not.toContain('Last prompt');
  });
});
