import type { RelayEvent } from '../store/types.js';

export type { RelayEvent };

/** The outcome of {@link parseRelayEvent}. */
export type RelayEventParseResult =
  { readonly ok: true; readonly event: RelayEvent } | { readonly ok: false; readonly error: string };

/** Longer messages are not parsed: the relay's events are a few dozen bytes. */
export const MAX_RELAY_EVENT_LENGTH = 4096;

/**
 * Reads one message of `P:events:A`. Accepts the four event types of DESIGN.md with their fields
 * of the right types, keeping only those fields. Never throws: anything else is `{ ok: false }`
 * with a short reason that never quotes the message (`'unknown type'` for a type this version does
 * not know, which a newer relay may send).
 */
export function parseRelayEvent(text: string): RelayEventParseResult {
  if (text.length > MAX_RELAY_EVENT_LENGTH) return { ok: false, error: 'message too long' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'not a JSON object' };
  }
  const { type, generation, expiresAt, reason } = value as Record<string, unknown>;
  switch (type) {
    case 'token.updated':
      if (!isGeneration(generation)) return { ok: false, error: 'bad generation' };
      if (typeof expiresAt !== 'string') return { ok: false, error: 'bad expiresAt' };
      return { ok: true, event: { type, generation, expiresAt } };
    case 'token.invalidated':
      if (!isGeneration(generation)) return { ok: false, error: 'bad generation' };
      if (typeof reason !== 'string') return { ok: false, error: 'bad reason' };
      return { ok: true, event: { type, generation, reason } };
    case 'login.started':
    case 'login.failed':
      if (typeof reason !== 'string') return { ok: false, error: 'bad reason' };
      return { ok: true, event: { type, reason } };
    default:
      return { ok: false, error: typeof type === 'string' ? 'unknown type' : 'no type' };
  }
}

function isGeneration(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
