import { isNonNegativeInteger } from '../contract/json-object.js';
import { toTokenRecord } from '../contract/token-record.js';
import type { TokenRecord } from '../contract/types.js';
import type { NewToken } from '../relay/ports/token-store.js';
import { InvalidTokenError } from './errors.js';

/** What both token stores do with a token before and while they write it. */

/** A {@link NewToken} checked and reduced to what a record needs. */
export interface CheckedNewToken {
  /** The bearer token itself: it goes into the record, which is the product. */
  readonly tokenText: string;
  readonly obtainedAt: string;
  readonly expiresAt: string;
  readonly expiresAtMs: number;
  /** `NewToken.minGeneration`, `0` when not given. */
  readonly minGeneration: number;
  /** The clock seed of a store with no generation counter: the unix seconds of `obtainedAt`. */
  readonly seedGeneration: number;
}

/**
 * Checks a token before a generation is spent on it: non-empty, valid dates, not yet expired at
 * `nowMs`. Throws {@link InvalidTokenError}, whose message never holds the token, or a `RangeError`
 * for a `minGeneration` that is not a non-negative safe integer.
 */
export function checkNewToken(newToken: NewToken, nowMs: number): CheckedNewToken {
  const tokenText = newToken.token.reveal();
  if (tokenText.length === 0) throw new InvalidTokenError('empty-token');
  const obtainedAtMs = newToken.obtainedAt.getTime();
  const expiresAtMs = newToken.expiresAt.getTime();
  if (!Number.isFinite(obtainedAtMs) || !Number.isFinite(expiresAtMs)) {
    throw new InvalidTokenError('invalid-date');
  }
  if (expiresAtMs <= nowMs) throw new InvalidTokenError('already-expired');
  const minGeneration = newToken.minGeneration ?? 0;
  if (!isNonNegativeInteger(minGeneration)) {
    throw new RangeError('Token not published: minGeneration is not a non-negative integer');
  }
  return {
    tokenText,
    obtainedAt: newToken.obtainedAt.toISOString(),
    expiresAt: newToken.expiresAt.toISOString(),
    expiresAtMs,
    minGeneration,
    seedGeneration: Math.max(0, Math.floor(obtainedAtMs / 1000)),
  };
}

/**
 * The generation a publish takes (`TokenStore.publish`), given the store's counter after its
 * increment (`incremented`, so `1` when the store had no counter) and the stored record's generation
 * (`-1`: none): the largest of `incremented`, `minGeneration`, one more than the stored record's,
 * and, only when the counter did not exist, the clock seed. RedisTokenStore runs the same rule in
 * Lua (its fenced write script); MemoryTokenStore calls this.
 */
export function nextGeneration(
  checked: CheckedNewToken,
  incremented: number,
  storedGeneration: number,
): number {
  const seed = incremented === 1 ? checked.seedGeneration : 0;
  return Math.max(incremented, checked.minGeneration, storedGeneration + 1, seed);
}

/** The record bots read, with its fields in the order docs/contract.md#the-token lists them. */
export function buildTokenRecord(checked: CheckedNewToken, account: string, generation: number): TokenRecord {
  return Object.freeze({
    token: checked.tokenText,
    account,
    generation,
    obtainedAt: checked.obtainedAt,
    expiresAt: checked.expiresAt,
  });
}

/**
 * Checks a record given to `TokenStore.restore` and returns it reduced to the record's own fields,
 * in the order docs/contract.md#the-token lists them (so both stores write the same bytes). Throws
 * {@link InvalidTokenError} or a `RangeError`, whose messages never hold the token.
 * Expiry is the caller's to check, as an expired record is refused, not an error.
 */
export function checkRestorable(record: TokenRecord, account: string): TokenRecord {
  const checked = toTokenRecord(record);
  if (checked === undefined) {
    if (typeof record.token !== 'string' || record.token.length === 0) {
      throw new InvalidTokenError('empty-token');
    }
    if (!Number.isSafeInteger(record.generation) || record.generation < 0) {
      throw new RangeError('Token not restored: its generation is not a non-negative integer');
    }
    throw new InvalidTokenError('invalid-date');
  }
  if (checked.account !== account) throw new RangeError('Token not restored: it is of another account');
  return checked;
}
