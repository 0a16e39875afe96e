import type { EventPublisher, RelayEvent } from '../relay/ports/token-store.js';

/** Receives every event a {@link MemoryEventPublisher} publishes. */
export type RelayEventListener = (event: RelayEvent) => void;

/**
 * An in-process {@link EventPublisher} for the demo and tests: it keeps every event and hands each
 * to its listeners, as Redis pub/sub would hand it to the bots.
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly #events: RelayEvent[] = [];
  readonly #listeners = new Set<RelayEventListener>();

  /** Every event published so far, oldest first. */
  public get events(): readonly RelayEvent[] {
    return [...this.#events];
  }

  /**
   * Calls `listener` with every later event. Returns the function that stops it. A listener that
   * throws does not fail the publish (a bot's failure never reaches the relay through Redis either).
   */
  public subscribe(listener: RelayEventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  public publish(event: RelayEvent): Promise<void> {
    const copy = Object.freeze({ ...event });
    this.#events.push(copy);
    for (const listener of [...this.#listeners]) {
      try {
        listener(copy);
      } catch {
        // See subscribe(): listeners are isolated from the publisher.
      }
    }
    return Promise.resolve();
  }
}
