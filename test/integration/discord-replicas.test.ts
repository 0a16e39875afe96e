import { InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import type { OperatorInput, PromptView } from '../../src/relay/ports/operators.js';
import type { PromptRefs } from '../../src/relay/ports/coordination.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';

/**
 * Two relays ("replicas") against one Discord: two DiscordOperatorChannel instances logged in with
 * the same bot token, each with its own gateway session, as in production. Every DM and every
 * interaction reaches both.
 */

const CALLBACK_ROUTE = '/interactions/:interactionId/:token/callback';

interface Replica {
  readonly name: string;
  readonly channel: DiscordOperatorChannel;
  readonly inputs: OperatorInput[];
  readonly logLines: string[];
}

let emulator: DiscordEmulator;
let a: Replica;
let b: Replica;
let alice: string;
let bob: string;
let outsider: string;

function view(loginId: string, state: PromptView['state'] = { kind: 'open', attemptsLeft: 3 }): PromptView {
  return { loginId, account: 'main', reason: 'renewal', deadline: new Date(Date.now() + 5 * 60_000), state };
}

async function startReplica(name: string, operatorIds: readonly string[]): Promise<Replica> {
  const inputs: OperatorInput[] = [];
  const logLines: string[] = [];
  const channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds,
    apiUrl: emulator.apiUrl,
    logger: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logLines.push(line) },
    }),
    dmRetry: { baseDelayMs: 20, maxDelayMs: 50 },
  });
  await channel.start((input) => inputs.push(input));
  return { name, channel, inputs, logLines };
}

/** The inputs `replica` delivered with `inputId`. */
function inputsOf(replica: Replica, inputId: string): OperatorInput[] {
  return replica.inputs.filter((input) => input.inputId === inputId);
}

/** Waits until each replica has delivered exactly one input with `inputId`; returns both. */
async function fromBoth(inputId: string, what: string): Promise<[OperatorInput, OperatorInput]> {
  return emulator.waitFor<[OperatorInput, OperatorInput]>(
    () => {
      const [fromA, fromB] = [inputsOf(a, inputId), inputsOf(b, inputId)];
      return fromA.length === 1 && fromB.length === 1 ? [fromA[0]!, fromB[0]!] : undefined;
    },
    { what },
  );
}

/**
 * Waits until both replicas have answered interaction `interactionId`: one callback went through
 * and the other was refused with 40060, which the loser logged. Returns the winner and the loser.
 */
async function settled(interactionId: string): Promise<{ winner: Replica; loser: Replica }> {
  const loser = await emulator.waitFor(
    () =>
      [a, b].find((replica) =>
        replica.logLines.some(
          (line) => line.includes('another relay answered this interaction') && line.includes(interactionId),
        ),
      ),
    { what: `a replica that lost interaction ${interactionId}` },
  );
  const calls = emulator.restCalls.filter(
    (call) => call.route === CALLBACK_ROUTE && call.path.split('/')[2] === interactionId,
  );
  expect(calls.map((call) => call.status).sort()).toEqual([204, 400]);
  expect(emulator.interactionCallbacks.filter((c) => c.interactionId === interactionId)).toHaveLength(1);
  return { winner: loser === a ? b : a, loser };
}

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  outsider = emulator.createUser('mallory');
  [a, b] = await Promise.all([startReplica('a', [alice, bob]), startReplica('b', [alice, bob])]);
});

afterAll(async () => {
  await Promise.all([a?.channel.stop(), b?.channel.stop()]);
  await emulator?.close();
});

describe('two relays on one bot token', () => {
  it('both connect, each with a gateway session of its own', () => {
    expect(emulator.gateway.identifies).toBe(2);
    expect(a.channel.isConnected()).toBe(true);
    expect(b.channel.isConnected()).toBe(true);
  });

  it('both deliver a DM code, with the same input ID: the message ID', async () => {
    const messageId = emulator.sendDm(alice, '482 913');
    for (const input of await fromBoth(messageId, 'the code from both')) {
      expect(input).toMatchObject({ kind: 'code', operatorId: alice, inputId: messageId });
      expect(input.kind === 'code' && input.code.reveal()).toBe('482913');
    }
  });

  it('both deliver unclear text as `unclear` with the same ID, and neither replies', async () => {
    const messageId = emulator.sendDm(bob, 'what is this?');
    for (const input of await fromBoth(messageId, 'the unclear input from both')) {
      expect(input).toEqual({ kind: 'unclear', operatorId: bob, inputId: messageId });
    }
    // A sentinel on both: the next DM is delivered, and still nothing was sent to bob.
    await fromBoth(emulator.sendDm(bob, 'again?'), 'the sentinel');
    expect(emulator.dmsTo(bob)).toEqual([]);
  });

  let refs: PromptRefs;

  it('resolves showPrompt with where each operator’s prompt is', async () => {
    refs = await a.channel.showPrompt(view('login-1'));
    const [alicePrompt] = emulator.dmsTo(alice);
    const [bobPrompt] = emulator.dmsTo(bob);
    expect(refs).toEqual({
      [alice]: { channelId: alicePrompt?.channelId, messageId: alicePrompt?.id },
      [bob]: { channelId: bobPrompt?.channelId, messageId: bobPrompt?.id },
    });
    // What a relay shares must survive the store: plain JSON.
    expect(JSON.parse(JSON.stringify(refs))).toEqual(refs);
  });

  it('edits the other relay’s prompt messages when given its refs: one DM per operator', async () => {
    const posts = () =>
      emulator.restCalls.filter(
        (call) => call.method === 'POST' && call.route === '/channels/:channelId/messages',
      ).length;
    const postsBefore = posts();
    const fromB = await b.channel.showPrompt(view('login-1', { kind: 'checking', operatorId: alice }), refs);
    expect(fromB).toEqual(refs);
    expect(posts()).toBe(postsBefore);
    for (const operator of [alice, bob]) {
      expect(emulator.dmsTo(operator)).toHaveLength(1);
      expect(emulator.dmsTo(operator)[0]?.editCount).toBe(1);
      expect(emulator.dmsTo(operator)[0]?.content).toContain('Checking the code from alice');
    }
    // B has adopted them: its next render edits them without refs.
    await b.channel.showPrompt(view('login-1', { kind: 'open', attemptsLeft: 2 }));
    expect(posts()).toBe(postsBefore);
    expect(emulator.dmsTo(alice)[0]?.editCount).toBe(2);
  });

  it('is acknowledged by one relay only when a button is pressed, and only that one delivers it', async () => {
    const prompt = emulator.dmsTo(bob)[0]!;
    const callback = await emulator.clickButton(bob, prompt.id, 'otp:resend:login-1');
    expect(callback.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    const { winner, loser } = await settled(callback.interactionId);
    await emulator.waitFor(() => inputsOf(winner, callback.interactionId).length === 1);
    expect(inputsOf(winner, callback.interactionId)).toEqual([
      { kind: 'resend', operatorId: bob, loginId: 'login-1', inputId: callback.interactionId },
    ]);
    expect(inputsOf(loser, callback.interactionId)).toEqual([]);
    // The loser stays quiet: no warning, no reply.
    expect(loser.logLines.some((line) => line.includes('could not answer an interaction'))).toBe(false);
  });

  it('delivers a modal code from one relay only', async () => {
    const prompt = emulator.dmsTo(alice)[0]!;
    const opened = await emulator.clickButton(alice, prompt.id, 'otp:code:login-1');
    expect(opened.type).toBe(InteractionResponseType.Modal);
    await settled(opened.interactionId);
    expect([...inputsOf(a, opened.interactionId), ...inputsOf(b, opened.interactionId)]).toEqual([]);

    const submitted = await emulator.submitModal(alice, 'otp:modal:login-1', { code: '907-351' });
    const { winner, loser } = await settled(submitted.interactionId);
    const delivered = await emulator.waitFor(() => inputsOf(winner, submitted.interactionId)[0]);
    expect(delivered).toMatchObject({ kind: 'code', operatorId: alice, loginId: 'login-1' });
    expect(delivered.kind === 'code' && delivered.code.reveal()).toBe('907351');
    expect(inputsOf(loser, submitted.interactionId)).toEqual([]);
  });

  it('answers an unclear modal entry with one help reply, and delivers nothing', async () => {
    const submitted = await emulator.submitModal(alice, 'otp:modal:login-1', { code: '12 3' });
    expect(submitted.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    await settled(submitted.interactionId);
    expect(emulator.interactionReply(submitted.interactionId)?.ephemeral).toBe(true);
    expect([...inputsOf(a, submitted.interactionId), ...inputsOf(b, submitted.interactionId)]).toEqual([]);
  });

  it('refuses a stranger’s press once, from either relay', async () => {
    const submitted = await emulator.submitModal(outsider, 'otp:modal:login-1', { code: '246810' });
    expect(submitted.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    await settled(submitted.interactionId);
    expect([...inputsOf(a, submitted.interactionId), ...inputsOf(b, submitted.interactionId)]).toEqual([]);
  });

  it('delivers a slash command from one relay only, whose answer becomes the reply', async () => {
    const callback = await emulator.runCommand(alice, 'status');
    expect(callback.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    const { winner, loser } = await settled(callback.interactionId);
    const input = await emulator.waitFor(() => inputsOf(winner, callback.interactionId)[0]);
    if (input.kind !== 'command') throw new Error(`not a command: ${input.kind}`);
    expect(input).toMatchObject({ operatorId: alice, command: 'status', inputId: callback.interactionId });
    expect(inputsOf(loser, callback.interactionId)).toEqual([]);
    await input.respond({ kind: 'cancel-request', cancelled: false });
    expect(emulator.interactionReply(callback.interactionId)?.content).toContain('nothing to cancel');
  });

  it('sends a new prompt for an operator whose message named in the refs is gone', async () => {
    const given = await a.channel.showPrompt(view('login-2'));
    const aliceRef = given[alice] as { channelId: string; messageId: string };
    const gone = { ...given, [alice]: { ...aliceRef, messageId: '100000000000000042' } };
    const aliceBefore = emulator.dmsTo(alice).length;
    const bobBefore = emulator.dmsTo(bob).length;
    const fromB = await b.channel.showPrompt(view('login-2', { kind: 'expired' }), gone);
    expect(emulator.dmsTo(alice)).toHaveLength(aliceBefore + 1);
    expect(emulator.dmsTo(bob)).toHaveLength(bobBefore);
    const fresh = emulator.dmsTo(alice).at(-1)!;
    expect(fresh.content).toContain('No code came');
    expect(fromB).toEqual({ ...given, [alice]: { channelId: fresh.channelId, messageId: fresh.id } });
    expect(
      b.logLines.some((line) => line.includes('the prompt message is gone') && line.includes(alice)),
    ).toBe(true);
  });

  it('ignores refs of an unknown shape, or outside the operator’s DM, and sends fresh prompts', async () => {
    const bobRef = (await a.channel.showPrompt(view('login-3')))[bob] as {
      channelId: string;
      messageId: string;
    };
    const bobPromptBefore = emulator.dmsTo(bob).find((message) => message.id === bobRef.messageId)!;
    const aliceBefore = emulator.dmsTo(alice).length;
    const bobBefore = emulator.dmsTo(bob).length;
    const bogus: PromptRefs = {
      // Bob's message under alice's name: not in alice's DM, so never edited for her.
      [alice]: bobRef,
      [bob]: { channelId: 'evil-channel', messageId: 42 },
      [outsider]: bobRef,
      'not-a-user': 'evil-value',
    };
    const fromB = await b.channel.showPrompt(view('login-3', { kind: 'cancelled', operatorId: bob }), bogus);
    expect(emulator.dmsTo(alice)).toHaveLength(aliceBefore + 1);
    expect(emulator.dmsTo(bob)).toHaveLength(bobBefore + 1);
    expect(emulator.dmsTo(bob).find((message) => message.id === bobRef.messageId)?.editCount).toBe(
      bobPromptBefore.editCount,
    );
    expect(Object.keys(fromB).sort()).toEqual([alice, bob].sort());
    const logs = b.logLines.join('\n');
    expect(logs).toContain('ignored prompt refs of an unknown shape');
    expect(logs).toContain('not in the operator’s DM');
    expect(logs).not.toContain('evil');
  });

  it('survives a gateway drop mid-login: a DM sent while down arrives after the resume, on both', async () => {
    const resumesBefore = emulator.gateway.resumes;
    await emulator.closeGateway(4000);
    // Discord keeps what happens meanwhile for the sessions, to replay on RESUME.
    const whileDown = emulator.sendDm(alice, '135 790');
    // discord.js waits half a second before it reconnects.
    await emulator.waitFor(() => !a.channel.isConnected() && !b.channel.isConnected(), {
      what: 'both disconnected',
    });
    await emulator.waitFor(
      () =>
        a.channel.isConnected() && b.channel.isConnected() && emulator.gateway.resumes === resumesBefore + 2,
      { what: 'both resumes' },
    );
    expect(emulator.gateway.identifies).toBe(2);
    const replayed = await fromBoth(whileDown, 'the DM sent while the gateway was down');
    const after = await fromBoth(emulator.sendDm(alice, '864-202'), 'the DM sent after the resume');
    for (const [inputs, code] of [
      [replayed, '135790'],
      [after, '864202'],
    ] as const) {
      for (const input of inputs) expect(input.kind === 'code' && input.code.reveal()).toBe(code);
    }
    expect(a.logLines.some((line) => line.includes('Discord gateway resumed'))).toBe(true);
  });

  it('logs no code, token or ref contents, and every request it made was known to Discord', () => {
    const logs = [...a.logLines, ...b.logLines].join('\n');
    for (const secret of ['482913', '907351', '246810', '135790', '864202', emulator.botToken]) {
      expect(logs).not.toContain(secret);
    }
    expect(emulator.restCalls.filter((call) => call.route === 'unknown')).toEqual([]);
  });
});
