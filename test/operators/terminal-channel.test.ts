import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderNotice } from '../../src/operators/messages.js';
import { TerminalOperatorChannel } from '../../src/operators/terminal-channel.js';
import type { OperatorInput, OperatorNotice, PromptView } from '../../src/relay/ports/operators.js';

let input: PassThrough;
let output: PassThrough;
let written: string;
let inputs: OperatorInput[];
let channel: TerminalOperatorChannel;

/** Resolves once `predicate` holds; readline hands lines over asynchronously. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let waitedMs = 0; !predicate(); waitedMs += 5) {
    if (waitedMs > 2000) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Types `line` and waits for the input it makes. */
async function type(line: string): Promise<OperatorInput> {
  const before = inputs.length;
  input.write(`${line}\n`);
  await until(() => inputs.length > before, `the input of ${JSON.stringify(line)}`);
  expect(inputs).toHaveLength(before + 1);
  return inputs[before]!;
}

const plain = (notice: OperatorNotice): string =>
  renderNotice(notice, (id) => (id === 'terminal' ? 'you' : `operator ${id}`), { format: 'plain' });

const view: PromptView = {
  loginId: 'login-7',
  account: 'main',
  reason: 'operator-request',
  deadline: new Date(Date.now() + 5 * 60_000),
  state: { kind: 'open', attemptsLeft: 3 },
};

beforeEach(async () => {
  input = new PassThrough();
  output = new PassThrough();
  written = '';
  output.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8');
  });
  inputs = [];
  channel = new TerminalOperatorChannel({ input, output });
  await channel.start((received) => inputs.push(received));
});

afterEach(async () => {
  await channel.stop();
});

describe('TerminalOperatorChannel commands', () => {
  it.each([
    ['status', 'status'],
    ['login', 'login'],
    ['cancel', 'cancel'],
    ['  Status ', 'status'],
    ['/login', 'login'],
    ['CANCEL', 'cancel'],
  ] as const)('turns %j into the %s command of the terminal operator', async (line, command) => {
    const received = await type(line);
    expect(received).toMatchObject({ kind: 'command', operatorId: 'terminal', command });
  });

  it('prints the answer given through respond, once', async () => {
    const received = await type('cancel');
    if (received.kind !== 'command') throw new Error(`not a command: ${received.kind}`);
    const answer: OperatorNotice = { kind: 'cancel-request', cancelled: true };
    await received.respond(answer);
    await received.respond({ kind: 'cancel-request', cancelled: false });
    expect(written).toBe(`${plain(answer)}\n`);
    expect(written).not.toMatch(/\*\*|<t:|`/);
  });

  it('prints a /status answer in plain text', async () => {
    const received = await type('status');
    if (received.kind !== 'command') throw new Error(`not a command: ${received.kind}`);
    const answer: OperatorNotice = {
      kind: 'status',
      status: {
        account: 'main',
        token: undefined,
        login: { state: 'none' },
        nextLogin: undefined,
        lastFailure: undefined,
        halted: undefined,
        loginsLastHour: 1,
        maxLoginsPerHour: 4,
        recentLogins: [],
      },
    };
    await received.respond(answer);
    expect(written).toContain('Status of account "main"');
    expect(written).toContain('SMS this hour: 1 of 4.');
  });

  it('makes "cancel" a command even while a prompt is shown, and keeps "new" as its resend', async () => {
    await channel.showPrompt(view);
    expect(written).toContain('type "cancel" to drop this login');
    expect(await type('cancel')).toMatchObject({ kind: 'command', command: 'cancel' });
    expect(await type('new')).toEqual({
      kind: 'resend',
      operatorId: 'terminal',
      loginId: 'login-7',
      inputId: expect.any(String),
    });
    expect(await type('Send a new code')).toMatchObject({ kind: 'resend', loginId: 'login-7' });
  });

  it('still takes a code, and delivers anything else as unclear, printing nothing itself', async () => {
    const code = await type('123 456');
    expect(code.kind === 'code' && code.code.reveal()).toBe('123456');

    expect(await type('hello')).toEqual({
      kind: 'unclear',
      operatorId: 'terminal',
      inputId: expect.any(String),
    });
    expect(written).toBe('');
  });

  it('makes "new" with no prompt shown a login: it asks for a new SMS, whatever the state', async () => {
    const received = await type('new');
    expect(received).toMatchObject({ kind: 'command', operatorId: 'terminal', command: 'login' });
    if (received.kind !== 'command') throw new Error(`not a command: ${received.kind}`);
    await received.respond({ kind: 'login-request', result: 'already-running' });
    expect(written).toContain('A login is already under way');
    expect(written).toContain('type "new" for a new SMS');
  });

  it('prints the help notice with the commands, since the terminal has no command picker', async () => {
    await channel.notify('terminal', { kind: 'help' });
    expect(written).toBe(
      `${plain({ kind: 'help' })}\nOr type "new" for a new SMS, "status", "login" or "cancel".\n`,
    );
  });

  it('gives every line its own input ID, never one an earlier run gave', async () => {
    const first = await type('hello');
    const second = await type('123456');
    expect(first.inputId).not.toBe(second.inputId);

    // A restarted demo: a new channel must not reuse IDs the core may still hold claims for.
    const replayed: OperatorInput[] = [];
    const restartedInput = new PassThrough();
    const restarted = new TerminalOperatorChannel({ input: restartedInput, output: new PassThrough() });
    await restarted.start((received) => replayed.push(received));
    restartedInput.write('hello\n');
    await until(() => replayed.length === 1, 'the restarted channel’s input');
    expect([first.inputId, second.inputId]).not.toContain(replayed[0]?.inputId);
    await restarted.stop();
  });

  it('resolves showPrompt with no refs: there is no message to edit later', async () => {
    expect(await channel.showPrompt(view)).toEqual({});
    expect(await channel.showPrompt(view, { anything: 'from another relay' })).toEqual({});
  });

  it('drops an answer that comes after stop', async () => {
    const received = await type('login');
    if (received.kind !== 'command') throw new Error(`not a command: ${received.kind}`);
    await channel.stop();
    await received.respond({ kind: 'login-request', result: 'started' });
    expect(written).toBe('');
  });
});

describe('TerminalOperatorChannel and CODE_DIGITS, sentAt and Try anyway', () => {
  it('stamps a typed code with the time its line was read', async () => {
    const readAt = new Date('2026-01-02T03:04:05.678Z');
    const local: OperatorInput[] = [];
    const localInput = new PassThrough();
    const stamped = new TerminalOperatorChannel({
      input: localInput,
      output: new PassThrough(),
      now: () => readAt,
    });
    await stamped.start((received) => local.push(received));
    localInput.write('482 913\n');
    await until(() => local.length === 1, 'the code input');
    expect(local[0]).toMatchObject({ kind: 'code', operatorId: 'terminal', sentAt: readAt });
    await stamped.stop();

    const before = Date.now();
    const code = await type('482913');
    expect(code.kind).toBe('code');
    const sentAt = code.kind === 'code' ? code.sentAt.getTime() : Number.NaN;
    expect(sentAt).toBeGreaterThanOrEqual(before);
    expect(sentAt).toBeLessThanOrEqual(Date.now());
  });

  it('takes an 8-digit code by default, and only 8 digits when CODE_DIGITS=8', async () => {
    const code = await type('48291735');
    expect(code.kind === 'code' && code.code.reveal()).toBe('48291735');

    const local: OperatorInput[] = [];
    const localInput = new PassThrough();
    const localOutput = new PassThrough();
    let printed = '';
    localOutput.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const eight = new TerminalOperatorChannel({
      input: localInput,
      output: localOutput,
      codeDigits: { minDigits: 8, maxDigits: 8 },
    });
    await eight.start((received) => local.push(received));
    localInput.write('1234 5678\n123456\n');
    await until(() => local.length === 2, 'two inputs');
    expect(local[0]?.kind === 'code' && local[0].code.reveal()).toBe('12345678');
    expect(local[1]).toMatchObject({ kind: 'unclear' });
    await eight.showPrompt(view);
    await eight.notify('terminal', { kind: 'help' });
    expect(printed).toContain('8 digits');
    expect(printed).toContain('1234 5678');
    await eight.stop();
  });

  it('turns "login anyway" into the login command with force, and plain "login" into one without', async () => {
    const forced = await type('login anyway');
    expect(forced).toMatchObject({ kind: 'command', operatorId: 'terminal', command: 'login', force: true });
    // No halt-confirm shown yet: it names no halt, and the core asks first.
    expect(forced.kind === 'command' && forced.forHalt).toBeUndefined();
    const plainLogin = await type('login');
    expect(plainLogin).toMatchObject({ kind: 'command', command: 'login' });
    expect(plainLogin.kind === 'command' && plainLogin.force).toBeFalsy();
  });

  it('makes "login anyway" name the halt of the last halt-confirm it showed', async () => {
    const confirm = (haltAt: number) =>
      ({ kind: 'login-request', result: 'halt-confirm', haltError: 'bad-credentials', haltAt }) as const;
    const first = await type('login');
    if (first.kind !== 'command') throw new Error(first.kind);
    await first.respond(confirm(1_764_507_600_000));
    expect(await type('login anyway')).toMatchObject({ force: true, forHalt: 1_764_507_600_000 });
    const second = await type('login');
    if (second.kind !== 'command') throw new Error(second.kind);
    await second.respond(confirm(1_764_507_660_000));
    expect(await type('login anyway')).toMatchObject({ force: true, forHalt: 1_764_507_660_000 });
  });

  it('prints the halt-confirm answer with what to type to try anyway, and the new notices', async () => {
    const received = await type('login');
    if (received.kind !== 'command') throw new Error(`not a command: ${received.kind}`);
    await received.respond({ kind: 'login-request', result: 'halt-confirm', haltError: 'bad-credentials' });
    expect(written).toContain('may lock the account');
    expect(written).toContain('type "login anyway"');
    const promptSentAt = new Date('2026-01-02T03:04:05Z');
    await channel.notify('terminal', { kind: 'stale-code', promptSentAt });
    await channel.notify('terminal', { kind: 'input-not-taken' });
    expect(written).toContain('03:04:05 UTC');
    expect(written).toContain('not taken');
    expect(written).not.toMatch(/\*\*|<t:|`/);
  });
});

describe('TerminalOperatorChannel prompts', () => {
  it('names what to type, never a Discord button', async () => {
    await channel.showPrompt(view);
    expect(written).toContain('Type the code');
    expect(written).toContain('Type "cancel"');
    expect(written).toContain('type "new" for a new code');
    expect(written).not.toMatch(/Enter code|Send a new code|choose|press/);
  });

  it('says a login "new" replaced was dropped for a new code, not that you cancelled it', async () => {
    await channel.showPrompt(view);
    expect(await type('new')).toMatchObject({ kind: 'resend', loginId: 'login-7' });
    const before = written.length;
    await channel.showPrompt({ ...view, state: { kind: 'cancelled', operatorId: 'terminal' } });
    const replaced = written.slice(before);
    expect(replaced).toContain('That login is dropped, as you asked for a new code.');
    expect(replaced).not.toContain('cancelled');

    // A login cancelled with "cancel" is told as cancelled.
    const next = { ...view, loginId: 'login-8' };
    await channel.showPrompt(next);
    expect(await type('cancel')).toMatchObject({ kind: 'command', command: 'cancel' });
    const afterCancel = written.length;
    await channel.showPrompt({ ...next, state: { kind: 'cancelled', operatorId: 'terminal' } });
    expect(written.slice(afterCancel)).toContain('you cancelled this login');
  });

  it('forgets the "new" once its login showed another state: a later cancel is a cancel', async () => {
    await channel.showPrompt(view);
    await type('new');
    // Its code was being checked: "new" did nothing, and the login went on.
    await channel.showPrompt({ ...view, state: { kind: 'open', attemptsLeft: 2 } });
    const before = written.length;
    await channel.showPrompt({ ...view, state: { kind: 'cancelled', operatorId: 'terminal' } });
    expect(written.slice(before)).toContain('you cancelled this login');
  });

  it('stops delivering lines after stopInputs, and still prints', async () => {
    await channel.stopInputs();
    input.write('123456\n');
    await delay(30);
    expect(inputs).toEqual([]);
    await channel.notify('terminal', { kind: 'code-received' });
    expect(written).toContain('Code received');
    expect(channel.connectionState()).toBe('connected');
    expect(channel.unreachableOperators()).toEqual([]);
  });
});

describe('TerminalOperatorChannel and a login waiting from an earlier run', () => {
  it('announces it at start, with its deadline and the note, and "new" then acts on it', async () => {
    const local: OperatorInput[] = [];
    const localInput = new PassThrough();
    const localOutput = new PassThrough();
    let printed = '';
    localOutput.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const deadline = new Date('2030-01-02T03:04:05Z');
    const resumed = new TerminalOperatorChannel({
      input: localInput,
      output: localOutput,
      waitingLogin: async () => ({ view: { ...view, loginId: 'earlier', deadline }, note: 'A note.' }),
    });
    await resumed.start((received) => local.push(received));
    expect(printed).toContain('A login started before this run is still waiting for a code');
    expect(printed).toContain('SMS code needed for account "main"');
    expect(printed).toContain('accepted until 03:04:05 UTC');
    expect(printed).toContain('A note.');
    localInput.write('new\n');
    await until(() => local.length === 1, 'the input of "new"');
    expect(local[0]).toMatchObject({ kind: 'resend', loginId: 'earlier' });
    await resumed.stop();
  });

  it('announces each account’s waiting login, and "new <account>" acts on that account’s', async () => {
    const local: OperatorInput[] = [];
    const localInput = new PassThrough();
    const localOutput = new PassThrough();
    let printed = '';
    localOutput.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    const resumed = new TerminalOperatorChannel({
      input: localInput,
      output: localOutput,
      accounts: ['live', 'paper'],
      waitingLogin: async () => [
        { view: { ...view, account: 'live', loginId: 'l-earlier' } },
        { view: { ...view, account: 'paper', loginId: 'p-earlier' } },
      ],
    });
    await resumed.start((received) => local.push(received));
    expect(printed).toContain('SMS code needed for account "live"');
    expect(printed).toContain('SMS code needed for account "paper"');
    localInput.write('new paper\n');
    await until(() => local.length === 1, 'the input of "new paper"');
    expect(local[0]).toMatchObject({ kind: 'resend', loginId: 'p-earlier', account: 'paper' });
    await resumed.stop();
  });

  it('prints nothing at start when no login waits', () => {
    expect(written).toBe('');
  });
});
