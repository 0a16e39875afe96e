import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from 'discord.js';
import type { Logger } from '../../shared/log.js';
import type { Secret } from '../../shared/secret.js';
import { fatalCloseReason } from './close-codes.js';
import { describeError } from './describe-error.js';
import { discord } from './discord-js.js';
import { DiscordChannelError } from './errors.js';

/**
 * The discord.js client of the operators' channel. Intents: only `DirectMessages` (DM text arrives
 * without the privileged `MessageContent` intent); `Partials.Channel`, since DM channels are not
 * cached when their first message arrives.
 */
export function createDiscordClient(options: {
  readonly apiUrl: string;
  readonly operatorIds: ReadonlySet<string>;
}): Client {
  return new discord.Client({
    intents: [discord.GatewayIntentBits.DirectMessages],
    partials: [discord.Partials.Channel],
    rest: { api: options.apiUrl },
    // Operator names in texts are plain text; nothing the bot sends should ping anyone.
    allowedMentions: { parse: [], repliedUser: false },
    // Caches sized for what the channel reads back (test/operators/discord/client-caches.test.ts):
    // - messages: none. A DM is read from its event, a pressed button's message from its
    //   interaction, and a prompt is edited by its ID (PromptMessages keeps channel and message
    //   IDs), so discord.js' default of 200 messages per DM channel only held every prompt and
    //   notice sent until then.
    // - users: the operators only (their display names in texts) and the bot itself. A stranger who
    //   writes to the bot is not kept: a flood of strangers costs no memory.
    // - channels (the DM channels, which `createDM` looks up before it asks Discord for one) keep
    //   discord.js' default: unlimited, and never swept.
    makeCache: discord.Options.cacheWithLimits({
      ...discord.Options.DefaultMakeCacheSettings,
      MessageManager: 0,
      UserManager: {
        maxSize: 0,
        keepOverLimit: (user) => options.operatorIds.has(user.id) || user.id === user.client.user?.id,
      },
    }),
  });
}

/**
 * Logs `client` in and resolves once its gateway is ready. discord.js retries a gateway that never
 * gets ready forever; the relay's start must not hang: fails with a {@link DiscordChannelError}
 * after `readyTimeoutMs`, or at once when Discord closes the gateway (a refused token or intents).
 */
export async function loginWhenReady(client: Client, token: Secret, readyTimeoutMs: number): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      Promise.all([
        once(client, discord.Events.ClientReady, { signal: done.signal }),
        client.login(token.reveal()),
      ]),
      delay(readyTimeoutMs, undefined, { signal: done.signal, ref: false }).then(() => {
        throw new DiscordChannelError('login-failed', `Discord was not ready within ${readyTimeoutMs} ms`);
      }),
      once(client, discord.Events.ShardDisconnect, { signal: done.signal }).then(([event]) => {
        throw new DiscordChannelError(
          'login-failed',
          `Discord closed the gateway (${fatalCloseReason((event as { code: number }).code)})`,
        );
      }),
    ]);
  } catch (error) {
    throw error instanceof DiscordChannelError
      ? error
      : new DiscordChannelError('login-failed', 'could not log in to Discord', { cause: error });
  } finally {
    done.abort();
  }
}

/** Logs what the client says of itself: errors, warnings, reconnects and resumes of its gateway. */
export function logClientEvents(client: Client, log: Logger, stopped: () => boolean): void {
  client.on(discord.Events.Error, (error) =>
    log.error({ error: describeError(error) }, 'Discord client error'),
  );
  client.on(discord.Events.Warn, (warning) => log.warn({ warning }, 'Discord client warning'));
  client.on(discord.Events.ShardReconnecting, () => {
    // destroy() closes the socket too; that is no reconnect.
    if (!stopped()) log.warn('Discord gateway reconnecting');
  });
  client.on(discord.Events.ShardResume, (_shardId, replayed) =>
    log.info({ replayedEvents: replayed }, 'Discord gateway resumed'),
  );
}
