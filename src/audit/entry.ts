import type { AuditEntry } from './types.js';
import { BROKER_ERROR_KINDS, LOGIN_OUTCOMES, LOGIN_REASONS, isOneOf } from '../domain/vocabulary.js';
import type { EndedLogin } from '../domain/login.js';

/** The stored fields of one entry (stream field → value), without its ID. */
export type AuditFields = Record<string, string>;

/**
 * The fields stored for an ended login. Each field is picked by name, so nothing else that rides
 * along on the object (a code, say) can reach the trail. Throws a `RangeError` on an invalid date.
 */
export function toAuditFields(login: EndedLogin): AuditFields {
  const fields: AuditFields = {
    loginId: login.loginId,
    trigger: login.reason,
    outcome: login.outcome,
  };
  if (login.error !== undefined) fields.error = login.error;
  if (login.operatorId !== undefined) fields.operator = login.operatorId;
  fields.attempts = String(login.attempts);
  fields.startedAt = login.startedAt.toISOString();
  fields.endedAt = login.endedAt.toISOString();
  return fields;
}

/** Exactly what `Date.prototype.toISOString` writes. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Longer IDs are not the relay's (its login IDs are short, Discord's snowflakes are 17–20 digits). */
const MAX_ID_LENGTH = 128;

/**
 * Reads stored fields back into an entry, or `undefined` when they are not one (a field missing or
 * out of its vocabulary). Only the known fields are read; anything else stored is ignored.
 */
export function parseAuditFields(
  id: string,
  fields: Readonly<Record<string, unknown>>,
): AuditEntry | undefined {
  const { loginId, trigger, outcome, error, operator, attempts, startedAt, endedAt } = fields;
  if (!isId(loginId)) return undefined;
  if (!isOneOf(LOGIN_REASONS, trigger) || !isOneOf(LOGIN_OUTCOMES, outcome)) return undefined;
  if (error !== undefined && !isOneOf(BROKER_ERROR_KINDS, error)) return undefined;
  if (operator !== undefined && !isId(operator)) return undefined;
  if (typeof attempts !== 'string' || !/^\d{1,9}$/.test(attempts)) return undefined;
  if (!isIsoDate(startedAt) || !isIsoDate(endedAt)) return undefined;
  return {
    id,
    loginId,
    trigger,
    outcome,
    ...(error === undefined ? {} : { error }),
    ...(operator === undefined ? {} : { operator }),
    attempts: Number(attempts),
    startedAt,
    endedAt,
  };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && ISO_8601.test(value) && !Number.isNaN(Date.parse(value));
}
