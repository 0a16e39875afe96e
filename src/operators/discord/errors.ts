/**
 * What went wrong with the Discord channel itself (not with one DM). `gateway-closed`: Discord
 * closed the gateway with a code discord.js does not reconnect after (a revoked token, disallowed
 * intents): the channel is dead until a person fixes the configuration.
 */
export type DiscordChannelErrorKind = 'not-started' | 'already-started' | 'login-failed' | 'gateway-closed';

/**
 * A failure of the Discord channel as a whole. Its message never holds the token: discord.js errors
 * are kept as `cause` and their own messages name no secret either.
 */
export class DiscordChannelError extends Error {
  public override readonly name = 'DiscordChannelError';
  public readonly kind: DiscordChannelErrorKind;

  public constructor(kind: DiscordChannelErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}
