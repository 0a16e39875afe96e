import type { Logger } from '../shared/log.js';
import type { RedisClient } from '../redis/connect.js';
import { subscribeChannel } from '../redis/subscription.js';
import { parseRelayEvent } from '../contract/relay-event.js';
import type { RelayKeys } from '../relay/ports/token-store.js';

/** Options of {@link watchTokenEvents}. */
export interface TokenEventWatchOptions {
  /** The relay's connected client; without `subscriber`, the watch runs on its own duplicate. */
  client: RedisClient;
  /**
   * A connected subscriber connection shared with other subscriptions (several accounts in one
   * process: `openSharedSubscriber` of redis/subscription.ts). The watch subscribes and
   * unsubscribes on it, and never closes it: its owner does.
   */
  subscriber?: RedisClient | undefined;
  keys: Pick<RelayKeys, 'events'>;
  /** Called on every `token.updated` or `token.invalidated` (another relay's, or this one's). */
  onTokenEvent: () => void;
  logger?: Logger;
}

/** A running watch; `close()` ends it, and its own connection (a shared one stays open). */
export interface TokenEventWatch {
  close(): Promise<void>;
}

/**
 * Listens to the account's events channel, so that a relay learns of tokens other relays published
 * or removed. Only the event's `type` is read; the token itself is always read from its key.
 */
export async function watchTokenEvents(options: TokenEventWatchOptions): Promise<TokenEventWatch> {
  return subscribeChannel({
    client: options.client,
    shared: options.subscriber,
    channel: options.keys.events,
    name: `${options.client.options?.name ?? 'otp-relay'}:events`,
    logger: options.logger,
    listener: (message) => {
      const parsed = parseRelayEvent(message);
      if (parsed.ok && (parsed.event.type === 'token.updated' || parsed.event.type === 'token.invalidated')) {
        options.onTokenEvent();
      }
    },
  });
}
