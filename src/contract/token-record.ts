import { isJsonObject, isNonNegativeInteger } from './json-object.js';
import type { TokenRecord } from './types.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && ISO_8601.test(value) && Number.isFinite(Date.parse(value));
}

/**
 * A stored value as a {@link TokenRecord}, or `undefined` when it does not have the record's shape.
 * Only the record's own fields are kept.
 */
export function toTokenRecord(value: unknown): TokenRecord | undefined {
  if (!isJsonObject(value)) return undefined;
  const { token, account, generation, obtainedAt, expiresAt } = value;
  if (typeof token !== 'string' || token.length === 0) return undefined;
  if (typeof account !== 'string') return undefined;
  if (!isNonNegativeInteger(generation)) return undefined;
  if (!isIsoDate(obtainedAt) || !isIsoDate(expiresAt)) return undefined;
  return Object.freeze({ token, account, generation, obtainedAt, expiresAt });
}

/** Whether a record has expired at `nowMs`: from `expiresAt` on, as Redis drops the key then. */
export function isExpired(record: TokenRecord, nowMs: number): boolean {
  return Date.parse(record.expiresAt) <= nowMs;
}
