/**
 * The Redis wire format the relay writes and bots read (docs/contract.md#redis-what-bots-read). Field
 * names are public contract: never rename one.
 */

/**
 * The token record bots read, inside keyv's envelope, from `P:token:A`. Field names are public
 * contract (docs/contract.md#the-token): never rename one.
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

/** The Redis key and channel names of one account. Pure: see `contract/keys.ts`. */
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
  /**
   * `P:waiting:A`, set while the last login ended without a token: automatic triggers then wait for
   * a person, on every relay (the relay's own).
   */
  readonly waiting: string;
  /** `P:logins:A`, a sorted set of step-1 times over the last hour: the SMS budget (the relay's own). */
  readonly logins: string;
  /**
   * `P:inputs:A`, a sorted set of the operator inputs (DM and interaction IDs) some relay claimed,
   * scored by when each claim is forgotten (the relay's own).
   */
  readonly inputs: string;
}
