import { ApplicationCommandOptionType } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { OPERATOR_COMMANDS, operatorCommands } from '../../../src/operators/discord/commands.js';
import { startEmulatedChannel, type EmulatedChannel } from './emulated-channel.js';

// The slash commands of several accounts: an `account` option on /status, /login and /cancel, only
// when the relay serves several; a one-account relay registers exactly what it always did.

const running: EmulatedChannel[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()));
});

async function start(accounts?: readonly string[]): Promise<EmulatedChannel> {
  const t = await startEmulatedChannel(['alice'], accounts === undefined ? {} : { accounts });
  running.push(t);
  return t;
}

/** The `account` option of each registered command, by name (`undefined`: none). */
function accountOptions(t: EmulatedChannel): Record<string, unknown> {
  return Object.fromEntries(
    t.emulator.registeredCommands.map((command) => [
      command.name,
      command.options?.find((option) => option.name === 'account'),
    ]),
  );
}

describe('operatorCommands', () => {
  it('without several accounts, is the commands of a one-account relay, with no option', () => {
    expect(operatorCommands()).toEqual(OPERATOR_COMMANDS);
    expect(operatorCommands(['live'])).toEqual(OPERATOR_COMMANDS);
    expect(operatorCommands(['live', 'live'])).toEqual(OPERATOR_COMMANDS);
    for (const command of OPERATOR_COMMANDS) expect(command).not.toHaveProperty('options');
  });

  it('with 2 to 25 accounts, offers them as the choices of an optional account, on every command but /check', () => {
    const accounts = Array.from({ length: 25 }, (_, i) => `a${i}`);
    for (const command of operatorCommands(accounts)) {
      if (command.name === 'check') {
        expect(command).not.toHaveProperty('options');
        continue;
      }
      expect(command.options).toEqual([
        expect.objectContaining({
          type: ApplicationCommandOptionType.String,
          name: 'account',
          required: false,
          choices: accounts.map((name) => ({ name, value: name })),
        }),
      ]);
    }
  });

  it('with more than 25 accounts, takes a typed name of at most 32 characters', () => {
    const accounts = Array.from({ length: 26 }, (_, i) => `a${i}`);
    const login = operatorCommands(accounts).find((command) => command.name === 'login');
    expect(login?.options).toEqual([
      expect.objectContaining({ name: 'account', required: false, min_length: 1, max_length: 32 }),
    ]);
    expect(login?.options?.[0]).not.toHaveProperty('choices');
  });
});

describe('registration at start, through the Discord emulator', () => {
  it('registers no option with one account or none', async () => {
    for (const accounts of [undefined, ['live']]) {
      const t = await start(accounts);
      expect(accountOptions(t)).toEqual({
        status: undefined,
        login: undefined,
        cancel: undefined,
        check: undefined,
      });
      expect(t.emulator.problems).toEqual([]);
      await running.pop()?.close();
    }
  });

  it('registers the option with several, and a command carries the account picked', async () => {
    const t = await start(['live', 'paper']);
    expect(t.emulator.problems).toEqual([]);
    const options = accountOptions(t);
    expect(options.check).toBeUndefined();
    for (const name of ['status', 'login', 'cancel']) {
      expect(options[name]).toMatchObject({
        choices: [
          { name: 'live', value: 'live' },
          { name: 'paper', value: 'paper' },
        ],
      });
    }
    const { alice } = t.users as { alice: string };
    const ran = await t.emulator.runCommand(alice, 'cancel', { options: { account: 'paper' } });
    expect(await t.nextInput(0, '/cancel paper')).toMatchObject({
      kind: 'command',
      command: 'cancel',
      account: 'paper',
      inputId: ran.interactionId,
    });
    await t.emulator.runCommand(alice, 'status');
    const status = await t.nextInput(1, '/status');
    expect(status).toMatchObject({ kind: 'command', command: 'status' });
    expect(status).not.toHaveProperty('account');
    // Discord offers only the choices.
    await expect(t.emulator.runCommand(alice, 'login', { options: { account: 'demo' } })).rejects.toThrow(
      /choices/,
    );
  });

  it('with more than 25 accounts, delivers a typed name as the account, lower-cased', async () => {
    const t = await start(Array.from({ length: 30 }, (_, i) => `account-${i}`));
    expect(t.emulator.problems).toEqual([]);
    const { alice } = t.users as { alice: string };
    await t.emulator.runCommand(alice, 'login', { options: { account: ' Account-7 ' } });
    expect(await t.nextInput(0, '/login')).toMatchObject({ command: 'login', account: 'account-7' });
  });
});
