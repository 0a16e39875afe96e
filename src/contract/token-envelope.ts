import { isJsonObject } from './json-object.js';
import { toTokenRecord } from './token-record.js';
import type { TokenRecord } from './types.js';

/** What the value of `P:token:A` holds, read by {@link readTokenEnvelope}. */
export type TokenEnvelopeRead =
  | {
      readonly ok: true;
      readonly record: TokenRecord;
      /** The earlier of the record's `expiresAt` and keyv's `expires` (the same when the relay wrote it). */
      readonly expiresAtMs: number;
    }
  | { readonly ok: false; readonly problem: 'not JSON' | 'not a keyv envelope' | 'not a token record' };

/**
 * The value of `P:token:A`: keyv's envelope `{"value": <record>, "expires": <epoch ms>}`, expiring
 * at the record's `expiresAt`, in plain JSON (keyv's default serializer would write a token that
 * starts with `:` as `::…`).
 */
export function tokenEnvelope(record: TokenRecord): string {
  return JSON.stringify({ value: record, expires: Date.parse(record.expiresAt) });
}

/** Reads a {@link tokenEnvelope}. Never throws, and a `problem` never quotes the text. */
export function readTokenEnvelope(text: string): TokenEnvelopeRead {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  if (!isJsonObject(envelope)) return { ok: false, problem: 'not a keyv envelope' };
  const record = toTokenRecord(envelope.value);
  if (record === undefined) return { ok: false, problem: 'not a token record' };
  const recordEndMs = Date.parse(record.expiresAt);
  const { expires } = envelope;
  return {
    ok: true,
    record,
    expiresAtMs: typeof expires === 'number' ? Math.min(recordEndMs, expires) : recordEndMs,
  };
}
