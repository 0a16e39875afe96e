import { describe, expect, it } from 'vitest';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import type { RelayEvent } from '../../src/relay/ports/token-store.js';

describe('MemoryEventPublisher', () => {
  it('records every event and hands it to its listeners until they unsubscribe', async () => {
    const events = new MemoryEventPublisher();
    const heard: RelayEvent[] = [];
    const stop = events.subscribe((event) => heard.push(event));

    await events.publish({ type: 'login.started', reason: 'startup' });
    stop();
    await events.publish({ type: 'token.updated', generation: 1, expiresAt: '2026-01-01T00:00:00.000Z' });

    expect(heard).toEqual([{ type: 'login.started', reason: 'startup' }]);
    expect(events.events).toEqual([
      { type: 'login.started', reason: 'startup' },
      { type: 'token.updated', generation: 1, expiresAt: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('keeps publishing when a listener throws', async () => {
    const events = new MemoryEventPublisher();
    const heard: string[] = [];
    events.subscribe(() => {
      throw new Error('bot crashed');
    });
    events.subscribe((event) => heard.push(event.type));

    await expect(events.publish({ type: 'login.failed', reason: 'x' })).resolves.toBeUndefined();
    expect(heard).toEqual(['login.failed']);
  });

  it('hands out copies, so a caller cannot rewrite history', async () => {
    const events = new MemoryEventPublisher();
    const event = { type: 'login.started' as const, reason: 'a' };
    await events.publish(event);
    (events.events as RelayEvent[]).pop();
    expect(events.events).toHaveLength(1);
    expect(Object.isFrozen(events.events[0])).toBe(true);
  });
});
