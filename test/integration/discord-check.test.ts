import { InteractionContextType, InteractionResponseType } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordOperatorChannel, type DmFailure } from '../../src/operators/discord-channel.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';

/**
 * Issue 20, item 3: `/check` DMs every operator a test message and tells the operator who ran it
 * who got it and whose DMs Discord refused. The Discord channel answers it by itself: no login, no
 * Redis, nothing delivered to the core; with replicas, only the relay whose acknowledgement went
 * through runs it.
 */

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let bob: string;
let closed: string;
let stranger: string;
const inputs: OperatorInput[] = [];
const failures: DmFailure[] = [];
const logLines: string[] = [];

function newChannel(lines: string[]): DiscordOperatorChannel {
  return new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob, closed],
    apiUrl: emulator.apiUrl,
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } }),
    dmRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    onDmFailure: (failure) => failures.push(failure),
  });
}

const testMessagesTo = (userId: string) =>
  emulator.dmsTo(userId).filter((dm) => dm.content.startsWith('**Test message**'));

/** Runs `/check` as `userId`; resolves with the reply once the channel has written its report. */
async function check(userId: string) {
  const callback = await emulator.runCommand(userId, 'check');
  expect(callback.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
  const reply = await emulator.waitFor(
    () => {
      const now = emulator.interactionReply(callback.interactionId);
      return now?.content.startsWith('**Check done**') === true ? now : undefined;
    },
    { what: 'the /check report' },
  );
  return { callback, reply };
}

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  closed = emulator.createUser('closed', { dmsOpen: false });
  stranger = emulator.createUser('mallory');
  channel = newChannel(logLines);
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('/check', () => {
  it('is registered beside the other commands, for the DM with the bot only', () => {
    const registered = emulator.registeredCommands.find((command) => command.name === 'check');
    expect(registered?.description).toContain('test DM');
    expect(registered?.contexts).toEqual([InteractionContextType.BotDM]);
  });

  it('DMs every operator a test message, and reports who got it and whose DMs Discord refused', async () => {
    const { reply } = await check(alice);
    for (const operator of [alice, bob]) {
      const [message] = testMessagesTo(operator);
      expect(testMessagesTo(operator)).toHaveLength(1);
      expect(message?.content).toContain('from `/check`, run by alice. Nothing to do.');
      expect(message?.content).toContain('showed a notification for this message');
      expect(message?.content).toContain('login prompts too');
    }
    expect(emulator.dmsTo(closed)).toEqual([]);
    expect(reply.content.split('\n')).toEqual([
      '**Check done**: a test message was sent to each of the 3 operators.',
      'Got it: alice, bob.',
      'Discord refused: closed (DMs closed). They did not get it.',
      expect.stringMatching(/^- DMs closed: they get no login prompts until .*Privacy Settings/),
    ]);
    // The report is the reply in the asker's DM; the test messages are DMs of their own.
    expect(reply.ephemeral).toBe(false);
    expect(emulator.dmsTo(alice).map((dm) => dm.id)).toContain(reply.id);
    expect(testMessagesTo(alice)[0]?.id).not.toBe(reply.id);
  });

  it('leaves the refused operator unreachable, as a prompt DM would, and delivers nothing to the core', () => {
    expect(channel.unreachableOperators()).toEqual([
      { operatorId: closed, reason: 'dms-closed', since: expect.any(Date) },
    ]);
    expect(failures).toEqual([{ operatorId: closed, reason: 'dms-closed' }]);
    expect(inputs).toEqual([]);
    expect(
      logLines.some((line) => line.includes('/check: a test message sent') && line.includes(closed)),
    ).toBe(true);
  });

  it('makes an operator it reaches reachable again', async () => {
    emulator.setDmsOpen(closed, true);
    const { reply } = await check(bob);
    expect(reply.content).toContain('Got it: alice, bob, closed.');
    expect(reply.content).toContain('Discord refused nobody.');
    expect(testMessagesTo(closed)).toHaveLength(1);
    expect(testMessagesTo(closed)[0]?.content).toContain('run by bob');
    expect(channel.unreachableOperators()).toEqual([]);
    expect(inputs).toEqual([]);
  });

  it('refuses a non-operator with the usual private answer, and DMs nobody', async () => {
    const before = [alice, bob, closed].map((id) => emulator.dmsTo(id).length);
    const callback = await emulator.runCommand(stranger, 'check');
    expect(callback.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    const reply = emulator.interactionReply(callback.interactionId);
    expect(reply?.ephemeral).toBe(true);
    expect(reply?.content).toContain('Only the relay’s operators');
    expect([alice, bob, closed].map((id) => emulator.dmsTo(id).length)).toEqual(before);
    expect(inputs).toEqual([]);
  });

  it('is not offered in a guild, and an operator’s run from one is refused', async () => {
    await expect(emulator.runCommand(alice, 'check', { inGuild: true })).rejects.toThrow(/not offered/);
    const callback = await emulator.runCommand(alice, 'check', { inGuild: true, ignoreContexts: true });
    expect(emulator.interactionReply(callback.interactionId)?.ephemeral).toBe(true);
  });

  it('with two relays, is run once: by the one whose acknowledgement went through', async () => {
    const otherLines: string[] = [];
    const other = newChannel(otherLines);
    await other.start(() => undefined);
    try {
      const before = [alice, bob, closed].map((id) => testMessagesTo(id).length);
      const { callback } = await check(closed);
      // The other relay was refused (40060) and stays quiet.
      await emulator.waitFor(
        () =>
          [logLines, otherLines].some((lines) =>
            lines.some(
              (line) =>
                line.includes('another relay answered this interaction') &&
                line.includes(callback.interactionId),
            ),
          ),
        { what: 'the relay that lost the interaction' },
      );
      expect([alice, bob, closed].map((id) => testMessagesTo(id).length)).toEqual(
        before.map((count) => count + 1),
      );
    } finally {
      await other.stop();
    }
  });
});
