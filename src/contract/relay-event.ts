import { isNonNegativeInteger, parseJsonObject } from './json-object.js';
import type { RelayEvent } from './types.js';

export type { RelayEvent };

/** The outcome of {@link parseRelayEvent}. */
export type RelayEventParseResult =
  { readonly ok: true; readonly event: RelayEvent } | { readonly ok: false; readonly error: string };

/** Longer messages are not parsed: the relay's events are a few dozen bytes. */
export const MAX_RELAY_EVENT_LENGTH = 4096;

/**
 * Reads one message of `P:events:A` (the relay's own watch and the bots' client both use it).
 * Accepts the five event types of docs/contract.md#events with their fields of the right types, keeping only
 * those fields. Never throws: anything else is `{ ok: false }`
 * with a short reason that never quotes the message (`'unknown type'` for a type this version does
 * not know, which a newer relay may send).
 */
export function parseRelayEvent(text: string): RelayEventParseResult {
  const parsed = parseJsonObject(text, MAX_RELAY_EVENT_LENGTH);
  if (!parsed.ok) return parsed;
  const { type, generation, expiresAt, reason, valid } = parsed.value;
  switch (type) {
    case 'token.updated':
      if (!isNonNegativeInteger(generation)) return { ok: false, error: 'bad generation' };
      if (typeof expiresAt !== 'string') return { ok: false, error: 'bad expiresAt' };
      return { ok: true, event: { type, generation, expiresAt } };
    case 'token.invalidated':
      if (!isNonNegativeInteger(generation)) return { ok: false, error: 'bad generation' };
      if (typeof reason !== 'string') return { ok: false, error: 'bad reason' };
      return { ok: true, event: { type, generation, reason } };
    case 'token.checked':
      if (!isNonNegativeInteger(generation)) return { ok: false, error: 'bad generation' };
      if (typeof valid !== 'boolean') return { ok: false, error: 'bad valid' };
      return { ok: true, event: { type, generation, valid } };
    case 'login.started':
    case 'login.failed':
      if (typeof reason !== 'string') return { ok: false, error: 'bad reason' };
      return { ok: true, event: { type, reason } };
    default:
      return { ok: false, error: typeof type === 'string' ? 'unknown type' : 'no type' };
  }
}
