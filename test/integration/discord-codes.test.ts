import {
  ButtonStyle,
  ComponentType,
  InteractionResponseType,
  type APIModalInteractionResponseCallbackData,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import {
  InteractionTimeoutError,
  startDiscordEmulator,
  type DiscordEmulator,
} from '../fakes/discord/index.js';
import { snowflakeTime } from '../fakes/discord/snowflake.js';

/**
 * Issue 10 through the Discord emulator: codes of another length than 6 (CODE_DIGITS, default 4-8),
 * the time each code was written (`sentAt`), "Try anyway" on a halted `/login`, and strangers who
 * cost at most one reply a minute.
 */

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let bob: string;
let stranger: string;
const inputs: OperatorInput[] = [];
const logLines: string[] = [];

function view(loginId: string): PromptView {
  return {
    loginId,
    account: 'main',
    reason: 'renewal',
    deadline: new Date(Date.now() + 5 * 60_000),
    state: { kind: 'open', attemptsLeft: 3 },
  };
}

/** The time Discord stamped on `id`, on the relay's clock. */
function onRelayClock(id: string): Date {
  return new Date(snowflakeTime(id).getTime() - channel.discordClockOffsetMs());
}

async function nextInput(before: number, what: string): Promise<OperatorInput> {
  return emulator.waitFor(() => inputs[before], { what });
}

beforeAll(async () => {
  emulator = await startDiscordEmulator({ interactionTimeoutMs: 1_000 });
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  stranger = emulator.createUser('mallory');
  // CODE_DIGITS left at its default, 4-8: an 8-digit code is one of them.
  channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob],
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
  });
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('an 8-digit code', () => {
  it('tells the operators how many digits, and shows a modal whose bounds follow the setting', async () => {
    await channel.showPrompt(view('login-8'));
    const [prompt] = emulator.dmsTo(alice);
    expect(prompt?.content).toContain('4 to 8 digits');
    const callback = await emulator.clickButton(alice, prompt!.id, 'otp:code:login-8');
    if (callback.type !== InteractionResponseType.Modal) throw new Error(`not a modal: ${callback.type}`);
    const modal: APIModalInteractionResponseCallbackData = callback.data;
    const [label] = modal.components;
    const field = label?.type === ComponentType.Label ? label.component : undefined;
    expect(field).toMatchObject({ type: ComponentType.TextInput, min_length: 4, max_length: 20 });
  });

  it('reaches the core as one code when typed as a DM reply, with the message’s time as sentAt', async () => {
    for (const [text, code] of [
      ['48291735', '48291735'],
      ['482-917-35', '48291735'],
      [' 1234567 ', '1234567'],
    ] as const) {
      const before = inputs.length;
      const messageId = emulator.sendDm(alice, text);
      const input = await nextInput(before, `the code input of ${JSON.stringify(text)}`);
      expect(input).toMatchObject({ kind: 'code', operatorId: alice, inputId: messageId });
      if (input.kind !== 'code') throw new Error(input.kind);
      expect(input.code.reveal()).toBe(code);
      expect(input.loginId).toBeUndefined();
      // Discord's own timestamp of the message (its snowflake), not when the relay got it, put on the
      // relay's clock (the same machine's here: the offset learned is the error of its estimate).
      expect(input.sentAt).toEqual(onRelayClock(messageId));
    }
  });

  it('reaches the core as one code through the modal, with the interaction’s time as sentAt', async () => {
    const [prompt] = emulator.dmsTo(bob);
    await emulator.clickButton(bob, prompt!.id, 'otp:code:login-8');
    const before = inputs.length;
    const callback = await emulator.submitModal(bob, 'otp:modal:login-8', { code: '4829 173' });
    expect(callback.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await nextInput(before, 'the modal code');
    expect(input).toMatchObject({
      kind: 'code',
      operatorId: bob,
      loginId: 'login-8',
      inputId: callback.interactionId,
    });
    if (input.kind !== 'code') throw new Error(input.kind);
    expect(input.code.reveal()).toBe('4829173');
    expect(input.sentAt).toEqual(onRelayClock(callback.interactionId));
  });

  it('refuses text that could be two codes, or has too few digits, as unclear', async () => {
    for (const text of ['1234 5678', '123', '123456789']) {
      const before = inputs.length;
      const messageId = emulator.sendDm(alice, text);
      expect(await nextInput(before, 'the unclear input')).toEqual({
        kind: 'unclear',
        operatorId: alice,
        inputId: messageId,
      });
    }
  });
});

describe('"Try anyway" on a halted /login', () => {
  let haltMessageId: string;
  const haltAt = Date.parse('2026-11-30T13:00:00.123Z');

  it('answers halt-confirm with the risk and a Try anyway button that names the halt', async () => {
    const before = inputs.length;
    const ran = await emulator.runCommand(alice, 'login');
    const input = await nextInput(before, 'the /login input');
    if (input.kind !== 'command') throw new Error(input.kind);
    expect(input.force).toBeUndefined();
    expect(input.forHalt).toBeUndefined();
    await input.respond({
      kind: 'login-request',
      result: 'halt-confirm',
      haltError: 'bad-credentials',
      haltAt,
    });
    const reply = emulator.interactionReply(ran.interactionId);
    expect(reply?.content).toContain('may lock the account');
    expect(reply?.buttons).toEqual([
      {
        customId: `otp:notice:force-login:${haltAt}`,
        label: 'Try anyway',
        style: ButtonStyle.Danger,
        disabled: false,
      },
    ]);
    haltMessageId = reply!.id;
  });

  it('refuses a stranger’s press, and delivers nothing', async () => {
    // The stranger cannot see alice's DM; a forged press (same custom ID, own DM) is what they could do.
    const forged = await emulator.runCommand(stranger, 'status');
    expect(forged.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    const before = inputs.length;
    // Rationed: the refusal above was this minute's only one.
    await expect(emulator.runCommand(stranger, 'login')).rejects.toBeInstanceOf(InteractionTimeoutError);
    expect(inputs).toHaveLength(before);
  });

  it('delivers an operator’s press as the login command with force for its halt, and the answer replaces the button', async () => {
    const before = inputs.length;
    const pressed = await emulator.clickButton(alice, haltMessageId, `otp:notice:force-login:${haltAt}`);
    expect(pressed.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await nextInput(before, 'the forced login');
    expect(input).toMatchObject({
      kind: 'command',
      operatorId: alice,
      command: 'login',
      force: true,
      forHalt: haltAt,
      inputId: pressed.interactionId,
    });
    if (input.kind !== 'command') throw new Error(input.kind);
    await input.respond({ kind: 'login-request', result: 'started' });
    const message = emulator.dmsTo(alice).find((dm) => dm.id === haltMessageId);
    expect(message?.content).toContain('Login started');
    // One press, one consent: the button is gone.
    expect(message?.buttons).toEqual([]);
    expect(inputs).toHaveLength(before + 1);
  });

  it('delivers a press of a button that names no halt (an older version’s) with force and no halt', async () => {
    const before = inputs.length;
    const ran = await emulator.runCommand(bob, 'login');
    const asked = await nextInput(before, 'the /login input');
    if (asked.kind !== 'command') throw new Error(asked.kind);
    await asked.respond({ kind: 'login-request', result: 'halt-confirm' });
    const reply = emulator.interactionReply(ran.interactionId);
    expect(reply?.buttons.map((button) => button.customId)).toEqual(['otp:notice:force-login']);
    const pressed = await emulator.clickButton(bob, reply!.id, 'otp:notice:force-login');
    const input = await nextInput(before + 1, 'the forced login');
    expect(input).toMatchObject({ kind: 'command', command: 'login', force: true });
    expect(input.kind === 'command' && 'forHalt' in input).toBe(false);
    expect(input.inputId).toBe(pressed.interactionId);
    if (input.kind === 'command') await input.respond({ kind: 'login-request', result: 'started' });
  });
});

describe('a stranger', () => {
  it('sending 10 DMs gets no reply, costs no REST call, and one log line', async () => {
    const newcomer = emulator.createUser('eve');
    const restBefore = emulator.restCalls.length;
    const inputsBefore = inputs.length;
    const sent = Array.from({ length: 10 }, (_, i) => emulator.sendDm(newcomer, `hello ${i} 123456`));
    // A sentinel: an operator's DM after them arrives after them.
    const sentinel = emulator.sendDm(alice, 'sentinel');
    await emulator.waitFor(() => inputs.some((input) => input.inputId === sentinel), {
      what: 'the sentinel',
    });
    expect(sent).toHaveLength(10);
    expect(emulator.dmsTo(newcomer)).toEqual([]);
    expect(emulator.restCalls.slice(restBefore)).toEqual([]);
    expect(inputs.slice(inputsBefore).map((input) => input.operatorId)).toEqual([alice]);
    const lines = logLines.filter((line) => line.includes(newcomer));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ignored a DM from a user who is not an operator');
    expect(lines.join('')).not.toContain('hello');
  });

  it('running a command 10 times gets 1 refusal', async () => {
    const newcomer = emulator.createUser('trudy');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => emulator.runCommand(newcomer, 'status')),
    );
    const answered = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(answered).toHaveLength(1);
    expect(
      outcomes.filter(
        (outcome) => outcome.status === 'rejected' && outcome.reason instanceof InteractionTimeoutError,
      ),
    ).toHaveLength(9);
    expect(emulator.dmsTo(newcomer).filter((dm) => dm.ephemeral)).toHaveLength(1);
  });
});
