import type { Client } from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import { OPERATOR_COMMANDS } from './commands.js';
import { describeError } from './describe-error.js';

/**
 * Replaces the application's global commands with {@link OPERATOR_COMMANDS}. Never throws: without
 * commands, prompts, replies and buttons still work, and the commands Discord already has stay.
 */
export async function registerCommands(client: Client, log: Logger, timeoutMs: number): Promise<void> {
  const applicationId = client.application?.id ?? client.user?.id;
  if (applicationId === undefined) {
    log.error('could not register the slash commands: the application ID is unknown');
    return;
  }
  try {
    await client.rest.put(discord.Routes.applicationCommands(applicationId), {
      body: OPERATOR_COMMANDS,
      signal: AbortSignal.timeout(timeoutMs),
    });
    log.info({ commands: OPERATOR_COMMANDS.map((command) => command.name) }, 'registered the slash commands');
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
