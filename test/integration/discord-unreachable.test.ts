import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { DiscordOperatorChannel, type DmFailure } from '../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView, StatusView } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';

/**
 * Issue 12, item 2, against the Discord emulator: an operator whose DMs are closed (Discord refuses
 * the bot's DM with 50007) is logged by ID, counted, listed for `/readyz`, named in the others'
 * prompts, and `/status` lists whom the last prompt reached; a DM that goes through again ends it.
 */

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let bob: string;
let closed: string;
const inputs: OperatorInput[] = [];
const failures: DmFailure[] = [];
const logLines: string[] = [];
const CLOSED_LINE = 'Could not reach: closed (DMs closed). They did not get this message.';

function view(loginId: string, state: PromptView['state'] = { kind: 'open', attemptsLeft: 3 }): PromptView {
  return { loginId, account: 'main', reason: 'renewal', deadline: new Date(Date.now() + 5 * 60_000), state };
}

const STATUS: StatusView = {
  account: 'main',
  token: undefined,
  login: { state: 'awaiting-code', reason: 'renewal' },
  nextLogin: undefined,
  lastFailure: undefined,
  halted: undefined,
  loginsLastHour: 1,
  maxLoginsPerHour: 4,
  recentLogins: [],
};

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  closed = emulator.createUser('closed', { dmsOpen: false });
  channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob, closed],
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
    dmRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    onDmFailure: (failure) => failures.push(failure),
  });
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('an operator whose DMs are closed', () => {
  it('gets no prompt; the others get theirs, naming who could not be reached', async () => {
    const refs = await channel.showPrompt(view('login-a'));
    expect(Object.keys(refs).sort()).toEqual([alice, bob].sort());
    expect(emulator.dmsTo(closed)).toHaveLength(0);
    for (const operator of [alice, bob]) {
      const messages = emulator.dmsTo(operator);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.content.split('\n')[0]).toContain('SMS code needed for account');
      expect(messages[0]!.content.split('\n').at(-1)).toBe(CLOSED_LINE);
    }
    // The emulator records Discord's refusal; nothing else went wrong.
    expect(emulator.problems).toEqual([
      'REST POST /channels/:channelId/messages: 403 Cannot send messages to this user',
    ]);
  });

  it('is counted once per failed DM, as dms-closed, and listed as unreachable', () => {
    expect(failures).toEqual([{ operatorId: closed, reason: 'dms-closed' }]);
    expect(channel.unreachableOperators()).toEqual([
      { operatorId: closed, reason: 'dms-closed', since: expect.any(Date) },
    ]);
  });

  it('is logged by operator ID with the reason, never with the text', () => {
    const lines = logLines.filter((line) => line.includes('operator unreachable'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      operatorId: closed,
      reason: 'dms-closed',
      discordCode: 50007,
      level: 40,
    });
    expect(logLines.join('\n')).not.toContain('SMS code needed');
  });

  it('is tried again with each render of the prompt, which stays one message for the others', async () => {
    await channel.showPrompt(view('login-a', { kind: 'checking', operatorId: alice }));
    expect(failures).toHaveLength(2);
    expect(emulator.dmsTo(alice)).toHaveLength(1);
    expect(emulator.dmsTo(alice)[0]!.content).toContain(CLOSED_LINE);
    // Already known: not logged as news again.
    expect(logLines.filter((line) => line.includes('operator unreachable'))).toHaveLength(1);
  });

  it('/status lists whom the last prompt reached and whom it could not', async () => {
    const before = inputs.length;
    const callback = await emulator.runCommand(alice, 'status');
    const input = await emulator.waitFor(() => inputs[before], { what: 'the /status input' });
    if (input.kind !== 'command') throw new Error(`not a command: ${input.kind}`);
    expect(channel.lastPrompt()).toMatchObject({
      loginId: 'login-a',
      reached: [alice, bob],
      unreachable: [{ operatorId: closed, reason: 'dms-closed' }],
    });
    await input.respond({ kind: 'status', status: STATUS });
    const reply = await emulator.waitFor(() => {
      const message = emulator.interactionReply(callback.interactionId);
      return message !== undefined && message.editCount > 0 ? message : undefined;
    });
    expect(reply.content).toMatch(
      /Last prompt, <t:\d+:f> \(<t:\d+:R>\): sent to alice, bob; could not reach closed \(DMs closed\)\./,
    );
  });

  it('is counted when a notice fails too', async () => {
    await channel.broadcast({ kind: 'no-pending-login' });
    expect(failures).toHaveLength(3);
    expect(failures.at(-1)).toEqual({ operatorId: closed, reason: 'dms-closed' });
  });

  it('is reachable again once a DM goes through, and the next prompt names nobody', async () => {
    emulator.setDmsOpen(closed, true);
    await channel.notify(closed, { kind: 'no-pending-login' });
    expect(emulator.dmsTo(closed)).toHaveLength(1);
    expect(channel.unreachableOperators()).toEqual([]);
    expect(logLines.some((line) => line.includes('reachable again') && line.includes(closed))).toBe(true);
    await channel.showPrompt(view('login-b'));
    for (const operator of [alice, bob, closed]) {
      expect(emulator.dmsTo(operator).at(-1)!.content).not.toContain('Could not reach');
    }
    expect(channel.lastPrompt()).toMatchObject({
      loginId: 'login-b',
      reached: [alice, bob, closed],
      unreachable: [],
    });
  });

  it('closing them again during a prompt: the prompts already sent are edited to name them', async () => {
    emulator.setDmsOpen(closed, false);
    await channel.showPrompt(view('login-c'));
    for (const operator of [alice, bob]) {
      const prompt = emulator.dmsTo(operator).at(-1)!;
      expect(prompt.content).toContain(CLOSED_LINE);
      // Rendered before the failure was known, then edited once to add the line.
      expect(prompt.editCount).toBe(1);
    }
  });
});
