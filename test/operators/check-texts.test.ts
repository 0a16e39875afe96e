import { describe, expect, it } from 'vitest';
import { renderCheckMessage, renderCheckReport, type CheckReport } from '../../src/operators/check-texts.js';

/** Issue 20, item 3 (texts): `/check`'s test message and its report to the operator who ran it. */

const names = (id: string): string => ({ u1: 'Alice', u2: 'Bob', u3: 'Carol' })[id] ?? `<@${id}>`;

describe('the /check test message', () => {
  it('says who ran it, that nothing needs doing, and what a notification for it means', () => {
    const text = renderCheckMessage('Alice');
    const [first, ...rest] = text.split('\n');
    // What a phone's notification shows.
    expect(first).toBe('**Test message** from `/check`, run by Alice. Nothing to do.');
    expect(rest.join(' ')).toContain(
      'If your phone showed a notification for this message, it will show the relay’s login prompts too.',
    );
  });
});

describe('the /check report', () => {
  it.each<[string, CheckReport, readonly string[]]>([
    [
      'everyone reached',
      { reached: ['u1', 'u2'], refused: [] },
      [
        '**Check done**: a test message was sent to each of the 2 operators.',
        'Got it: Alice, Bob.',
        'Discord refused nobody. Whoever’s phone showed it will be notified of login prompts too.',
      ],
    ],
    [
      'one operator, reached',
      { reached: ['u1'], refused: [] },
      ['**Check done**: a test message was sent to the only operator.', 'Got it: Alice.'],
    ],
    [
      'refusals of every kind, by name or mention, each kind advised once',
      {
        reached: ['u1'],
        refused: [
          { operatorId: 'u2', reason: 'dms-closed' },
          { operatorId: 'u3', reason: 'dms-closed' },
          { operatorId: '100000000000000009', reason: 'unknown-user' },
          { operatorId: '100000000000000010', reason: 'failed' },
        ],
      },
      [
        '**Check done**: a test message was sent to each of the 5 operators.',
        'Got it: Alice.',
        'Discord refused: Bob (DMs closed), Carol (DMs closed), <@100000000000000009> (no such Discord user), <@100000000000000010> (the DM failed). They did not get it.',
        '- DMs closed: they get no login prompts until they share a server with the bot and allow its DMs there (right-click the server’s icon → Privacy Settings → Direct Messages).',
        '- No such Discord user: no Discord user has that ID: check DISCORD_OPERATOR_IDS.',
        '- The DM failed: Discord did not take the message this time: run `/check` again in a moment (the relay’s log says why).',
      ],
    ],
    [
      'nobody reached',
      { reached: [], refused: [{ operatorId: 'u1', reason: 'failed' }] },
      [
        '**Check done**: a test message was sent to the only operator.',
        'Nobody got it.',
        'Discord refused: Alice (the DM failed). They did not get it.',
      ],
    ],
  ])('%s', (_case, report, lines) => {
    const text = renderCheckReport(report, names);
    expect(text.split('\n').slice(0, lines.length)).toEqual(lines);
    expect(text.length).toBeLessThan(2000);
  });
});
