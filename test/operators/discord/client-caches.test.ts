/**
 * The channel's discord.js caches are sized for a DM-only bot (discord-channel.ts, `makeCache`): no
 * message cache, only the operators (and the bot) in the user cache, DM channels kept. These tests
 * would fail if a cache were smaller than what the channel reads back from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordOperatorChannel } from '../../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView } from '../../../src/relay/ports/operators.js';
import { createLogger } from '../../../src/shared/log.js';
import { Secret } from '../../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator, type RestCall } from '../../fakes/discord/index.js';

/** Strangers who write to the bot: each would stay in an unlimited user cache. */
const STRANGERS = 30;

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let closed: string;
const inputs: OperatorInput[] = [];

function view(loginId: string, attemptsLeft = 3): PromptView {
  return {
    loginId,
    account: 'main',
    reason: 'renewal',
    deadline: new Date(Date.now() + 5 * 60_000),
    state: { kind: 'open', attemptsLeft },
  };
}

const dmChannelsOpened = (): RestCall[] =>
  emulator.restCalls.filter((call) => call.method === 'POST' && call.route === '/users/@me/channels');

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  closed = emulator.createUser('closed', { dmsOpen: false });
  channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, closed],
    apiUrl: emulator.apiUrl,
    logger: createLogger({ level: 'silent' }),
    dmRetry: { tries: 1 },
    strangerReplyIntervalMs: 0,
  });
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('the Discord client caches', () => {
  it('edits a prompt by its ID, with no message cached, after notices and DMs in between', async () => {
    await channel.showPrompt(view('login-cache'));
    const [prompt] = emulator.dmsTo(alice);
    expect(prompt).toBeDefined();
    // Messages in the same DM channel after the prompt: what a message cache would have held.
    for (let i = 0; i < 3; i += 1) {
      await channel.notify(alice, { kind: 'code-received' });
    }
    const codeMessage = emulator.sendDm(alice, '48291');
    await emulator.waitFor(() => inputs.some((input) => input.inputId === codeMessage), { what: 'the DM' });

    const messagesBefore = emulator.dmsTo(alice).length;
    const openedBefore = dmChannelsOpened().length;
    const editsBefore = emulator.dmsTo(alice).find((message) => message.id === prompt!.id)!.editCount;
    await channel.showPrompt(view('login-cache', 1));
    const edited = emulator.dmsTo(alice).find((message) => message.id === prompt!.id);
    expect(edited?.editCount).toBe(editsBefore + 1);
    expect(edited?.content).not.toBe(prompt!.content);
    // An edit, not a new prompt; and no DM channel opened again (the closed operator's is tried anew).
    expect(emulator.dmsTo(alice)).toHaveLength(messagesBefore);
    expect(dmChannelsOpened()).toHaveLength(openedBefore);
  });

  it('keeps the operators’ DM channels, and their names, whoever else writes to the bot', async () => {
    const opened = dmChannelsOpened().length;
    const strangers = Array.from({ length: STRANGERS }, (_, i) => emulator.createUser(`stranger-${i}`));
    const last = strangers.map((stranger) => emulator.sendDm(stranger, 'hello')).at(-1)!;
    // Strangers' DMs are never delivered: a DM from alice afterwards shows they were all read.
    const sentinel = emulator.sendDm(alice, 'what?');
    await emulator.waitFor(() => inputs.some((input) => input.inputId === sentinel), { what: 'the DM' });
    expect(inputs.some((input) => input.inputId === last)).toBe(false);

    await channel.showPrompt(view('login-after-strangers'));
    const prompt = emulator.dmsTo(alice).at(-1);
    // The operator whose DMs are closed is named by their display name, from the user cache.
    expect(prompt?.content).toContain('Could not reach: closed (DMs closed)');
    // alice's DM channel came from the channel cache: not opened again.
    expect(dmChannelsOpened()).toHaveLength(opened);
  });
});
