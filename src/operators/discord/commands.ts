import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { discord } from './discord-js.js';
import type { OperatorCommand } from '../../relay/ports/operators.js';

/**
 * The commands the Discord channel answers by itself, without the core: `/check` (a test DM to
 * every operator) needs no login and no Redis.
 */
export type ChannelCommand = 'check';

/** What each command's description says in Discord's command picker (at most 100 characters). */
const DESCRIPTIONS = {
  status: 'Show the token, the login under way, the next planned login and the SMS count',
  login: 'Start a new login now (sends an SMS code)',
  cancel: 'Cancel the login that is waiting for a code',
  check: 'Send every operator a test DM, and see whose DMs Discord refuses',
} as const satisfies Record<OperatorCommand | ChannelCommand, string>;

const CHANNEL_COMMANDS: readonly string[] = ['check'] satisfies ChannelCommand[];

/**
 * The relay's slash commands, as the body of `PUT /applications/{appId}/commands` (a bulk
 * overwrite: commands of an older version that are not listed here are deleted).
 *
 * Where they appear:
 * - `contexts: [BotDM]`: only in the DM with the bot. Not in servers, so no server member can even
 *   see them; not in other DMs or group DMs (`PrivateChannel` only matters for user installs).
 * - `integration_types: [GuildInstall]`: the bot is installed to a server, as it is to DM the
 *   operators at all. Discord offers a global command in the bot's DM to users who share a server
 *   with the bot. `UserInstall` is left out: it needs the app to be set up for user installs, and
 *   Discord refuses the whole registration if it is not.
 * - `default_member_permissions` is not set: it is a server permission and means nothing in a DM.
 *   Who may use a command is checked by the channel itself (`DISCORD_OPERATOR_IDS`), since Discord
 *   shows the commands to anyone who opens a DM with the bot.
 */
export const OPERATOR_COMMANDS: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] = (
  Object.entries(DESCRIPTIONS) as [OperatorCommand | ChannelCommand, string][]
).map(([name, description]) => ({
  name,
  description,
  type: discord.ApplicationCommandType.ChatInput,
  contexts: [discord.InteractionContextType.BotDM],
  integration_types: [discord.ApplicationIntegrationType.GuildInstall],
}));

/** The core's command a slash command's name stands for; `undefined` for any other name. */
export function operatorCommandOf(name: string): OperatorCommand | undefined {
  return Object.hasOwn(DESCRIPTIONS, name) && !CHANNEL_COMMANDS.includes(name)
    ? (name as OperatorCommand)
    : undefined;
}

/** The channel's own command a slash command's name stands for; `undefined` for any other name. */
export function channelCommandOf(name: string): ChannelCommand | undefined {
  return CHANNEL_COMMANDS.includes(name) ? (name as ChannelCommand) : undefined;
}
