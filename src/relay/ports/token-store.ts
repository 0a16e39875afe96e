import type { RelayEvent, TokenRecord } from '../../contract/types.js';
import type { Secret } from '../../shared/secret.js';

/** What {@link TokenStore.publish} needs to write a new token. */
export interface NewToken {
  readonly token: Secret;
  /** When the broker issued it; its unix seconds seed the generation of a store with no counter. */
  readonly obtainedAt: Date;
  readonly expiresAt: Date;
  /**
   * The lowest generation this token may take: the highest generation the caller has seen (held,
   * adopted, published or invalidated) plus one. It keeps the generation going up when the store
   * lost its counter (a Redis restarted without persistence, a failover to a replica that missed
   * the last write) while the caller still remembers. A non-negative safe integer; none: `0`.
   */
  readonly minGeneration?: number | undefined;
}

/**
 * Where the current token of one account lives. One contract suite (test/store) runs against every
 * implementation.
 */
export interface TokenStore {
  /** The current record, or `undefined` when there is none (or it has expired). */
  read(): Promise<TokenRecord | undefined>;
  /**
   * Takes the next generation and writes the token with a TTL ending at `expiresAt`, atomically. The
   * generation is the largest of: one more than the store's counter (so one more than any before,
   * even after a removal); `minGeneration`; one more than the stored record's; and, when the store
   * has no counter (a fresh deployment, or a store that lost its data), the unix seconds of
   * `obtainedAt`. The counter is then set to it. So the first token of a deployment is about
   * 1.76e9, the next ones go up by one, and after a data loss the clock restarts above anything
   * given out before, as long as there was less than one login per second on average (the SMS
   * guard allows a few an hour). Resolves only once the write is stored: a failed write rejects.
   */
  publish(token: NewToken): Promise<TokenRecord>;
  /**
   * `true` when {@link TokenStore.publish} also publishes the `token.updated` event for the bots, in
   * the same atomic step as the write: the caller then sends none of its own.
   */
  readonly announcesPublish?: boolean;
  /**
   * Removes the token if it is still generation `generation`; a newer token is left alone.
   * Resolves to whether it removed anything.
   */
  remove(generation: number): Promise<boolean>;
  /**
   * Writes `record` back exactly as it was (same generation and times) when the store lost it (a
   * Redis restarted empty), and makes sure the generation counter is at least its generation, so
   * generations never go back. Refused (resolves `false`) when the store holds the same or a newer
   * generation, or the record has expired.
   */
  restore(record: TokenRecord): Promise<boolean>;
}

/** Publishes relay events for the bots. */
export interface EventPublisher {
  /** Publishes one event; rejects when it could not be handed to Redis. */
  publish(event: RelayEvent): Promise<void>;
}

export type { RelayEvent, RelayKeys, TokenRecord } from '../../contract/types.js';
