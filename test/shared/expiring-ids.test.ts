import { describe, expect, it } from 'vitest';
import { ExpiringIds } from '../../src/shared/expiring-ids.js';

describe('ExpiringIds', () => {
  it('remembers an ID for keepMs, then forgets it', () => {
    const ids = new ExpiringIds({ keepMs: 100 });
    expect(ids.firstTime('a', 0)).toBe(true);
    expect(ids.firstTime('a', 99)).toBe(false);
    expect(ids.has('a', 100)).toBe(false);
    expect(ids.firstTime('a', 100)).toBe(true);
  });

  it('forgets the oldest beyond max, and an ID deleted', () => {
    const ids = new ExpiringIds({ keepMs: 1_000, max: 2 });
    ids.add('a', 0);
    ids.add('b', 1);
    ids.add('c', 2);
    expect(['a', 'b', 'c'].map((id) => ids.has(id, 3))).toEqual([false, true, true]);
    ids.delete('b');
    expect(ids.has('b', 3)).toBe(false);
  });

  it('counts a re-added ID from its new time', () => {
    const ids = new ExpiringIds({ keepMs: 100 });
    ids.add('a', 0);
    ids.add('b', 50);
    ids.add('a', 60);
    expect(ids.has('b', 120)).toBe(true);
    expect(ids.has('a', 150)).toBe(true);
    expect(ids.has('b', 150)).toBe(false);
  });
});
