import type { Secret } from '../secret.js';

/**
 * The token record bots read, inside keyv's envelope, from `P:token:A`. Field names are public
 * contract (DESIGN.md): never rename one.
 */
export interface TokenRecord {
  /** The bearer token, without `Bearer `. */
  readonly token: string;
  /** The account's name (`RELAY_ACCOUNT`). */
  readonly account: string;
  /** Grows by one with every new token of the account; never goes back. */
  readonly generation: number;
  /** ISO 8601. */
  readonly obtainedAt: string;
  /** ISO 8601; the key's Redis TTL ends here. */
  readonly expiresAt: string;
}

/** What {@link TokenStore.publish} needs to write a new token. */
export interface NewToken {
  readonly token: Secret;
  readonly obtainedAt: Date;
  readonly expiresAt: Date;
}

/**
 * Where the current token of one account lives. One contract suite (test/store) runs against every
 * implementation.
 */
export interface TokenStore {
  /** The current record, or `undefined` when there is none (or it has expired). */
  read(): Promise<TokenRecord | undefined>;
  /**
   * Takes the next generation (one more than any before, even after a removal) and writes the token
   * with a TTL ending at `expiresAt`. Resolves only once the write is stored: a failed write rejects.
   */
  publish(token: NewToken): Promise<TokenRecord>;
  /**
   * Removes the token if it is still generation `generation`; a newer token is left alone.
   * Resolves to whether it removed anything.
   */
  remove(generation: number): Promise<boolean>;
}

/** Events on `P:events:A`. Field names and types are public contract. Never a token or a code. */
export type RelayEvent =
  | { readonly type: 'token.updated'; readonly generation: number; readonly expiresAt: string }
  | { readonly type: 'token.invalidated'; readonly generation: number; readonly reason: string }
  | { readonly type: 'login.started'; readonly reason: string }
  | { readonly type: 'login.failed'; readonly reason: string };

/** Publishes relay events for the bots. */
export interface EventPublisher {
  /** Publishes one event; rejects when it could not be handed to Redis. */
  publish(event: RelayEvent): Promise<void>;
}

/** The Redis key and channel names of one account. Pure: see `store/keys.ts`. */
export interface RelayKeys {
  /** `P:token:A`, the token bots read. */
  readonly token: string;
  /** `P:events:A`, the channel of {@link RelayEvent}s. */
  readonly events: string;
  /** `P:requests:A`, where bots publish `token.rejected`. */
  readonly requests: string;
  /** `P:generation:A`, the generation counter (the relay's own). */
  readonly generation: string;
  /** `P:audit:A`, the capped stream of ended logins (the relay's own; see `audit/`). */
  readonly audit: string;
}
