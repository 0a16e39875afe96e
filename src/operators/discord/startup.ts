import type { Client } from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import { operatorCommands } from './commands.js';
import { describeError } from './describe-error.js';
import { discordInviteUrl } from './invite-url.js';

/**
 * What follows a login: logs `connected to Discord` (with the link that adds this bot to a server,
 * README "Set up the Discord bot"), then loads the operators' names and registers the commands.
 */
export async function afterLogin(
  client: Client,
  operatorIds: ReadonlySet<string>,
  log: Logger,
  registerTimeoutMs: number,
  accounts: readonly string[] = [],
): Promise<void> {
  const applicationId = client.application?.id;
  const inviteUrl = applicationId === undefined ? undefined : discordInviteUrl(applicationId);
  log.info({ operators: operatorIds.size, inviteUrl }, 'connected to Discord');
  await Promise.all([
    loadOperatorNames(client, operatorIds, log),
    registerCommands(client, log, registerTimeoutMs, accounts),
  ]);
}

/**
 * Replaces the application's global commands with {@link operatorCommands} of `accounts` (an
 * `account` option only with several). Never throws: without commands, prompts, replies and
 * buttons still work, and the commands Discord already has stay.
 */
export async function registerCommands(
  client: Client,
  log: Logger,
  timeoutMs: number,
  accounts: readonly string[] = [],
): Promise<void> {
  const commands = operatorCommands(accounts);
  const applicationId = client.application?.id ?? client.user?.id;
  if (applicationId === undefined) {
    log.error('could not register the slash commands: the application ID is unknown');
    return;
  }
  try {
    await client.rest.put(discord.Routes.applicationCommands(applicationId), {
      body: commands,
      signal: AbortSignal.timeout(timeoutMs),
    });
    log.info(
      { commands: commands.map((command) => command.name), accountOption: commands.some((c) => c.options) },
      'registered the slash commands',
    );
  } catch (error) {
    log.error({ error: describeError(error) }, 'could not register the slash commands');
  }
}

/** Fetches the operators' users once, so texts can name them; a missing one is worth a warning. */
export async function loadOperatorNames(
  client: Client,
  operatorIds: ReadonlySet<string>,
  log: Logger,
): Promise<void> {
  await Promise.all(
    [...operatorIds].map(async (operatorId) => {
      try {
        await client.users.fetch(operatorId);
      } catch (error) {
        log.warn({ userId: operatorId, error: describeError(error) }, 'could not look up an operator');
      }
    }),
  );
}
