import type {
  APIApplicationCommandStringOption,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
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

/** The name of the commands' option that names an account (`/login account:live`). */
export const ACCOUNT_OPTION = 'account';

/** Discord offers at most this many choices for an option; with more accounts, the name is typed. */
export const MAX_OPTION_CHOICES = 25;

/** The longest account name (`RELAY_ACCOUNTS`): the most a typed `account:` takes. */
const MAX_ACCOUNT_LENGTH = 32;

/** What the `account` option says under each command that takes one (at most 100 characters). */
const ACCOUNT_DESCRIPTIONS = {
  status: 'Only this account (every account of yours when left out)',
  login: 'The account to log in (asked when left out and you have several)',
  cancel: 'The account whose login to cancel (asked when left out and you have several)',
} as const satisfies Record<OperatorCommand, string>;

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
 *
 * Several `accounts` (two or more): `/status`, `/login` and `/cancel` take an optional `account`
 * option, offered as a choice of those names when Discord allows that many choices (25), else typed
 * (at most 32 characters). With one account or none given, no option: the commands are exactly
 * those of a one-account relay.
 */
export function operatorCommands(
  accounts: readonly string[] = [],
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const names = [...new Set(accounts)];
  return (Object.entries(DESCRIPTIONS) as [OperatorCommand | ChannelCommand, string][]).map(
    ([name, description]) => {
      const command = operatorCommandOf(name);
      const option = command === undefined || names.length < 2 ? undefined : accountOption(command, names);
      return {
        name,
        description,
        type: discord.ApplicationCommandType.ChatInput,
        contexts: [discord.InteractionContextType.BotDM],
        integration_types: [discord.ApplicationIntegrationType.GuildInstall],
        ...(option === undefined ? {} : { options: [option] }),
      };
    },
  );
}

/** The commands of a relay with one account: no `account` option. */
export const OPERATOR_COMMANDS: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] =
  operatorCommands();

function accountOption(
  command: OperatorCommand,
  accounts: readonly string[],
): APIApplicationCommandStringOption {
  const option = {
    type: discord.ApplicationCommandOptionType.String,
    name: ACCOUNT_OPTION,
    description: ACCOUNT_DESCRIPTIONS[command],
    required: false,
  } as const;
  return accounts.length <= MAX_OPTION_CHOICES
    ? { ...option, choices: accounts.map((account) => ({ name: account, value: account })) }
    : { ...option, min_length: 1, max_length: MAX_ACCOUNT_LENGTH };
}

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
