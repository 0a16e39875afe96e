import { afterEach, describe, expect, it } from 'vitest';

import { DiscordOperatorChannel } from '../../src/operators/discord-channel.js';
import { discordInviteUrl } from '../../src/operators/discord/invite-url.js';
import { createLogger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { startDiscordEmulator } from '../fakes/discord/index.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** docs/discord-setup.md, step 6: the link a new team follows to add the bot to its server. */
describe('the invite URL', () => {
  it('asks for the bot and applications.commands scopes, no permission, as a server install', () => {
    const url = new URL(discordInviteUrl('123456789012345678'));
    expect(`${url.origin}${url.pathname}`).toBe('https://discord.com/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: '123456789012345678',
      scope: 'bot applications.commands',
      permissions: '0',
      integration_type: '0',
    });
  });

  it('is logged at start, built from the application id Discord gives, with no privileged intent', async () => {
    // The emulator switches no privileged intent on, as a new application in the portal.
    const emulator = await startDiscordEmulator();
    cleanups.push(() => emulator.close());
    const lines: string[] = [];
    const channel = new DiscordOperatorChannel({
      token: new Secret(emulator.botToken),
      operatorIds: [emulator.createUser('alice')],
      apiUrl: emulator.apiUrl,
      logger: createLogger({
        level: 'info',
        destination: { write: (line: string) => void lines.push(line) },
      }),
    });
    cleanups.push(() => channel.stop());
    await channel.start(() => undefined);
    const connected = lines
      .map((line) => JSON.parse(line) as { msg?: string; inviteUrl?: string })
      .find((line) => line.msg === 'connected to Discord');
    expect(connected?.inviteUrl).toBe(discordInviteUrl(emulator.applicationId));
    expect(lines.join('')).not.toContain(emulator.botToken);
  });
});
