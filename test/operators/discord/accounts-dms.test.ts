import { ButtonStyle, InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderNotice } from '../../../src/operators/messages.js';
import type { OperatorNotice } from '../../../src/relay/ports/operators.js';
import { openView, startEmulatedChannel, type EmulatedChannel } from './emulated-channel.js';

// Several accounts on Discord: replies that name their prompt, prompts for their account's operators
// only, and the "which account is this code for?" question with its buttons.

let t: EmulatedChannel;
let alice: string;
let bob: string;
let carol: string;
let dave: string;

const names = (id: string): string =>
  ({ [alice]: 'alice', [bob]: 'bob', [carol]: 'carol', [dave]: 'dave' })[id] ?? `<@${id}>`;

beforeAll(async () => {
  t = await startEmulatedChannel(['alice', 'bob', 'carol', 'dave'], {
    accounts: ['live', 'paper'],
    closed: ['dave'],
  });
  ({ alice, bob, carol, dave } = t.users as Record<'alice' | 'bob' | 'carol' | 'dave', string>);
});

afterAll(async () => {
  await t?.close();
});

describe('a DM that is a Discord reply', () => {
  it('carries the message it answers as replyTo, on a code and on unclear text', async () => {
    await t.channel.showPrompt(openView('0a1b2c3d', 'live', [alice]));
    const promptId = t.emulator.dmsTo(alice).at(-1)?.id;
    expect(promptId).toBeDefined();

    const before = t.inputs.length;
    const codeId = t.emulator.sendDm(alice, '482913', { replyTo: promptId! });
    expect(await t.nextInput(before, 'the code')).toMatchObject({
      kind: 'code',
      operatorId: alice,
      replyTo: promptId,
      inputId: codeId,
    });
    const unclearId = t.emulator.sendDm(alice, 'which one?', { replyTo: promptId! });
    expect(await t.nextInput(before + 1, 'the unclear text')).toEqual({
      kind: 'unclear',
      operatorId: alice,
      replyTo: promptId,
      inputId: unclearId,
    });
  });

  it('carries no replyTo when the DM is not a reply', async () => {
    const before = t.inputs.length;
    t.emulator.sendDm(alice, '907351');
    const input = await t.nextInput(before, 'the code');
    expect(input.kind).toBe('code');
    expect(input).not.toHaveProperty('replyTo');
  });
});

describe('a prompt that names its operators', () => {
  it('goes to those operators only, and /status counts only them', async () => {
    const refs = await t.channel.showPrompt(openView('1b2c3d4e', 'live', [alice, bob, 'not-an-operator']));
    expect(Object.keys(refs).sort()).toEqual([alice, bob].sort());
    for (const id of [alice, bob]) {
      expect(
        t.emulator.dmsTo(id).some((dm) => dm.buttons.some((b) => b.customId === 'otp:code@live:1b2c3d4e')),
      ).toBe(true);
    }
    expect(t.emulator.dmsTo(carol)).toEqual([]);
    expect(t.channel.lastPrompt()).toMatchObject({
      loginId: '1b2c3d4e',
      reached: [alice, bob],
      unreachable: [],
    });
  });

  it('names only its own operators it could not reach', async () => {
    // dave's DMs are closed: a prompt of live (not his) does not name him; one of paper does.
    await t.channel.showPrompt(openView('2c3d4e5f', 'paper', [carol, dave]));
    const paper = t.emulator.dmsTo(carol).at(-1);
    expect(paper?.content).toContain('Could not reach: dave (DMs closed).');
    expect(t.channel.lastPrompt()).toMatchObject({
      reached: [carol],
      unreachable: [{ operatorId: dave, reason: 'dms-closed' }],
    });

    await t.channel.showPrompt(openView('3d4e5f60', 'live', [alice]));
    expect(t.emulator.dmsTo(alice).at(-1)?.content).not.toContain('Could not reach');
    expect(t.channel.lastPrompt()).toMatchObject({ loginId: '3d4e5f60', reached: [alice], unreachable: [] });
  });

  it('goes to every operator when it names none, as with one account', async () => {
    const refs = await t.channel.showPrompt(openView('4e5f6071', 'live'));
    expect(Object.keys(refs).sort()).toEqual([alice, bob, carol].sort());
  });

  it('shows in /status of an account whom that account’s last prompt reached', async () => {
    const before = t.inputs.length;
    const ran = await t.emulator.runCommand(bob, 'status', { options: { account: 'paper' } });
    const input = await t.nextInput(before, '/status');
    if (input.kind !== 'command') throw new Error(input.kind);
    expect(input.account).toBe('paper');
    await input.respond({
      kind: 'status',
      status: {
        account: 'paper',
        token: undefined,
        login: { state: 'awaiting-code' },
        nextLogin: undefined,
        lastFailure: undefined,
        halted: undefined,
        loginsLastHour: 1,
        maxLoginsPerHour: 4,
        recentLogins: [],
      },
    });
    // paper's prompt (2c3d4e5f) reached carol, not dave; later prompts were live's.
    expect(t.emulator.interactionReply(ran.interactionId)?.content).toMatch(
      /Last prompt, .*: sent to carol; could not reach .*\(DMs closed\)/,
    );
  });
});

describe('the question "which account is this code for?"', () => {
  let codeId: string;
  let questionId: string;

  it('is a reply to the operator’s message, with one button per account and never the code', async () => {
    codeId = t.emulator.sendDm(alice, '246810');
    const notice: OperatorNotice = {
      kind: 'choose-account',
      question: { kind: 'code', inputId: codeId },
      accounts: ['live', 'paper'],
    };
    await t.channel.notify(alice, notice);
    const question = t.emulator.dmsTo(alice).at(-1)!;
    questionId = question.id;
    expect(question.replyTo).toBe(codeId);
    expect(question.content).toBe(renderNotice(notice, names));
    expect(question.content).not.toContain('246810');
    expect(question.buttons).toEqual([
      { customId: `otp:route:live:${codeId}`, label: 'live', style: ButtonStyle.Primary, disabled: false },
      { customId: `otp:route:paper:${codeId}`, label: 'paper', style: ButtonStyle.Primary, disabled: false },
    ]);
  });

  it('delivers a press as account-chosen, once, acknowledged with an update', async () => {
    const before = t.inputs.length;
    const pressed = await t.emulator.clickButton(alice, questionId, `otp:route:paper:${codeId}`);
    expect(pressed.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await t.nextInput(before, 'the choice');
    expect(input).toMatchObject({
      kind: 'account-chosen',
      operatorId: alice,
      account: 'paper',
      codeInputId: codeId,
      inputId: pressed.interactionId,
    });
    // A sentinel: the next DM is the next input, so the press made one input only.
    const sentinel = t.emulator.sendDm(alice, 'thanks');
    expect((await t.nextInput(before + 1, 'the sentinel')).inputId).toBe(sentinel);

    if (input.kind !== 'account-chosen') throw new Error(input.kind);
    await input.respond({ kind: 'code-routed', account: 'paper' });
    await input.respond({ kind: 'choice-over', why: 'answered' });
    const answered = t.emulator.dmsTo(alice).find((dm) => dm.id === questionId);
    expect(answered?.content).toBe(renderNotice({ kind: 'code-routed', account: 'paper' }, names));
    // Answered once on screen too: its buttons are gone, and the second answer was dropped.
    expect(answered?.buttons).toEqual([]);
    expect(answered?.editCount).toBe(1);
    expect(t.logLines.some((line) => line.includes('dropped a second answer'))).toBe(true);
    await expect(t.emulator.clickButton(alice, questionId, `otp:route:live:${codeId}`)).rejects.toThrow(
      /no button/,
    );
  });

  it('offers 25 accounts at most, in rows of five', async () => {
    const accounts = Array.from({ length: 30 }, (_, i) => `account-${i}`);
    await t.channel.notify(bob, {
      kind: 'choose-account',
      question: { kind: 'code', inputId: codeId },
      accounts,
    });
    const question = t.emulator.dmsTo(bob).at(-1)!;
    expect(question.buttons.map((b) => b.label)).toEqual(accounts.slice(0, 25));
    expect(question.components).toHaveLength(5);
    expect(t.emulator.problems.filter((p) => p.includes('components'))).toEqual([]);
  });

  it('is sent as a plain message when the operator’s message is gone', async () => {
    await t.channel.notify(carol, {
      kind: 'choose-account',
      question: { kind: 'code', inputId: '1312345678901234567' },
      accounts: ['live', 'paper'],
    });
    const question = t.emulator.dmsTo(carol).at(-1)!;
    expect(question.replyTo).toBeUndefined();
    expect(question.buttons).toHaveLength(2);
  });

  it('lets the channel answer any notice as a reply to a given message', async () => {
    const messageId = t.emulator.sendDm(bob, '135790');
    await t.channel.reply(bob, messageId, { kind: 'busy', operatorId: alice });
    const answer = t.emulator.dmsTo(bob).at(-1)!;
    expect(answer.replyTo).toBe(messageId);
    expect(answer.content).toContain('alice');
  });
});
