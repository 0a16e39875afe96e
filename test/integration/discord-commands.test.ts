import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  InteractionResponseType,
  MessageFlags,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/log.js';
import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import { renderNotice } from '../../src/operators/messages.js';
import type {
  OperatorCommand,
  OperatorInput,
  OperatorNotice,
  StatusView,
} from '../../src/relay/ports/operators.js';
import { Secret } from '../../src/shared/secret.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type InteractionCallback,
} from '../fakes/discord/index.js';

type CommandInput = Extract<OperatorInput, { kind: 'command' }>;

const COMMANDS_ROUTE = '/applications/:appId/commands';
const REPLY_ROUTE = '/webhooks/:appId/:token/messages/@original';

let emulator: DiscordEmulator;
let channel: DiscordOperatorChannel;
let alice: string;
let bob: string;
let outsider: string;
const inputs: OperatorInput[] = [];
const logLines: string[] = [];

function logger() {
  return createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
}

const status: StatusView = {
  account: 'main',
  token: { generation: 7, expiresAt: new Date(Date.now() + 20 * 3_600_000) },
  login: { state: 'none' },
  nextLogin: { at: new Date(Date.now() + 19 * 3_600_000), reason: 'renewal' },
  lastFailure: undefined,
  halted: undefined,
  loginsLastHour: 1,
  maxLoginsPerHour: 4,
  recentLogins: [
    { reason: 'startup', outcome: 'succeeded', operatorId: '1', attempts: 1, endedAt: new Date() },
  ],
};

/** An answer for each command, as the core would give it. */
const ANSWERS = {
  status: { kind: 'status', status },
  login: { kind: 'login-request', result: 'started' },
  cancel: { kind: 'cancel-request', cancelled: false },
} as const satisfies Record<OperatorCommand, OperatorNotice>;

/** Runs `/name` as `userId`; resolves with the callback and the input it delivered. */
async function run(
  userId: string,
  name: OperatorCommand,
): Promise<{ callback: InteractionCallback; input: CommandInput }> {
  const before = inputs.length;
  const callback = await emulator.runCommand(userId, name);
  const input = await emulator.waitFor(() => inputs[before], { what: `the /${name} input` });
  if (input.kind !== 'command') throw new Error(`not a command input: ${input.kind}`);
  return { callback, input };
}

/** The text the channel renders for `notice`, with the operators' names as the channel knows them. */
function rendered(notice: OperatorNotice): string {
  return renderNotice(notice, (id) => ({ [alice]: 'alice', [bob]: 'bob' })[id] ?? `<@${id}>`);
}

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  alice = emulator.createUser('alice');
  bob = emulator.createUser('bob');
  outsider = emulator.createUser('mallory');
  channel = new DiscordOperatorChannel({
    token: new Secret(emulator.botToken),
    operatorIds: [alice, bob],
    apiUrl: emulator.apiUrl,
    logger: logger(),
  });
  await channel.start((input) => inputs.push(input));
});

afterAll(async () => {
  await channel?.stop();
  await emulator?.close();
});

describe('slash commands through DiscordOperatorChannel and the Discord emulator', () => {
  it('registers /status, /login, /cancel and /check at start, for the DM with the bot only', () => {
    const puts = emulator.restCalls.filter((call) => call.method === 'PUT' && call.route === COMMANDS_ROUTE);
    expect(puts.map((call) => call.status)).toEqual([200]);
    expect(emulator.registeredCommands.map((command) => command.name).sort()).toEqual([
      'cancel',
      'check',
      'login',
      'status',
    ]);
    for (const command of emulator.registeredCommands) {
      expect(command.type).toBe(ApplicationCommandType.ChatInput);
      expect(command.contexts).toEqual([InteractionContextType.BotDM]);
      expect(command.integration_types).toEqual([ApplicationIntegrationType.GuildInstall]);
      expect(command.description.length).toBeGreaterThan(10);
      expect(command.description.length).toBeLessThanOrEqual(100);
      expect(command.default_member_permissions).toBeNull();
    }
    expect(emulator.problems).toEqual([]);
  });

  for (const name of ['status', 'login', 'cancel'] as const) {
    it(`delivers /${name} from an operator as one command input, and shows its answer as the reply`, async () => {
      const before = inputs.length;
      const { callback, input } = await run(alice, name);
      expect(callback.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
      expect(input).toMatchObject({
        kind: 'command',
        operatorId: alice,
        command: name,
        inputId: callback.interactionId,
      });
      // Deferred: Discord shows "thinking…" until the core answers.
      expect(emulator.interactionReply(callback.interactionId)?.flags).toBe(MessageFlags.Loading);

      await input.respond(ANSWERS[name]);
      const reply = emulator.interactionReply(callback.interactionId);
      expect(reply?.content).toBe(rendered(ANSWERS[name]));
      expect(reply?.flags).toBe(0);
      expect(reply?.ephemeral).toBe(false);
      expect(reply?.editCount).toBe(1);
      // The reply is a message of the operator's DM, where it stays.
      expect(emulator.dmsTo(alice).at(-1)?.id).toBe(reply?.id);
      expect(inputs).toHaveLength(before + 1);
    });
  }

  it('keeps the first answer when respond is called again, and edits the reply once', async () => {
    const { callback, input } = await run(bob, 'cancel');
    const editsBefore = emulator.restCalls.filter((call) => call.route === REPLY_ROUTE).length;
    await Promise.all([
      input.respond({ kind: 'cancel-request', cancelled: true }),
      input.respond({ kind: 'cancel-request', cancelled: false }),
    ]);
    await input.respond({ kind: 'login-request', result: 'already-running' });
    const reply = emulator.interactionReply(callback.interactionId);
    expect(reply?.content).toBe(rendered({ kind: 'cancel-request', cancelled: true }));
    expect(reply?.editCount).toBe(1);
    expect(emulator.restCalls.filter((call) => call.route === REPLY_ROUTE).length).toBe(editsBefore + 1);
    expect(logLines.filter((line) => line.includes('dropped a second answer'))).toHaveLength(2);
  });

  it('refuses a command from a stranger with an ephemeral answer, and delivers nothing', async () => {
    const before = inputs.length;
    const callback = await emulator.runCommand(outsider, 'login');
    expect(callback.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    const reply = emulator.interactionReply(callback.interactionId);
    expect(reply?.ephemeral).toBe(true);
    expect(reply?.content).toContain('Only the relay’s operators');
    // A sentinel: an operator's next command is the next input.
    await run(alice, 'status');
    expect(inputs).toHaveLength(before + 1);
    expect(inputs.at(-1)?.operatorId).toBe(alice);
    expect(
      logLines.some(
        (line) => line.includes(outsider) && line.includes('refused a command from a non-operator'),
      ),
    ).toBe(true);
  });

  it('is not offered in a guild, and refuses even an operator’s command that comes from one', async () => {
    await expect(emulator.runCommand(alice, 'login', { inGuild: true })).rejects.toThrow(/not offered/);
    const before = inputs.length;
    const callback = await emulator.runCommand(alice, 'login', { inGuild: true, ignoreContexts: true });
    expect(callback.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(emulator.interactionReply(callback.interactionId)?.ephemeral).toBe(true);
    await run(bob, 'status');
    expect(inputs).toHaveLength(before + 1);
    expect(inputs.at(-1)?.operatorId).toBe(bob);
  });

  it('logs who used a command by user ID, and never the bot token or an interaction token', () => {
    const logs = logLines.join('\n');
    expect(logs).toContain(`"operatorId":"${alice}"`);
    expect(logs).not.toContain(emulator.botToken);
    for (const call of emulator.restCalls.filter((c) => c.route.includes(':token'))) {
      const token = call.path.split('/')[3] ?? '';
      expect(token.length).toBeGreaterThan(20);
      expect(logs).not.toContain(token);
    }
    expect(emulator.restCalls.filter((call) => call.route === 'unknown')).toEqual([]);
  });
});

describe('a failed command registration', () => {
  it('is logged, and the channel works on without it', async () => {
    const local = await startDiscordEmulator();
    const lines: string[] = [];
    const operator = local.createUser('carol');
    local.failRequests('PUT', COMMANDS_ROUTE, { status: 500 });
    const received: OperatorInput[] = [];
    const failing = new DiscordOperatorChannel({
      token: new Secret(local.botToken),
      operatorIds: [operator],
      apiUrl: local.apiUrl,
      logger: createLogger({
        level: 'debug',
        destination: { write: (line: string) => void lines.push(line) },
      }),
    });
    try {
      await failing.start((input) => received.push(input));
      expect(failing.isConnected()).toBe(true);
      expect(local.registeredCommands).toEqual([]);
      expect(lines.some((line) => line.includes('could not register the slash commands'))).toBe(true);
      local.sendDm(operator, '123 456');
      const input = await local.waitFor(() => received[0], { what: 'the code input' });
      expect(input).toMatchObject({ kind: 'code', operatorId: operator });
    } finally {
      await failing.stop();
      await local.close();
    }
  });
});
