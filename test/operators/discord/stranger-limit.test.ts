import { describe, expect, it } from 'vitest';
import { StrangerLimit } from '../../../src/operators/discord/stranger-limit.js';

describe('StrangerLimit', () => {
  it('allows one reply per user per interval', () => {
    let nowMs = 0;
    const limit = new StrangerLimit({ intervalMs: 60_000, maxUsers: 10, now: () => nowMs });
    const allowed = Array.from({ length: 10 }, () => limit.allow('stranger')).filter(Boolean);
    expect(allowed).toHaveLength(1);
    expect(limit.allow('other')).toBe(true);
    nowMs = 59_999;
    expect(limit.allow('stranger')).toBe(false);
    nowMs = 60_000;
    expect(limit.allow('stranger')).toBe(true);
  });

  it('remembers at most maxUsers, forgetting the one answered longest ago', () => {
    let nowMs = 0;
    const limit = new StrangerLimit({ intervalMs: 60_000, maxUsers: 100, now: () => nowMs });
    for (let i = 0; i < 10_000; i += 1) {
      nowMs += 1;
      limit.allow(`user-${i}`);
    }
    expect(limit.size).toBe(100);
    // The newest are remembered; the oldest were forgotten (and would get one more reply).
    expect(limit.allow('user-9999')).toBe(false);
    expect(limit.allow('user-0')).toBe(true);
  });
});
