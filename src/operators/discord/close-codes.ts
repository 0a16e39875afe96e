import { discord } from './discord-js.js';
import { DiscordChannelError } from './errors.js';

/**
 * What a gateway close code after which discord.js never reconnects means, and what to fix. These
 * are the codes discord.js 14 treats as unrecoverable (it then emits `shardDisconnect`).
 */
const FATAL_CLOSE_REASONS: Readonly<Record<number, string>> = {
  [discord.GatewayCloseCodes.AuthenticationFailed]:
    'authentication failed: Discord refused the bot token (check DISCORD_TOKEN)',
  [discord.GatewayCloseCodes.InvalidShard]: 'invalid shard',
  [discord.GatewayCloseCodes.ShardingRequired]: 'sharding required',
  [discord.GatewayCloseCodes.InvalidAPIVersion]: 'invalid API version',
  [discord.GatewayCloseCodes.InvalidIntents]: 'invalid intents',
  [discord.GatewayCloseCodes.DisallowedIntents]:
    'disallowed intents: the application is not allowed an intent the relay asks for (developer portal)',
};

/** Why Discord closed the gateway for good, in words, for logs and the fatal error. Never a secret. */
export function fatalCloseReason(code: number): string {
  return `close code ${code}, ${FATAL_CLOSE_REASONS[code] ?? 'a close code discord.js does not recover from'}`;
}

/** What `onFatal` is told when Discord closed the gateway for good. */
export function gatewayClosedError(code: number): DiscordChannelError {
  return new DiscordChannelError(
    'gateway-closed',
    `Discord closed the gateway for good (${fatalCloseReason(code)})`,
  );
}
