import assert from 'node:assert/strict';

/** Narrows a value {@link loadConfig} has already checked. */
export function need<T>(value: T | undefined): T {
  assert(value !== undefined, 'loadConfig: a checked value is missing');
  return value;
}

const URL_PARTS = [
  'hash',
  'host',
  'hostname',
  'href',
  'password',
  'pathname',
  'port',
  'protocol',
  'search',
  'username',
] as const;

/**
 * Makes a URL read-only. `Object.freeze` alone does not: URL's setters change private state. Own
 * read-only properties shadow the setters (assigning throws in strict mode), and `searchParams` is a
 * detached copy, so changing it cannot reach the URL.
 */
export function freezeUrl(url: URL): URL {
  for (const part of URL_PARTS) {
    Object.defineProperty(url, part, { value: url[part], writable: false, enumerable: false });
  }
  Object.defineProperty(url, 'searchParams', { value: new URLSearchParams(url.search), enumerable: false });
  return Object.freeze(url);
}

/** Freezes `value` and every plain object and array under it (a Secret or a URL is frozen, not entered). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return Object.freeze(value);
}
