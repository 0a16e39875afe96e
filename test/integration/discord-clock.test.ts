import { afterEach, describe, expect, it } from 'vitest';
import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import type { OperatorInput } from '../../src/relay/ports/operators.js';
import { Relay } from '../../src/relay/relay.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import { ScriptedBroker } from '../fakes/scripted-broker.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';
import { snowflakeTime } from '../fakes/discord/snowflake.js';

/**
 * Issue 18, item 8 (second half): "written before the prompt" is judged with Discord's clock put on
 * the relay's, so a relay whose clock is a minute off Discord's (here: an emulated Discord a minute
 * ahead, or behind) still takes a genuine answer and refuses a stale one. The offset is learned
 * from the bot's own DMs; a relay and a Discord that agree need nothing.
 */

const MINUTE_MS = 60_000;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A relay on in-memory stores and a scripted broker (`123456` is right), with Discord as its channel. */
async function relayOnDiscord(clockOffsetMs: number) {
  const emulator: DiscordEmulator = await startDiscordEmulator({ clockOffsetMs });
  cleanups.push(() => emulator.close());
  const alice = emulator.createUser('alice');
  const bob = emulator.createUser('bob');
  const logger = createLogger({ level: 'silent' });
  const channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob],
    apiUrl: emulator.apiUrl,
    logger,
    codeDigits: { minDigits: 6, maxDigits: 6 },
  });
  const broker = new ScriptedBroker();
  const relay = new Relay({
    account: 'main',
    codeTimeoutMs: 5 * MINUTE_MS,
    tokenLifetimeMs: 24 * 60 * MINUTE_MS,
    maxCodeAttempts: 3,
    maxLoginsPerHour: 4,
    broker,
    operators: channel,
    store: new MemoryTokenStore({ account: 'main' }),
    events: new MemoryEventPublisher(),
    coordination: new MemoryCoordination(),
    logger,
    digestCost: 2 ** 8,
  });
  const inputs: OperatorInput[] = [];
  await channel.start((input) => {
    inputs.push(input);
    relay.handleInput(input);
  });
  cleanups.push(async () => {
    await relay.stop();
    await channel.stop();
  });
  await relay.start();
  await relay.idle();
  // The prompt went out: the relay's own DMs came back stamped by Discord.
  const prompt = await emulator.waitFor(() => emulator.dmsTo(alice)[0], { what: 'the prompt' });
  expect(prompt.content).toContain('SMS code needed');
  return { emulator, channel, broker, relay, alice, bob, inputs, prompt };
}

describe.each([
  ['ahead of', MINUTE_MS],
  ['behind', -MINUTE_MS],
])('a Discord whose clock is a minute %s the relay’s', (_where, clockOffsetMs) => {
  it('refuses a reply written before the prompt as stale, and takes one written after it', async () => {
    const { emulator, broker, relay, alice, bob } = await relayOnDiscord(clockOffsetMs);
    // Typed half a minute before this login's SMS was asked for, delivered only now (a lagging or
    // resumed gateway): it belongs to an earlier login.
    emulator.sendDm(alice, '111111', { delayedByMs: MINUTE_MS / 2 });
    const stale = await emulator.waitFor(() =>
      emulator.dmsTo(alice).find((dm) => dm.content.includes('written before the current login')),
    );
    expect(stale.content).toContain('it was not sent');
    await relay.idle();
    expect(broker.submittedCodes).toEqual([]);

    // Typed now, after the prompt: the genuine answer.
    emulator.sendDm(bob, '123456');
    await emulator.waitFor(() => broker.submittedCodes.length === 1, { what: 'the code at the broker' });
    await relay.idle();
    expect(broker.submittedCodes).toEqual(['123456']);
    expect(relay.snapshot().token?.generation).toBeGreaterThan(0);
    expect(emulator.dmsTo(bob).some((dm) => dm.content.includes('written before'))).toBe(false);
  });

  it('learns the offset from its own DMs, and puts a modal entry’s time on the relay’s clock too', async () => {
    const { emulator, channel, alice, inputs, prompt } = await relayOnDiscord(clockOffsetMs);
    // Learned to within the round trip of a DM to the emulator: far less than the minute.
    expect(Math.abs(channel.discordClockOffsetMs() - clockOffsetMs)).toBeLessThan(MINUTE_MS / 6);
    const loginId = prompt.buttons[0]?.customId?.split(':')[2] ?? '';
    await emulator.clickButton(alice, prompt.id, `otp:code:${loginId}`);
    const before = inputs.length;
    const callback = await emulator.submitModal(alice, `otp:modal:${loginId}`, { code: '123456' });
    const input = await emulator.waitFor(() => inputs.slice(before).find((i) => i.kind === 'code'));
    if (input.kind !== 'code') throw new Error(input.kind);
    const stampedMs = snowflakeTime(callback.interactionId).getTime();
    expect(input.sentAt).toEqual(new Date(stampedMs - channel.discordClockOffsetMs()));
  });
});

describe('the emulator’s skewed clock', () => {
  it('stamps messages and snowflakes with Discord’s time, not the machine’s', async () => {
    const emulator = await startDiscordEmulator({ clockOffsetMs: -MINUTE_MS });
    cleanups.push(() => emulator.close());
    const user = emulator.createUser('carol');
    const id = emulator.sendDm(user, 'hello');
    const now = Date.now();
    expect(Math.abs(snowflakeTime(id).getTime() - (now - MINUTE_MS))).toBeLessThan(MINUTE_MS / 6);
    const delayed = emulator.sendDm(user, 'late', { delayedByMs: MINUTE_MS });
    expect(snowflakeTime(id).getTime() - snowflakeTime(delayed).getTime()).toBeGreaterThan(MINUTE_MS / 2);
  });
});
