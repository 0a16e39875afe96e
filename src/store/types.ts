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
  /**
   * Grows with every new token of the account and never goes back, also after Redis lost its data:
   * compare it, never count on steps of one (see {@link TokenStore.publish}).
   */
  readonly generation: number;
  /** ISO 8601. */
  readonly obtainedAt: string;
  /** ISO 8601; the key's Redis TTL ends here. */
  readonly expiresAt: string;
}

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

/** Events on `P:events:A`. Field names and types are public contract. Never a token or a code. */
export type RelayEvent =
  | { readonly type: 'token.updated'; readonly generation: number; readonly expiresAt: string }
  | { readonly type: 'token.invalidated'; readonly generation: number; readonly reason: string }
  | { readonly type: 'login.started'; readonly reason: string }
  | { readonly type: 'login.failed'; readonly reason: string }
  /**
   * The relay's answer to a bot's `token.rejected` for `generation`, once it asked the broker:
   * `valid: true` means the token still works (the bot's 401 had another cause), `false` that it is
   * dead (a `token.invalidated` and a new login follow).
   */
  | { readonly type: 'token.checked'; readonly generation: number; readonly valid: boolean };

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
  /** `P:lock:A`, the login lock: the owner's ID, with a TTL (the relay's own). */
  readonly lock: string;
  /**
   * `P:pending:A`, the pending login as JSON, step 1's interim token included; its TTL ends at the
   * login's deadline (the relay's own, readable only by the relay's ACL user).
   */
  readonly pending: string;
  /** `P:halt:A`, the halt of all logins as JSON, with no TTL (the relay's own). */
  readonly halt: string;
  /** `P:logins:A`, a sorted set of step-1 times over the last hour: the SMS budget (the relay's own). */
  readonly logins: string;
  /**
   * `P:inputs:A`, a sorted set of the operator inputs (DM and interaction IDs) some relay claimed,
   * scored by when each claim is forgotten (the relay's own).
   */
  readonly inputs: string;
}
