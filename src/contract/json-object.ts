// No imports: the bots' client library parses with this too.

/** What {@link parseJsonObject} read: a plain JSON object, or why the text is not one. */
export type JsonObjectResult =
  | { readonly ok: true; readonly value: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly error: 'message too long' | 'not JSON' | 'not a JSON object' };

/**
 * Reads `text` as one JSON object (not an array, not `null`). Never throws, and its reasons never
 * quote the text: what arrives here may hold a secret.
 */
export function parseJsonObject(text: string, maxLength = Number.POSITIVE_INFINITY): JsonObjectResult {
  if (text.length > maxLength) return { ok: false, error: 'message too long' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  return isJsonObject(value) ? { ok: true, value } : { ok: false, error: 'not a JSON object' };
}

/** Whether `value` is a plain object (what JSON calls an object). */
export function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a non-negative safe integer (a generation, a count). */
export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
