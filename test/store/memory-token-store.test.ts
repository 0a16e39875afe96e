import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import { clockSeed, newToken } from '../contracts/token-store.contract.js';

describe('MemoryTokenStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires on a faked clock too, so relay tests can jump ahead in time', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-05T09:00:00Z'));
    const store = new MemoryTokenStore({ account: 'desk' });
    const record = await store.publish(newToken('t', 60_000));

    vi.setSystemTime(Date.parse(record.expiresAt) - 1);
    expect((await store.read())?.token).toBe('t');
    vi.setSystemTime(Date.parse(record.expiresAt));
    expect(await store.read()).toBeUndefined();
    expect(await store.remove(record.generation)).toBe(false);
  });

  it('keeps stores independent', async () => {
    const a = new MemoryTokenStore({ account: 'a' });
    const b = new MemoryTokenStore({ account: 'b' });
    const forA = newToken('for-a');
    await a.publish({ ...forA, minGeneration: clockSeed(forA) + 100 });
    expect(await b.read()).toBeUndefined();
    const forB = newToken('for-b');
    expect((await b.publish(forB)).generation).toBe(clockSeed(forB));
  });
});
