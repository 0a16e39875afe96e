import { errorFields, type Logger } from '../shared/log.js';
import { connectSubscriber, type RedisClient } from '../redis/connect.js';
import { parseRelayEvent } from '../contract/relay-event.js';
import type { RelayKeys } from '../relay/ports/token-store.js';

/** Options of {@link watchTokenEvents}. */
export interface TokenEventWatchOptions {
  /** The relay's connected client; the watch runs on its own duplicate. */
  client: RedisClient;
  keys: Pick<RelayKeys, 'events'>;
  /** Called on every `token.updated` or `token.invalidated` (another relay's, or this one's). */
  onTokenEvent: () => void;
  logger?: Logger;
}

/** A running watch; `close()` ends its connection. */
export interface TokenEventWatch {
  close(): Promise<void>;
}

/**
 * Listens to the account's events channel, so that a relay learns of tokens other relays published
 * or removed. Only the event's `type` is read; the token itself is always read from its key.
 */
export async function watchTokenEvents(options: TokenEventWatchOptions): Promise<TokenEventWatch> {
  const subscriber = await connectSubscriber(options.client, {
    logger: options.logger,
    name: `${options.client.options?.name ?? 'otp-relay'}:events`,
  });
  await subscriber.subscribe(options.keys.events, (message) => {
    const parsed = parseRelayEvent(message);
    if (parsed.ok && (parsed.event.type === 'token.updated' || parsed.event.type === 'token.invalidated')) {
      options.onTokenEvent();
    }
  });
  return {
    close: async () => {
      if (!subscriber.isOpen) return;
      await subscriber
        .close()
        .catch((error: unknown) =>
          options.logger?.warn({ err: errorFields(error) }, 'event watch close failed'),
        );
    },
  };
}
