export type { EventPublisher, NewToken, RelayEvent, RelayKeys, TokenRecord, TokenStore } from './types.js';
export { relayKeys, type RelayKeysOptions } from './keys.js';
export {
  InvalidTokenError,
  RedisNotConnectedError,
  StaleGenerationError,
  type InvalidTokenReason,
} from './errors.js';
export {
  parseBotRequest,
  MAX_BOT_REQUEST_LENGTH,
  type BotRequest,
  type BotRequestParseResult,
} from './bot-request.js';
export {
  connectRedis,
  connectSubscriber,
  createRedisClient,
  reconnectDelayMs,
  redactRedisUrl,
  REDIS_CONNECTION_DEFAULTS,
  type ReconnectDelayOptions,
  type RedisClient,
  type RedisConnectionOptions,
  type SubscriberConnectionOptions,
} from './redis-connection.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './redis-token-store.js';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './memory-token-store.js';
export {
  RedisEventPublisher,
  RedisRequestSubscriber,
  serializeRelayEvent,
  subscribeToRequests,
  type RedisEventPublisherOptions,
  type RedisRequestSubscriberOptions,
} from './redis-events.js';
export { MemoryEventPublisher, type RelayEventListener } from './memory-events.js';
export { RedisCoordination, type RedisCoordinationOptions } from './redis-coordination.js';
export {
  MemoryCoordination,
  MEMORY_COORDINATION_DEFAULTS,
  type MemoryCoordinationOptions,
} from './memory-coordination.js';
