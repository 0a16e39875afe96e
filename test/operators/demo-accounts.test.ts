import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { memoryStores, guidedTerminal, readDemoAccounts } from '../../src/demo-accounts.js';
import { DEFAULT_CODE_DIGITS } from '../../src/domain/code-digits.js';
import { TerminalOperatorChannel } from '../../src/operators/terminal-channel.js';
import type { PromptView } from '../../src/relay/ports/operators.js';

/**
 * `DEMO_ACCOUNTS=live,paper npm run demo` (src/demo-accounts.ts): which names it takes, the input
 * claims its accounts share, and the guide it prints once every account waits. The demo as a
 * process: test/e2e/demo.e2e.test.ts.
 */

describe('DEMO_ACCOUNTS', () => {
  it.each([
    ['live,paper', ['live', 'paper']],
    [' live , paper ,', ['live', 'paper']],
    ['live', ['live']],
    ['a-b,c_d,0', ['a-b', 'c_d', '0']],
    [`${'p'.repeat(32)},live`, ['p'.repeat(32), 'live']],
  ])('takes %j', (text, names) => {
    expect(readDemoAccounts(text)).toEqual(names);
  });

  it.each([
    ['a name in capitals', 'live,Paper'],
    ['a name twice', 'live,paper,live'],
    ['a name too long', `live,${'p'.repeat(33)}`],
    ['a space inside a name', 'live,pa per'],
    ['another separator', 'live;paper'],
    ['a dot', 'live.1'],
    ['no name at all', ' , '],
  ])('refuses %s', (_, text) => {
    expect(readDemoAccounts(text)).toBeUndefined();
  });
});

describe("the demo's accounts in memory", () => {
  it('claim inputs together when there are several, under the one P:inputs key of Redis', async () => {
    const [live, paper] = memoryStores(['live', 'paper'], 'otp-relay');
    expect(live!.keys.inputs).toBe('otp-relay:inputs');
    expect(paper!.keys.inputs).toBe('otp-relay:inputs');
    expect(live!.keys.token).toBe('otp-relay:token:live');
    expect(await live!.coordination.claimInput('terminal-1', 60_000)).toBe(true);
    expect(await paper!.coordination.claimInput('terminal-1', 60_000)).toBe(false);
    // The hub's claims are theirs too: a question about a code claims the code's input for both.
    expect(await paper!.claimInput('terminal-2', 60_000)).toBe(true);
    expect(await live!.coordination.claimInput('terminal-2', 60_000)).toBe(false);
  });

  it('keep their own key with one account, as today', () => {
    const [only] = memoryStores(['default'], 'otp-relay');
    expect(only!.keys.inputs).toBe('otp-relay:inputs:default');
  });
});

describe("the terminal as the demo's hub channel", () => {
  function prompt(account: string, state: PromptView['state']): PromptView {
    return { loginId: `login-${account}`, account, reason: 'startup', deadline: new Date(), state };
  }

  it('prints the guide once, after every account has shown a prompt that waits for a code', async () => {
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const terminal = new TerminalOperatorChannel({
      input: new PassThrough(),
      output,
      codeDigits: DEFAULT_CODE_DIGITS,
    });
    const channel = guidedTerminal(terminal, ['live', 'paper'], output);
    const guide = />> "live" and "paper" each wait for the code of their own SMS/g;

    await channel.showPrompt(prompt('live', { kind: 'open', attemptsLeft: 3 }));
    await channel.showPrompt(prompt('live', { kind: 'checking', operatorId: 'terminal' }));
    expect(written).toContain('SMS code needed for account "live"');
    expect(written).not.toMatch(guide);

    await channel.showPrompt(prompt('paper', { kind: 'open', attemptsLeft: 3 }));
    expect(written.match(guide)).toHaveLength(1);
    expect(written.indexOf('account "paper"')).toBeLessThan(written.search(guide));
    expect(written).toContain("type that account's name. The demo ends when every account has a token.");

    await channel.showPrompt(prompt('live', { kind: 'open', attemptsLeft: 2 }));
    expect(written.match(guide)).toHaveLength(1);
  });
});
