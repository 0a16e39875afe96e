/** Why a {@link NewToken} was refused before anything was written. */
export type InvalidTokenReason = 'empty-token' | 'invalid-date' | 'already-expired';

/**
 * A token that cannot be published: empty, with an invalid date, or already expired. The message
 * names the reason only, never the token.
 */
export class InvalidTokenError extends Error {
  public override readonly name = 'InvalidTokenError';
  public readonly reason: InvalidTokenReason;

  public constructor(reason: InvalidTokenReason) {
    super(`Token not published: ${reason}`);
    this.reason = reason;
  }
}

/**
 * The store's Redis client is not open. Raised instead of letting keyv's Redis adapter connect a
 * client on its own: the connection belongs to whoever created it (main.ts), and a closed client
 * stays closed.
 */
export class RedisNotConnectedError extends Error {
  public override readonly name = 'RedisNotConnectedError';

  public constructor() {
    super('The Redis client is not open');
  }
}
