import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditTrail } from '../../src/audit/types.js';
import type { EndedLogin } from '../../src/domain/login.js';

/** One trail under test, fresh and empty, and how to clean up after it. */
export interface AuditTrailHarness {
  readonly trail: AuditTrail;
  readonly cleanup?: () => Promise<void>;
}

export const ALICE = '100000000000000001';
export const BOB = '100000000000000002';
const T0 = Date.parse('2026-11-30T13:00:00.000Z');

/** An ended login, `startedAt` at a fixed time and `endedAt` 90 s later. */
export function endedLogin(overrides: Partial<EndedLogin> = {}): EndedLogin {
  return {
    loginId: 'login-1',
    reason: 'startup',
    startedAt: new Date(T0),
    outcome: 'succeeded',
    operatorId: ALICE,
    attempts: 1,
    endedAt: new Date(T0 + 90_000),
    ...overrides,
  };
}

/** The fields an entry may have, and nothing else. */
const ENTRY_FIELDS = [
  'id',
  'loginId',
  'trigger',
  'outcome',
  'error',
  'operator',
  'attempts',
  'startedAt',
  'endedAt',
];

/**
 * The behaviour every {@link AuditTrail} shares. Each backend's test file calls this with a factory
 * of fresh, empty trails.
 */
export function auditTrailContract(name: string, create: () => Promise<AuditTrailHarness>): void {
  describe(`${name}: AuditTrail contract`, () => {
    let harness: AuditTrailHarness;
    let trail: AuditTrail;

    /** Ends logins through the observer, as the relay does, then waits for the writes. */
    const record = async (...logins: EndedLogin[]): Promise<void> => {
      for (const login of logins) trail.observer.loginEnded?.(login);
      await trail.flush();
    };

    beforeEach(async () => {
      harness = await create();
      trail = harness.trail;
    });

    afterEach(async () => {
      await harness.cleanup?.();
    });

    it('has nothing to show before any login ended', async () => {
      await trail.flush();
      expect(await trail.recent(10)).toEqual([]);
    });

    it('records a success with the operator who answered', async () => {
      await record(endedLogin({ loginId: 'ok-1', reason: 'renewal' }));
      expect(await trail.recent(10)).toEqual([
        {
          id: expect.stringMatching(/^\d+-\d+$/),
          loginId: 'ok-1',
          trigger: 'renewal',
          outcome: 'succeeded',
          operator: ALICE,
          attempts: 1,
          startedAt: '2026-11-30T13:00:00.000Z',
          endedAt: '2026-11-30T13:01:30.000Z',
        },
      ]);
    });

    it('records a rejection with its attempts and the operator of the last refused code', async () => {
      await record(endedLogin({ reason: 'bot-request', outcome: 'rejected', operatorId: BOB, attempts: 3 }));
      const [entry] = await trail.recent(1);
      expect(entry).toMatchObject({
        trigger: 'bot-request',
        outcome: 'rejected',
        operator: BOB,
        attempts: 3,
      });
      expect(entry).not.toHaveProperty('error');
    });

    it('records a time-out with no operator', async () => {
      const { operatorId: _none, ...expired } = endedLogin({ outcome: 'expired', attempts: 0 });
      await record(expired);
      const [entry] = await trail.recent(1);
      expect(entry).toMatchObject({ outcome: 'expired', attempts: 0 });
      expect(entry).not.toHaveProperty('operator');
      expect(entry).not.toHaveProperty('error');
    });

    it('records a broker failure with its error kind', async () => {
      const { operatorId: _none, ...failed } = endedLogin({
        reason: 'schedule',
        outcome: 'failed',
        error: 'bad-credentials',
        attempts: 0,
      });
      await record(failed, endedLogin({ outcome: 'failed', error: 'timeout', operatorId: BOB }));
      const [second, first] = await trail.recent(2);
      expect(first).toMatchObject({ trigger: 'schedule', outcome: 'failed', error: 'bad-credentials' });
      expect(first).not.toHaveProperty('operator');
      expect(second).toMatchObject({ outcome: 'failed', error: 'timeout', operator: BOB });
    });

    it('records a cancellation with the operator who cancelled', async () => {
      await record(endedLogin({ outcome: 'cancelled', operatorId: BOB, attempts: 0 }));
      expect((await trail.recent(1))[0]).toMatchObject({ outcome: 'cancelled', operator: BOB });
    });

    it('returns the newest first, at most `count`, with growing IDs', async () => {
      await record(
        endedLogin({ loginId: 'a' }),
        endedLogin({ loginId: 'b' }),
        endedLogin({ loginId: 'c' }),
        endedLogin({ loginId: 'd' }),
      );
      const all = await trail.recent(10);
      expect(all.map((entry) => entry.loginId)).toEqual(['d', 'c', 'b', 'a']);
      const ids = all.map((entry) => entry.id.split('-').map(Number) as [number, number]);
      for (let i = 1; i < ids.length; i += 1) {
        const [newerMs, newerSeq] = ids[i - 1]!;
        const [olderMs, olderSeq] = ids[i]!;
        expect(newerMs > olderMs || (newerMs === olderMs && newerSeq > olderSeq)).toBe(true);
      }
      expect((await trail.recent(2)).map((entry) => entry.loginId)).toEqual(['d', 'c']);
      expect(await trail.recent(0)).toEqual([]);
    });

    it('refuses a count that is not a non-negative integer', async () => {
      await expect(trail.recent(-1)).rejects.toThrow(RangeError);
      await expect(trail.recent(1.5)).rejects.toThrow(RangeError);
    });

    it('returns from the hook at once, and keeps only the known fields of a login', async () => {
      const sneaky = { ...endedLogin(), code: '864209', interim: 'interim-secret', token: 'tok' };
      expect(trail.observer.loginEnded?.(sneaky as EndedLogin)).toBeUndefined();
      await trail.flush();
      const [entry] = await trail.recent(1);
      for (const key of Object.keys(entry!)) expect(ENTRY_FIELDS).toContain(key);
      expect(JSON.stringify(entry)).not.toMatch(/864209|interim-secret|tok"/);
    });

    it('has no other hooks: only ended logins are recorded', async () => {
      trail.observer.loginStarted?.({ loginId: 'x', reason: 'startup', startedAt: new Date(T0) });
      trail.observer.codeReceived?.({ loginId: 'x', operatorId: ALICE, attempt: 1, waitedMs: 1_000 });
      trail.observer.tokenPublished?.({ generation: 1, expiresAt: '2026-12-01T13:00:00.000Z' });
      await trail.flush();
      expect(await trail.recent(10)).toEqual([]);
    });
  });
}
