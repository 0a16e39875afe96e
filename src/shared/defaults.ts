// No imports: the bots' client library uses this too.

/**
 * `options` without the entries given as `undefined`, to spread over a defaults object:
 * `{ ...DEFAULTS, ...definedOnly(options) }` (an option passed through as `undefined` keeps its
 * default).
 */
export function definedOnly<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
