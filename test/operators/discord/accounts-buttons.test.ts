import { ButtonStyle, ComponentType, InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderNotice } from '../../../src/operators/messages.js';
import { openView, startEmulatedChannel, type EmulatedChannel } from './emulated-channel.js';

// Several accounts on Discord: the buttons and the modal that name their account, the "which
// account?" buttons of a command, and the buttons of prompts sent before the upgrade.

let t: EmulatedChannel;
let alice: string;
let bob: string;

const names = (id: string): string => ({ [alice]: 'alice', [bob]: 'bob' })[id] ?? `<@${id}>`;

beforeAll(async () => {
  t = await startEmulatedChannel(['alice', 'bob'], { accounts: ['live', 'paper'] });
  ({ alice, bob } = t.users as Record<'alice' | 'bob', string>);
});

afterAll(async () => {
  await t?.close();
});

describe('a prompt of one account among several', () => {
  let promptId: string;

  it('names the account in each button', async () => {
    await t.channel.showPrompt(openView('0a1b2c3d', 'paper'));
    const prompt = t.emulator.dmsTo(alice).at(-1)!;
    promptId = prompt.id;
    expect(prompt.buttons.map((b) => b.customId)).toEqual([
      'otp:code@paper:0a1b2c3d',
      'otp:resend@paper:0a1b2c3d',
      'otp:cancel@paper:0a1b2c3d',
    ]);
  });

  it('opens a modal that names the account, and its code carries it', async () => {
    const opened = await t.emulator.clickButton(alice, promptId, 'otp:code@paper:0a1b2c3d');
    expect(opened.type).toBe(InteractionResponseType.Modal);
    const before = t.inputs.length;
    const submitted = await t.emulator.submitModal(alice, 'otp:modal@paper:0a1b2c3d', { code: '482 913' });
    expect(submitted.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await t.nextInput(before, 'the code');
    expect(input).toMatchObject({ kind: 'code', operatorId: alice, loginId: '0a1b2c3d', account: 'paper' });
    if (input.kind !== 'code') throw new Error(input.kind);
    expect(input.code.reveal()).toBe('482913');
    expect(t.logLines.join('\n')).not.toContain('482913');
  });

  it.each(['resend', 'cancel'] as const)('delivers %s with the account', async (action) => {
    const before = t.inputs.length;
    const pressed = await t.emulator.clickButton(
      bob,
      t.emulator.dmsTo(bob).at(-1)!.id,
      `otp:${action}@paper:0a1b2c3d`,
    );
    expect(await t.nextInput(before, action)).toEqual({
      kind: action,
      operatorId: bob,
      loginId: '0a1b2c3d',
      account: 'paper',
      inputId: pressed.interactionId,
    });
  });
});

describe('"which account?" for a command', () => {
  let replyId: string;

  it('is the answer to /login without an account, with one button per account', async () => {
    const before = t.inputs.length;
    const ran = await t.emulator.runCommand(bob, 'login');
    const input = await t.nextInput(before, '/login');
    if (input.kind !== 'command') throw new Error(input.kind);
    expect(input.account).toBeUndefined();
    const question = {
      kind: 'choose-account',
      question: { kind: 'command', command: 'login' },
      accounts: ['live', 'paper'],
    } as const;
    await input.respond(question);
    const reply = t.emulator.interactionReply(ran.interactionId)!;
    replyId = reply.id;
    expect(reply.content).toBe(renderNotice(question, names));
    expect(reply.buttons).toEqual([
      { customId: 'otp:pick:login:live', label: 'live', style: ButtonStyle.Primary, disabled: false },
      { customId: 'otp:pick:login:paper', label: 'paper', style: ButtonStyle.Primary, disabled: false },
    ]);
  });

  it('delivers a press as the command for that account, once, and its answer replaces the question', async () => {
    const before = t.inputs.length;
    const pressed = await t.emulator.clickButton(bob, replyId, 'otp:pick:login:live');
    expect(pressed.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await t.nextInput(before, 'the pick');
    expect(input).toMatchObject({
      kind: 'command',
      operatorId: bob,
      command: 'login',
      account: 'live',
      inputId: pressed.interactionId,
    });
    if (input.kind !== 'command') throw new Error(input.kind);
    expect(input.force).toBeUndefined();
    const sentinel = t.emulator.sendDm(bob, 'ok');
    expect((await t.nextInput(before + 1, 'the sentinel')).inputId).toBe(sentinel);

    await input.respond({ kind: 'login-request', result: 'started', account: 'live' });
    await input.respond({ kind: 'login-request', result: 'already-running', account: 'live' });
    const answered = t.emulator.dmsTo(bob).find((dm) => dm.id === replyId)!;
    expect(answered.content).toBe(
      renderNotice({ kind: 'login-request', result: 'started', account: 'live' }, names),
    );
    expect(answered.buttons).toEqual([]);
    expect(answered.editCount).toBe(2); // the deferred reply's question, then its answer
  });

  it('gives "Try anyway" the account of its answer, and a press carries it', async () => {
    const before = t.inputs.length;
    const ran = await t.emulator.runCommand(alice, 'login', { options: { account: 'paper' } });
    const input = await t.nextInput(before, '/login paper');
    if (input.kind !== 'command') throw new Error(input.kind);
    expect(input.account).toBe('paper');
    await input.respond({ kind: 'login-request', result: 'halt-confirm', haltAt: 17, account: 'paper' });
    const reply = t.emulator.interactionReply(ran.interactionId)!;
    expect(reply.buttons.map((b) => b.customId)).toEqual(['otp:notice:force-login@paper:17']);
    const pressed = await t.emulator.clickButton(alice, reply.id, 'otp:notice:force-login@paper:17');
    expect(await t.nextInput(before + 1, 'Try anyway')).toMatchObject({
      kind: 'command',
      command: 'login',
      force: true,
      forHalt: 17,
      account: 'paper',
      inputId: pressed.interactionId,
    });
  });
});

describe('buttons of a prompt sent before the upgrade', () => {
  let oldPromptId: string;

  /** What the previous version sent: buttons that name no account. */
  async function postOldPrompt(userId: string): Promise<string> {
    const channelId = t.emulator.dmsTo(userId).at(-1)!.channelId;
    const button = (customId: string, label: string) => ({
      type: ComponentType.Button,
      style: ButtonStyle.Secondary,
      custom_id: customId,
      label,
    });
    const response = await fetch(`${t.emulator.apiUrl}/v10/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${t.emulator.botToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        content: 'SMS code needed (sent by the previous version)',
        components: [
          {
            type: ComponentType.ActionRow,
            components: [
              button('otp:code:login-old', 'Enter code'),
              button('otp:resend:login-old', 'Send a new code'),
              button('otp:notice:force-login:17', 'Try anyway'),
            ],
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { id: string }).id;
  }

  it('still work, and their inputs name no account', async () => {
    oldPromptId = await postOldPrompt(alice);
    const before = t.inputs.length;
    const resent = await t.emulator.clickButton(alice, oldPromptId, 'otp:resend:login-old');
    expect(await t.nextInput(before, 'resend')).toEqual({
      kind: 'resend',
      operatorId: alice,
      loginId: 'login-old',
      inputId: resent.interactionId,
    });

    await t.emulator.clickButton(alice, oldPromptId, 'otp:code:login-old');
    await t.emulator.submitModal(alice, 'otp:modal:login-old', { code: '907351' });
    const code = await t.nextInput(before + 1, 'the code');
    expect(code).toMatchObject({ kind: 'code', loginId: 'login-old' });
    expect(code).not.toHaveProperty('account');

    await t.emulator.clickButton(alice, oldPromptId, 'otp:notice:force-login:17');
    const forced = await t.nextInput(before + 2, 'Try anyway');
    expect(forced).toMatchObject({ kind: 'command', command: 'login', force: true, forHalt: 17 });
    expect(forced).not.toHaveProperty('account');
  });

  it('names no account on a prompt of an account no custom ID can carry (one account, any RELAY_ACCOUNT)', async () => {
    await t.channel.showPrompt(openView('5f607182', 'Main.Account'));
    expect(
      t.emulator
        .dmsTo(alice)
        .at(-1)
        ?.buttons.map((b) => b.customId),
    ).toEqual(['otp:code:5f607182', 'otp:resend:5f607182', 'otp:cancel:5f607182']);
  });
});
