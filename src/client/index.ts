/**
 * `otp-relay/client`: the library trading bots import to read the token the relay publishes in
 * Redis. See {@link TokenClient}.
 *
 * @packageDocumentation
 */
export { createTokenClient, TokenClient } from './token-client.js';
export {
  TOKEN_CLIENT_DEFAULTS,
  type RelayEventListener,
  type TokenChangeListener,
  type TokenClientLogger,
  type TokenClientOptions,
  type TokenClientRedis,
  type TokenClientStartOptions,
  type WaitForTokenOptions,
} from './token-client-options.js';
export type { TokenInfo } from './token-info.js';
export {
  parseRelayEvent,
  MAX_RELAY_EVENT_LENGTH,
  type RelayEvent,
  type RelayEventParseResult,
} from '../contract/relay-event.js';
export type { SentinelNode } from '../redis/settings.js';
export { RedisCommandTimeoutError } from '../redis/deadline.js';
export {
  TokenClientAuthError,
  TokenClientRedisError,
  TokenClientStateError,
  TokenClientTimeoutError,
  type TokenClientAuthProblem,
  type TokenClientOperation,
  type TokenClientStateProblem,
} from './errors.js';
