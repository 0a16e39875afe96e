import { discord } from './discord-js.js';

/**
 * What of an error may be logged. Never the error itself: a discord.js REST error carries the
 * request's URL (an interaction callback's URL holds the interaction token) and its body (the text
 * sent), and both are left out here. Discord's error code goes under `discordCode`: pino redacts any
 * `code` key.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof discord.DiscordAPIError) {
    return {
      name: error.name,
      discordCode: error.code,
      status: error.status,
      method: error.method,
      message: error.message,
    };
  }
  if (error instanceof discord.HTTPError) {
    return { name: error.name, status: error.status, method: error.method, message: error.message };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { message: String(error) };
}

/** Discord's JSON error code, when `error` is a Discord API error. */
export function discordErrorCode(error: unknown): number | string | undefined {
  return error instanceof discord.DiscordAPIError ? error.code : undefined;
}
