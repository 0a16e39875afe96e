import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderNotice } from '../../src/operators/messages.js';
import { TerminalOperatorChannel } from '../../src/operators/terminal-channel.js';
import type { OperatorInput, OperatorNotice, PromptView } from '../../src/relay/ports/operators.js';

// The terminal with several accounts: commands for one account, "new" for one account's prompt, and
// the question "which account is this code for?" answered by typing a name.

let input: PassThrough;
let written: string;
let inputs: OperatorInput[];
let channel: TerminalOperatorChannel;

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let waitedMs = 0; !predicate(); waitedMs += 5) {
    if (waitedMs > 2000) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

async function type(line: string): Promise<OperatorInput> {
  const before = inputs.length;
  input.write(`${line}\n`);
  await until(() => inputs.length > before, `the input of ${JSON.stringify(line)}`);
  return inputs[before]!;
}

const plain = (notice: OperatorNotice): string =>
  renderNotice(notice, (id) => (id === 'terminal' ? 'you' : `operator ${id}`), { format: 'plain' });

function view(loginId: string, account: string): PromptView {
  return {
    loginId,
    account,
    reason: 'renewal',
    deadline: new Date(Date.now() + 5 * 60_000),
    state: { kind: 'open', attemptsLeft: 3 },
  };
}

beforeEach(async () => {
  input = new PassThrough();
  const output = new PassThrough();
  written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  inputs = [];
  channel = new TerminalOperatorChannel({ input, output });
  await channel.start((received) => inputs.push(received));
});

afterEach(async () => {
  await channel.stop();
});

describe('TerminalOperatorChannel with several accounts', () => {
  it.each([
    ['login paper', 'login', 'paper'],
    ['/login paper', 'login', 'paper'],
    ['Cancel Live', 'cancel', 'live'],
    ['status  paper', 'status', 'paper'],
  ] as const)('turns %j into the %s command for account %s', async (line, command, account) => {
    expect(await type(line)).toMatchObject({ kind: 'command', operatorId: 'terminal', command, account });
  });

  it('keeps a command without a name for no account', async () => {
    expect(await type('status')).not.toHaveProperty('account');
    // Three words are no command: unclear, answered with help by the core.
    expect(await type('login paper now')).toMatchObject({ kind: 'unclear' });
  });

  it('asks to type "login <account>" when the hub asks which account', async () => {
    const received = await type('login');
    if (received.kind !== 'command') throw new Error(received.kind);
    await received.respond({
      kind: 'choose-account',
      question: { kind: 'command', command: 'login' },
      accounts: ['live', 'paper'],
    });
    expect(written).toContain('Which account? Type "login <account>", with one of: "live", "paper".');
    expect(await type('login live')).toMatchObject({ command: 'login', account: 'live' });
  });

  it('makes "new <account>" the resend of that account’s last prompt, or a login of it', async () => {
    await channel.showPrompt(view('l-live', 'live'));
    await channel.showPrompt(view('l-paper', 'paper'));
    expect(written).toContain('SMS code needed for account "live"');
    expect(await type('new live')).toMatchObject({ kind: 'resend', loginId: 'l-live', account: 'live' });
    expect(await type('new')).toEqual({
      kind: 'resend',
      operatorId: 'terminal',
      loginId: 'l-paper',
      inputId: expect.any(String),
    });
    expect(await type('new demo')).toMatchObject({ kind: 'command', command: 'login', account: 'demo' });
  });

  it('names the accounts in the help when it is given several, and keeps the help of one account otherwise', async () => {
    await channel.notify('terminal', { kind: 'help' });
    expect(written).toBe(
      `${plain({ kind: 'help' })}\nOr type "new" for a new SMS, "status", "login" or "cancel".\n`,
    );
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const several = new TerminalOperatorChannel({
      input: new PassThrough(),
      output,
      accounts: ['live', 'paper'],
    });
    await several.start(() => undefined);
    await several.notify('terminal', { kind: 'help' });
    expect(printed).toContain(`Add an account's name for that account only ("live", "paper"): "login live".`);
    await several.stop();
  });

  it('makes "login anyway" name the account of the halt-confirm it showed', async () => {
    const received = await type('login paper');
    if (received.kind !== 'command') throw new Error(received.kind);
    await received.respond({ kind: 'login-request', result: 'halt-confirm', haltAt: 17, account: 'paper' });
    expect(written).toContain('Account "paper": ');
    expect(await type('login anyway')).toMatchObject({ force: true, forHalt: 17, account: 'paper' });
  });
});

describe('the question "which account is this code for?" at the terminal', () => {
  const question: OperatorNotice = {
    kind: 'choose-account',
    question: { kind: 'code', inputId: 'terminal-x-1' },
    accounts: ['live', 'paper'],
  };

  it('is answered by typing one of its names: account-chosen, once, its answer printed', async () => {
    const code = await type('482913');
    expect(code).toMatchObject({ kind: 'code' });
    await channel.notify('terminal', { ...question, question: { kind: 'code', inputId: code.inputId } });
    expect(written).toBe(`${plain(question)}\n`);
    expect(written).not.toContain('482913');

    const chosen = await type(' Paper ');
    expect(chosen).toMatchObject({
      kind: 'account-chosen',
      operatorId: 'terminal',
      account: 'paper',
      codeInputId: code.inputId,
    });
    if (chosen.kind !== 'account-chosen') throw new Error(chosen.kind);
    await chosen.respond({ kind: 'code-routed', account: 'paper' });
    await chosen.respond({ kind: 'choice-over', why: 'answered' });
    expect(written).toContain(plain({ kind: 'code-routed', account: 'paper' }));
    expect(written).not.toContain('already answered');

    // Answered: the name is no answer any more (a one-word line that is not a code is unclear).
    expect(await type('live')).toMatchObject({ kind: 'unclear' });
  });

  it('takes only the names it offered', async () => {
    await channel.notify('terminal', question);
    expect(await type('demo')).toMatchObject({ kind: 'unclear' });
    expect(await type('live')).toMatchObject({
      kind: 'account-chosen',
      account: 'live',
      codeInputId: 'terminal-x-1',
    });
  });

  it('is not asked by a command question, whose names are typed after the command', async () => {
    await channel.notify('terminal', {
      kind: 'choose-account',
      question: { kind: 'command', command: 'cancel' },
      accounts: ['live', 'paper'],
    });
    expect(await type('live')).toMatchObject({ kind: 'unclear' });
  });
});
