import { formatNode, type SentinelNode } from './settings.js';

/** What a SentinelMasterProxy reports; never a credential. */
export type SentinelProxyEvent =
  /** A majority of the sentinels names a new master, which says it is one; links to the old one are cut. */
  | { readonly type: 'master-changed'; readonly master: SentinelNode; readonly previous?: SentinelNode }
  /** A sentinel did not answer in time (down, hung, not a sentinel of this master, refused the login). */
  | { readonly type: 'sentinel-unreachable'; readonly sentinel: SentinelNode; readonly message: string }
  /** No majority of the sentinels names a master that is up; waiting connections keep waiting. */
  | { readonly type: 'no-master'; readonly votes: number; readonly needed: number; readonly answered: number }
  /** The master a majority names did not answer `ROLE` as a master (demoted, stalled, unreachable). */
  | { readonly type: 'not-master'; readonly master: SentinelNode; readonly message: string }
  /**
   * No master confirmed for `failClosedAfterMs`: every link to the last one is
   * cut, and no connection goes anywhere until a majority confirms a master again.
   */
  | { readonly type: 'failed-closed'; readonly master?: SentinelNode; readonly sinceMs: number }
  /** A master confirmed again after the proxy failed closed. */
  | { readonly type: 'recovered'; readonly master: SentinelNode }
  /** A connection waited `masterWaitMs` without a master and was closed. */
  | { readonly type: 'gave-up' };

/** A log line: its level, its fields and its message. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/**
 * How the relay and the client library log a {@link SentinelProxyEvent}: a new master at warn (a
 * failover happened), the first one at info, failing closed at warn (loud: no write goes anywhere
 * until the sentinels agree again), and at debug what repeats during a failover (a sentinel that
 * does not answer, no majority yet). Addresses only: never a credential.
 */
export function sentinelLogLine(event: SentinelProxyEvent): LogLine {
  switch (event.type) {
    case 'master-changed':
      return event.previous === undefined
        ? {
            level: 'info',
            fields: { node: formatNode(event.master) },
            message: 'Redis master found through Sentinel',
          }
        : {
            level: 'warn',
            fields: { node: formatNode(event.master), previous: formatNode(event.previous) },
            message: 'Redis master changed (failover); reconnecting to the new master',
          };
    case 'sentinel-unreachable':
      return {
        level: 'debug',
        fields: { sentinel: formatNode(event.sentinel), problem: event.message },
        message: 'sentinel did not answer',
      };
    case 'no-master':
      return {
        level: 'debug',
        fields: { votes: event.votes, needed: event.needed, answered: event.answered },
        message: 'no majority of the sentinels names a Redis master that is up (failover in progress?)',
      };
    case 'not-master':
      return {
        level: 'debug',
        fields: { node: formatNode(event.master), problem: event.message },
        message: 'the Redis master the sentinels name did not answer ROLE as a master',
      };
    case 'failed-closed':
      return {
        level: 'warn',
        fields: {
          ...(event.master === undefined ? {} : { node: formatNode(event.master) }),
          unconfirmedMs: event.sinceMs,
        },
        message:
          'no majority of the sentinels has confirmed a Redis master: every Redis connection is cut until one does (fail closed)',
      };
    case 'recovered':
      return {
        level: 'warn',
        fields: { node: formatNode(event.master) },
        message: 'a majority of the sentinels confirms a Redis master again; reconnecting',
      };
    case 'gave-up':
      return {
        level: 'warn',
        fields: {},
        message: 'no Redis master found in time; the connection will be retried',
      };
  }
}
