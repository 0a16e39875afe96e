import { describe, expect, it } from 'vitest';
import { MemoryAuditTrail } from '../../src/audit/memory-audit-trail.js';
import { endedLogin } from '../contracts/audit-trail.contract.js';

describe('MemoryAuditTrail', () => {
  it('keeps exactly maxEntries, dropping the oldest', async () => {
    const trail = new MemoryAuditTrail({ maxEntries: 3 });
    for (let i = 1; i <= 5; i += 1) trail.observer.loginEnded?.(endedLogin({ loginId: `l${i}` }));
    expect((await trail.recent(10)).map((entry) => entry.loginId)).toEqual(['l5', 'l4', 'l3']);
  });

  it('gives Redis-like IDs that grow even when the clock stands still or goes back', async () => {
    const times = [5_000, 5_000, 4_000, 6_000];
    const trail = new MemoryAuditTrail({ now: () => times.shift() ?? 0 });
    for (let i = 0; i < 4; i += 1) trail.observer.loginEnded?.(endedLogin());
    expect((await trail.recent(4)).map((entry) => entry.id)).toEqual([
      '6000-0',
      '5000-2',
      '5000-1',
      '5000-0',
    ]);
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new MemoryAuditTrail({ maxEntries: 0 })).toThrow(RangeError);
  });
});
