import {
  ButtonStyle,
  ComponentType,
  GatewayIntentBits,
  InteractionResponseType,
  MessageFlags,
  type APIModalInteractionResponseCallbackData,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { DiscordChannelError, DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView } from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';

/** Codes typed in these tests. The help text's examples (123456…) are left out of the message scan. */
const TYPED_CODES = ['482913', '907351', '246810'] as const;

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let bob: string;
let closedDms: string;
let outsider: string;
const missingUser = '100000000000000001';
const wrongToken = 'd3JvbmcK.wrong-token.8f3kXq2Zp0LmN7vB4cR1sT6yW9';
const inputs: OperatorInput[] = [];
const logLines: string[] = [];

function view(loginId: string, state: PromptView['state'] = { kind: 'open', attemptsLeft: 3 }): PromptView {
  return { loginId, account: 'main', reason: 'renewal', deadline: new Date(Date.now() + 5 * 60_000), state };
}

/**
 * Sends `text` from `userId`, which is not one code, and waits for its `unclear` input. Returns the
 * inputs delivered before it (since the call): DMs arrive in order, so this is a sentinel that shows
 * what came of earlier DMs. The channel itself never replies to unclear text (the core does).
 */
async function unclearAfter(userId: string, text: string): Promise<OperatorInput[]> {
  const dmsBefore = emulator.dmsTo(userId).length;
  const inputsBefore = inputs.length;
  const messageId = emulator.sendDm(userId, text);
  const index = await emulator.waitFor(
    () => {
      const found = inputs.findIndex((input, i) => i >= inputsBefore && input.inputId === messageId);
      return found >= 0 ? found + 1 : undefined;
    },
    { what: 'the unclear input' },
  );
  expect(inputs[index - 1]).toEqual({ kind: 'unclear', operatorId: userId, inputId: messageId });
  expect(emulator.dmsTo(userId)).toHaveLength(dmsBefore);
  return inputs.slice(inputsBefore, index - 1);
}

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  closedDms = emulator.createUser('closed', { dmsOpen: false });
  outsider = emulator.createUser('mallory');
  channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob, closedDms, missingUser],
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
    dmRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    // These tests were written for 6-digit codes, as with CODE_DIGITS=6 (the default 4-8 is tested
    // in discord-code-digits.test.ts), and refuse strangers every time (rationing is tested there too).
    codeDigits: { minDigits: 6, maxDigits: 6 },
    strangerReplyIntervalMs: 0,
  });
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('DiscordOperatorChannel against the Discord emulator', () => {
  it('logs in with DirectMessages only, and reports itself connected', () => {
    expect(channel.isConnected()).toBe(true);
    expect(emulator.gateway.lastIdentify?.intents).toBe(GatewayIntentBits.DirectMessages);
    expect(emulator.gateway.lastIdentify?.compress).toBe(false);
  });

  it('DMs the prompt with its three buttons to every operator, despite one with closed DMs', async () => {
    await channel.showPrompt(view('login-a'));
    for (const operator of [alice, bob]) {
      const [prompt, ...others] = emulator.dmsTo(operator);
      expect(others).toHaveLength(0);
      expect(prompt?.content).toContain('`main`');
      expect(prompt?.buttons).toEqual([
        { customId: 'otp:code:login-a', label: 'Enter code', style: ButtonStyle.Primary, disabled: false },
        {
          customId: 'otp:resend:login-a',
          label: 'Send a new code',
          style: ButtonStyle.Secondary,
          disabled: false,
        },
        { customId: 'otp:cancel:login-a', label: 'Cancel', style: ButtonStyle.Danger, disabled: false },
      ]);
    }
    expect(emulator.dmsTo(closedDms)).toHaveLength(0);
    for (const operator of [alice, bob]) {
      expect(emulator.dmsTo(operator)[0]?.content).toContain(
        `Could not reach: closed (DMs closed), <@${missingUser}> (the DM failed).`,
      );
    }
    const failures = logLines.filter((line) => line.includes('could not send the prompt'));
    expect(failures.some((line) => line.includes(closedDms))).toBe(true);
    expect(failures.some((line) => line.includes(missingUser))).toBe(true);
  });

  it('takes a DM reply `123 456` as one clean code, with the message ID as its input ID', async () => {
    const before = inputs.length;
    const messageId = emulator.sendDm(alice, '123 456');
    const input = await emulator.waitFor(() => inputs[before], { what: 'the code input' });
    expect(input).toMatchObject({ kind: 'code', operatorId: alice, inputId: messageId });
    expect(input.kind === 'code' && input.code.reveal()).toBe('123456');
    expect(input.kind === 'code' && input.loginId).toBeUndefined();
    // A sentinel: the next unclear text is the next input, and nothing came between.
    expect(await unclearAfter(alice, 'hello')).toEqual([]);
    expect(inputs).toHaveLength(before + 2);
  });

  it.each(['hello', '12345', '123456 654321', ''])(
    'delivers %j as an unclear input, without a reply of its own',
    async (text) => {
      // unclearAfter checks the input (with the message's ID) and that no reply came.
      expect(await unclearAfter(bob, text)).toEqual([]);
    },
  );

  it('takes the other accepted forms in DMs', async () => {
    for (const [text, code] of [
      [`${TYPED_CODES[0].slice(0, 3)}-${TYPED_CODES[0].slice(3)}`, TYPED_CODES[0]],
      [` ${TYPED_CODES[1]}\n`, TYPED_CODES[1]],
    ] as const) {
      const before = inputs.length;
      emulator.sendDm(bob, text);
      const input = await emulator.waitFor(() => inputs[before]);
      expect(input.kind === 'code' && input.code.reveal()).toBe(code);
      expect(input.operatorId).toBe(bob);
    }
  });

  it('opens the code modal from "Enter code"', async () => {
    const prompt = emulator.dmsTo(alice)[0]!;
    const callback = await emulator.clickButton(alice, prompt.id, 'otp:code:login-a');
    if (callback.type !== InteractionResponseType.Modal) throw new Error(`not a modal: ${callback.type}`);
    const modal: APIModalInteractionResponseCallbackData = callback.data;
    expect(modal.custom_id).toBe('otp:modal:login-a');
    expect(modal.components).toHaveLength(1);
    const [label] = modal.components;
    expect(label?.type).toBe(ComponentType.Label);
    expect(label?.type === ComponentType.Label && label.component).toMatchObject({
      type: ComponentType.TextInput,
      custom_id: 'code',
      min_length: 6,
    });
    expect(
      label?.type === ComponentType.Label && (label.component as { max_length: number }).max_length,
    ).toBeGreaterThanOrEqual('123 456'.length);
  });

  it('delivers a modal submit as a code with its login', async () => {
    const before = inputs.length;
    const callback = await emulator.submitModal(alice, 'otp:modal:login-a', {
      code: `${TYPED_CODES[2].slice(0, 3)} ${TYPED_CODES[2].slice(3)}`,
    });
    expect(callback.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const input = await emulator.waitFor(() => inputs[before]);
    expect(input).toMatchObject({
      kind: 'code',
      operatorId: alice,
      loginId: 'login-a',
      inputId: callback.interactionId,
    });
    expect(input.kind === 'code' && input.code.reveal()).toBe(TYPED_CODES[2]);
  });

  it('answers an unclear modal entry with help, ephemeral, and sends nothing on', async () => {
    const before = inputs.length;
    const callback = await emulator.submitModal(bob, 'otp:modal:login-a', { code: '12 34' });
    expect(callback.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(callback.type === InteractionResponseType.ChannelMessageWithSource && callback.data?.flags).toBe(
      MessageFlags.Ephemeral,
    );
    expect(
      callback.type === InteractionResponseType.ChannelMessageWithSource && callback.data?.content,
    ).toContain('123 456');
    expect(inputs).toHaveLength(before);
  });

  it('delivers "Send a new code" and "Cancel" presses, acknowledged at once', async () => {
    const prompt = emulator.dmsTo(bob)[0]!;
    for (const action of ['resend', 'cancel'] as const) {
      const before = inputs.length;
      const callback = await emulator.clickButton(bob, prompt.id, `otp:${action}:login-a`);
      expect(callback.type).toBe(InteractionResponseType.DeferredMessageUpdate);
      expect(await emulator.waitFor(() => inputs[before])).toEqual({
        kind: action,
        operatorId: bob,
        loginId: 'login-a',
        inputId: callback.interactionId,
      });
    }
  });

  it('edits the prompts already sent, with only the live buttons', async () => {
    const countBefore = emulator.dmsTo(alice).length;
    // The first render was edited once already, to name the operators it could not reach.
    const editsBefore = emulator.dmsTo(alice)[0]!.editCount;
    expect(emulator.dmsTo(bob)[0]?.editCount).toBe(editsBefore);
    await channel.showPrompt(view('login-a', { kind: 'checking', operatorId: alice }));
    let prompt = emulator.dmsTo(alice)[0]!;
    expect(emulator.dmsTo(alice)).toHaveLength(countBefore);
    expect(prompt.editCount).toBe(editsBefore + 1);
    expect(prompt.content).toContain('Checking the code from alice');
    expect(prompt.buttons).toEqual([]);
    expect(emulator.dmsTo(bob)[0]?.editCount).toBe(editsBefore + 1);

    await channel.showPrompt(view('login-a', { kind: 'rejected', operatorId: alice, interimSpent: false }));
    prompt = emulator.dmsTo(alice)[0]!;
    expect(prompt.editCount).toBe(editsBefore + 2);
    expect(prompt.buttons.map((button) => button.customId)).toEqual(['otp:resend:login-a']);
    expect(emulator.dmsTo(alice)).toHaveLength(countBefore);
    await expect(emulator.clickButton(alice, prompt.id, 'otp:code:login-a')).rejects.toThrow(/no button/);
  });

  it('names a code from otp-relay code by its OS user, never as a mention', async () => {
    const cli = `cli:ops_team:cli-${'ab'.repeat(12)}`;
    await channel.showPrompt(view('login-cli', { kind: 'checking', operatorId: cli }));
    const prompt = emulator.dmsTo(bob).findLast((message) => message.content.includes('Checking the code'))!;
    expect(prompt.content).toContain('Checking the code from ops\\_team (command line) with the broker');
    expect(prompt.content).not.toContain('<@cli:');
  });

  it('keeps edits of one login in order when they overlap', async () => {
    const states: PromptView['state'][] = [
      { kind: 'open', attemptsLeft: 3 },
      { kind: 'checking', operatorId: bob },
      { kind: 'open', attemptsLeft: 2 },
      { kind: 'succeeded', operatorId: bob, expiresAt: new Date(Date.now() + 86_400_000) },
    ];
    await Promise.all(states.map((state) => channel.showPrompt(view('login-b', state))));
    const prompts = emulator
      .dmsTo(alice)
      .filter(
        (message) =>
          message.content.includes('Logged in') ||
          message.buttons.some((b) => b.customId?.endsWith('login-b')),
      );
    expect(prompts).toHaveLength(1);
    expect(prompts[0]?.content).toContain('Logged in with the code from bob');
    expect(prompts[0]?.editCount).toBe(3);
  });

  it('ignores DMs from non-operators, without a reply', async () => {
    const before = inputs.length;
    emulator.sendDm(outsider, TYPED_CODES[0]);
    expect(await unclearAfter(alice, 'sentinel')).toEqual([]);
    expect(inputs).toHaveLength(before + 1);
    expect(emulator.dmsTo(outsider)).toHaveLength(0);
    expect(logLines.some((line) => line.includes(outsider) && line.includes('not an operator'))).toBe(true);
  });

  it('refuses a non-operator’s modal with an ephemeral answer', async () => {
    const before = inputs.length;
    const callback = await emulator.submitModal(outsider, 'otp:modal:login-a', { code: TYPED_CODES[0] });
    expect(callback.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(callback.type === InteractionResponseType.ChannelMessageWithSource && callback.data?.flags).toBe(
      MessageFlags.Ephemeral,
    );
    expect(inputs).toHaveLength(before);
  });

  it('takes nothing from a guild message, even an operator’s', async () => {
    const before = inputs.length;
    emulator.sendGuildMessage(alice, TYPED_CODES[1]);
    expect(await unclearAfter(alice, 'sentinel')).toEqual([]);
    expect(inputs).toHaveLength(before + 1);
  });

  it('tells one operator, or all, a notice', async () => {
    const aliceBefore = emulator.dmsTo(alice).length;
    const bobBefore = emulator.dmsTo(bob).length;
    await channel.notify(alice, { kind: 'code-rejected', attemptsLeft: 2 });
    expect(emulator.dmsTo(alice)[aliceBefore]?.content).toContain('2 attempts left');
    expect(emulator.dmsTo(bob)).toHaveLength(bobBefore);
    await channel.broadcast({
      kind: 'logged-in',
      account: 'main',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    expect(emulator.dmsTo(alice)[aliceBefore + 1]?.content).toContain('Logged in');
    expect(emulator.dmsTo(bob)[bobBefore]?.content).toContain('Logged in');
  });

  it('tries a DM again after Discord failed it for a while, and logs it by user ID', async () => {
    const before = emulator.dmsTo(alice).length;
    // discord.js tries a 5xx 4 times at once; the channel's own retry comes after, with a backoff.
    emulator.failDmsTo(alice, { times: 4 });
    await channel.notify(alice, { kind: 'code-rejected', attemptsLeft: 1 });
    expect(emulator.dmsTo(alice)).toHaveLength(before + 1);
    expect(emulator.dmsTo(alice)[before]?.content).toContain('1 attempt left');
    const retries = logLines.filter((line) => line.includes('trying again'));
    expect(retries).toHaveLength(1);
    expect(retries[0]).toContain(`"userId":"${alice}"`);
  });

  it('gives a DM up after its tries, and never retries a permanent refusal', async () => {
    const retriesBefore = logLines.filter((line) => line.includes('trying again')).length;
    const refusedBefore = emulator.restCalls.filter((call) => call.status === 403).length;
    const bobBefore = emulator.dmsTo(bob).length;
    const restore = emulator.failDmsTo(bob, { times: 1000 });
    try {
      await channel.broadcast({ kind: 'no-pending-login' });
    } finally {
      restore();
    }
    expect(emulator.dmsTo(bob)).toHaveLength(bobBefore);
    const retries = logLines.filter((line) => line.includes('trying again')).slice(retriesBefore);
    // 3 tries: 2 retries, all of them for bob; closed DMs (50007) and an unknown user are final.
    expect(retries).toHaveLength(2);
    expect(retries.every((line) => line.includes(`"userId":"${bob}"`))).toBe(true);
    expect(emulator.restCalls.filter((call) => call.status === 403).length).toBe(refusedBefore + 1);
    expect(
      logLines.some(
        (line) => line.includes('could not send the no-pending-login notice') && line.includes(bob),
      ),
    ).toBe(true);
  });

  it('sends a DM once when Discord made it but its answer was lost', async () => {
    const before = emulator.dmsTo(alice).length;
    emulator.failDmsTo(alice, { times: 4, applied: true });
    await channel.notify(alice, { kind: 'prompt-inactive' });
    expect(emulator.dmsTo(alice)).toHaveLength(before + 1);
  });

  it('tries a prompt edit again, and keeps editing the same message', async () => {
    await channel.showPrompt(view('login-r'));
    const prompt = emulator.dmsTo(alice).at(-1)!;
    emulator.failDmsTo(alice, { times: 4 });
    const refs = await channel.showPrompt(view('login-r', { kind: 'expired' }));
    expect(emulator.dmsTo(alice).at(-1)?.id).toBe(prompt.id);
    expect(emulator.dmsTo(alice).at(-1)?.content).toContain('No code came');
    expect(refs[alice]).toEqual({ channelId: prompt.channelId, messageId: prompt.id });
  });

  it('resumes after the gateway drops, and keeps delivering', async () => {
    await emulator.closeGateway(4000);
    await emulator.waitFor(() => channel.isConnected() && emulator.gateway.resumes === 1, {
      what: 'the resume',
    });
    const before = inputs.length;
    emulator.sendDm(alice, '123-456');
    const input = await emulator.waitFor(() => inputs[before]);
    expect(input.kind === 'code' && input.code.reveal()).toBe('123456');
  });

  it('fails to start, with a typed error, when the token is refused', async () => {
    const refused = new DiscordOperatorChannel({
      token: new Secret(wrongToken),
      operatorIds: [alice],
      apiUrl: emulator.apiUrl,
      logger: createLogger({
        level: 'debug',
        destination: { write: (line: string) => void logLines.push(line) },
      }),
    });
    const failure = await refused.start(() => undefined).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DiscordChannelError);
    expect(failure).toMatchObject({ kind: 'login-failed' });
    expect(String((failure as Error).message)).not.toContain(wrongToken);
    expect(refused.isConnected()).toBe(false);
    await refused.stop();
  });

  it('never writes a code or the bot token to its logs or to Discord', () => {
    expect(inputs.filter((input) => input.kind === 'code').length).toBeGreaterThanOrEqual(5);
    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join('\n');
    for (const secret of [...TYPED_CODES, '123456', emulator.botToken, wrongToken])
      expect(logs).not.toContain(secret);
    expect(logs).not.toContain('sentinel');
    expect(logs).not.toContain('hello');

    const sent = JSON.stringify([
      ...[alice, bob, closedDms, outsider].flatMap((user) =>
        emulator.dmsTo(user).map((message) => message.raw),
      ),
      ...emulator.interactionCallbacks,
    ]);
    for (const secret of [...TYPED_CODES, emulator.botToken]) expect(sent).not.toContain(secret);
    expect(emulator.restCalls.filter((call) => call.route === 'unknown')).toEqual([]);
  });
});
