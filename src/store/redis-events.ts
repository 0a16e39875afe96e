import { errorFields, type Logger } from '../shared/log.js';
import { type BotRequest, parseBotRequest } from '../contract/bot-request.js';
import type { RedisClient } from '../redis/connect.js';
import { subscribeChannel, type ChannelSubscription } from '../redis/subscription.js';
import type { EventPublisher, RelayEvent, RelayKeys } from '../relay/ports/token-store.js';

export { parseBotRequest, type BotRequest, type BotRequestParseResult } from '../contract/bot-request.js';

/**
 * One event as the JSON bots receive: only the fields docs/contract.md#events lists for its type, in
 * that order, so that nothing else on the object (a token, say) can ride along.
 */
export function serializeRelayEvent(event: RelayEvent): string {
  switch (event.type) {
    case 'token.updated':
      return JSON.stringify({ type: event.type, generation: event.generation, expiresAt: event.expiresAt });
    case 'token.invalidated':
      return JSON.stringify({ type: event.type, generation: event.generation, reason: event.reason });
    case 'token.checked':
      return JSON.stringify({ type: event.type, generation: event.generation, valid: event.valid });
    case 'login.started':
    case 'login.failed':
      return JSON.stringify({ type: event.type, reason: event.reason });
    default: {
      const unknown: never = event;
      throw new TypeError(`Unknown relay event type: ${String((unknown as { type?: unknown }).type)}`);
    }
  }
}

/** Options of {@link RedisEventPublisher}. */
export interface RedisEventPublisherOptions {
  /** A connected client (not a subscriber connection); the publisher never closes it. */
  client: RedisClient;
  /** The account's keys: events go to `keys.events`. */
  keys: RelayKeys;
}

/** Publishes relay events on `P:events:A`, one JSON object per message. */
export class RedisEventPublisher implements EventPublisher {
  readonly #client: RedisClient;
  readonly #channel: string;

  public constructor(options: RedisEventPublisherOptions) {
    this.#client = options.client;
    this.#channel = options.keys.events;
  }

  /** Resolves once Redis accepted the message (whether or not anyone listens). */
  public async publish(event: RelayEvent): Promise<void> {
    await this.#client.publish(this.#channel, serializeRelayEvent(event));
  }
}

/** Options of {@link RedisRequestSubscriber}. */
export interface RedisRequestSubscriberOptions {
  /**
   * The relay's connected client. Without `subscriber`, the subscriber runs on its own
   * `duplicate()` of it, which it opens in {@link RedisRequestSubscriber.start} and closes in
   * {@link RedisRequestSubscriber.close}.
   */
  client: RedisClient;
  /**
   * A connected subscriber connection shared with other subscriptions (several accounts in one
   * process: `openSharedSubscriber` of redis/subscription.ts). The subscriber subscribes and
   * unsubscribes on it, and never closes it: its owner does.
   */
  subscriber?: RedisClient | undefined;
  /** The account's keys: requests come from `keys.requests`. */
  keys: RelayKeys;
  /** Called with every well-formed request; a throw or rejection is logged, never fatal. */
  onRequest: (request: BotRequest) => void | Promise<void>;
  /** Where malformed messages and handler failures are logged (never the message text). */
  logger?: Logger | undefined;
}

/**
 * Listens on `P:requests:A` for what bots report (`token.rejected`), on a subscriber connection of
 * its own or on the shared one it is given. Malformed messages are logged and ignored. node-redis
 * subscribes again by itself after a reconnect.
 */
export class RedisRequestSubscriber {
  readonly #options: RedisRequestSubscriberOptions;
  #subscription: ChannelSubscription | undefined;
  #starting = false;

  public constructor(options: RedisRequestSubscriberOptions) {
    this.#options = options;
  }

  /** Subscribes (opening its own connection first, without `subscriber`); resolves once Redis confirmed it. */
  public async start(signal?: AbortSignal): Promise<void> {
    if (this.#starting) throw new Error('RedisRequestSubscriber already started');
    this.#starting = true;
    const { client, subscriber, logger, keys } = this.#options;
    try {
      this.#subscription = await subscribeChannel({
        client,
        shared: subscriber,
        channel: keys.requests,
        listener: (message) => this.#handle(message),
        logger,
        signal,
      });
    } catch (error) {
      // Nothing was left open: it may be started again.
      this.#starting = false;
      throw error;
    }
  }

  /**
   * Unsubscribes, and closes its own subscriber connection (a shared one stays open). Safe to call
   * more than once.
   */
  public async close(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  #handle(message: string): void {
    const { logger, keys, onRequest } = this.#options;
    const parsed = parseBotRequest(message);
    if (!parsed.ok) {
      logger?.warn(
        { channel: keys.requests, error: parsed.error, length: message.length },
        'Ignored a malformed bot request',
      );
      return;
    }
    const failed = (error: unknown): void => {
      logger?.error(
        { channel: keys.requests, err: errorFields(error), generation: parsed.request.generation },
        'Bot request handler failed',
      );
    };
    try {
      const result = onRequest(parsed.request);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }
}

/** Creates a {@link RedisRequestSubscriber} and starts it. */
export async function subscribeToRequests(
  options: RedisRequestSubscriberOptions,
  signal?: AbortSignal,
): Promise<RedisRequestSubscriber> {
  const subscriber = new RedisRequestSubscriber(options);
  await subscriber.start(signal);
  return subscriber;
}
