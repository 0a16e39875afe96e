import type { RelayObserver } from '../relay/state.js';

/**
 * Every hook of {@link RelayObserver}. The `Record` makes a hook added there fail to compile here
 * instead of being silently dropped by {@link combineObservers}.
 */
const HOOKS = Object.keys({
  loginStarted: true,
  codeReceived: true,
  loginEnded: true,
  tokenPublished: true,
} satisfies Record<keyof RelayObserver, true>) as (keyof RelayObserver)[];

/**
 * One {@link RelayObserver} that calls each of `observers` in turn (the relay takes only one). An
 * observer that throws does not keep the others from being called; once all have been, the error
 * is thrown on (an `AggregateError` when several threw) for the relay to log.
 */
export function combineObservers(...observers: readonly RelayObserver[]): RelayObserver {
  const combined: RelayObserver = {};
  for (const hook of HOOKS) {
    const listeners = observers.filter((observer) => typeof observer[hook] === 'function');
    if (listeners.length === 0) continue;
    const call = (...args: unknown[]): void => {
      const errors: unknown[] = [];
      for (const observer of listeners) {
        try {
          (observer[hook] as (...a: unknown[]) => void).apply(observer, args);
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} relay observers failed`);
    };
    (combined as Record<string, unknown>)[hook] = call;
  }
  return combined;
}
