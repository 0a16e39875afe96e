import { isNonNegativeInteger, parseJsonObject } from './json-object.js';

/**
 * A request a bot publishes on `P:requests:A` (docs/contract.md#requests). Field names are public
 * contract.
 */
export interface BotRequest {
  /** The broker answered 401 to token `generation`. */
  readonly type: 'token.rejected';
  readonly generation: number;
}

/** The outcome of {@link parseBotRequest}. */
export type BotRequestParseResult =
  { readonly ok: true; readonly request: BotRequest } | { readonly ok: false; readonly error: string };

/** Longer messages are not parsed at all: a valid request is a few dozen bytes. */
export const MAX_BOT_REQUEST_LENGTH = 1024;

/**
 * Reads one message of the requests channel. Accepts a JSON object whose `type` is
 * `token.rejected` and whose `generation` is a non-negative safe integer; other fields are ignored
 * (so bots may add their own). Never throws: anything else is `{ ok: false }` with a short reason
 * that does not quote the message.
 */
export function parseBotRequest(text: string): BotRequestParseResult {
  const parsed = parseJsonObject(text, MAX_BOT_REQUEST_LENGTH);
  if (!parsed.ok) return parsed;
  const { type, generation } = parsed.value;
  if (type !== 'token.rejected') return { ok: false, error: 'unknown type' };
  if (!isNonNegativeInteger(generation)) {
    return { ok: false, error: 'generation is not a non-negative integer' };
  }
  // `-0` is a valid JSON number equal to 0; normalize it so `Object.is` comparisons behave.
  return { ok: true, request: { type, generation: generation === 0 ? 0 : generation } };
}
