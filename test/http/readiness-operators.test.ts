import { describe, expect, it } from 'vitest';
import { readiness } from '../../src/http/readiness.js';
import type { RelaySnapshot } from '../../src/relay/state.js';

/** Issue 12, item 2: `/readyz` says which operators the DMs cannot reach. */

const NOW = Date.parse('2026-03-04T08:00:00Z');
const relay: RelaySnapshot = {
  account: 'default',
  token: { generation: 7, expiresAt: '2026-03-05T08:00:00.000Z' },
  login: { state: 'none' },
  halted: undefined,
  lastFailure: undefined,
};

describe('readiness: operators out of reach', () => {
  it('lists them by ID, with why and since when, and stays ready for one', () => {
    const report = readiness({
      redisConnected: true,
      discordConnected: true,
      relay,
      unreachableOperators: [
        { operatorId: '100000000000000002', reason: 'dms-closed', since: new Date('2026-03-04T07:59:00Z') },
      ],
      now: NOW,
    });
    expect(report.ready).toBe(true);
    expect(report.operators).toEqual({
      unreachable: [
        { operatorId: '100000000000000002', reason: 'dms-closed', since: '2026-03-04T07:59:00.000Z' },
      ],
    });
    // The body is JSON: what `/readyz` sends.
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({
      operators: { unreachable: [{ operatorId: '100000000000000002', reason: 'dms-closed' }] },
    });
  });

  it('has an empty list when everyone is reachable, or the channel does not say', () => {
    const report = readiness({ redisConnected: true, discordConnected: true, relay, now: NOW });
    expect(report.operators).toEqual({ unreachable: [] });
  });
});
