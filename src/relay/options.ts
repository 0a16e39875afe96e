import { randomUUID } from 'node:crypto';
import type { Broker } from './ports/broker.js';
import type { Logger } from '../shared/log.js';
import type { OperatorChannel, StatusView } from './ports/operators.js';
import type { Secret } from '../shared/secret.js';
import type { EventPublisher, TokenStore } from './ports/token-store.js';
import type { LoginCoordination } from './ports/coordination.js';
import type { StartRetryOptions } from './login/context.js';
import { DEFAULT_DIGEST_COST } from './digest.js';
import type { RelayObserver } from './state.js';

/** Options of {@link Relay}. */
export interface RelayOptions {
  /** `RELAY_ACCOUNT`. */
  account: string;
  /** How long a login waits for a code (`CODE_TIMEOUT`). */
  codeTimeoutMs: number;
  /** How long a token is taken to live after it is obtained (`TOKEN_LIFETIME`). */
  tokenLifetimeMs: number;
  /** Codes tried for one login before it gives up (`MAX_CODE_ATTEMPTS`). */
  maxCodeAttempts: number;
  /** Step-1 calls (so SMS messages) allowed in any hour, whatever triggers them (`MAX_LOGINS_PER_HOUR`). */
  maxLoginsPerHour: number;
  broker: Broker;
  operators: OperatorChannel;
  store: TokenStore;
  events: EventPublisher;
  /** What the relays of the account share: lock, pending login, halt, SMS budget. */
  coordination: LoginCoordination;
  logger: Logger;
  /** This relay's name in the lock and in claims; unique per relay (a new one when omitted). */
  relayId?: string;
  /** Current time in epoch ms; injectable for tests. */
  now?: () => number;
  /** New login ids; injectable for tests. */
  newLoginId?: () => string;
  /** First wait before publishing a token again after a failed store write. */
  publishRetryMs?: number;
  /** How long the login lock lives unless renewed (it is renewed while held). */
  lockTtlMs?: number;
  startRetry?: StartRetryOptions;
  /**
   * The longest one broker call may take (the broker client's time-out): a relay waits that long,
   * and a margin, after a login's deadline before it takes another relay's code exchange for dead.
   */
  brokerCallTimeoutMs?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
  /** Metrics and audit hooks. */
  observer?: RelayObserver;
  /**
   * The broker credentials (app key, username, password, PIN), only to keep a keyed hash of them
   * with a halt: `/login` then tells whether they changed since the broker refused them.
   */
  credentials?: readonly Secret[];
  /** scrypt's N for that hash (a power of two): the default costs tens of ms; tests go lower. */
  digestCost?: number;
  /**
   * The rest of the login-relevant configuration, as text (the broker URL, the code rules), for
   * the digest replicas compare: a relay configured otherwise stands aside from this one's logins.
   */
  configParts?: readonly string[];
  /**
   * How long a stopping relay leaves a DM it did not read to the other relays before it tells the
   * operator to send it again (one that runs takes it within milliseconds).
   */
  shutdownAnswerAfterMs?: number;
  /** What `/status` shows beyond the relay's own state: the next planned login, recent logins. */
  statusExtras?: () => Promise<Pick<StatusView, 'nextLogin' | 'recentLogins'>>;
  /**
   * Compute the configuration fingerprint (tens of milliseconds of scrypt) on the thread pool rather
   * than in the constructor: a process of many accounts then starts without waiting for them (they
   * are computed one after another, in the background). Logins and inputs wait for it. Default `false`.
   */
  fingerprintOnThreadPool?: boolean;
}

/** The defaults of the optional {@link RelayOptions}. */
export const RELAY_DEFAULTS = {
  now: () => Date.now(),
  newLoginId: () => randomUUID().slice(0, 8),
  publishRetryMs: 1_000,
  lockTtlMs: 15_000,
  startRetry: { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 30_000 },
  brokerCallTimeoutMs: 15_000,
  random: Math.random,
  observer: {},
  credentials: [],
  digestCost: DEFAULT_DIGEST_COST,
  configParts: [],
  shutdownAnswerAfterMs: 1_500,
  statusExtras: async () => ({ nextLogin: undefined, recentLogins: [] }),
  fingerprintOnThreadPool: false,
} as const satisfies Required<Omit<RelayOptions, keyof RelayRequiredOptions | 'relayId'>>;

/** The options a relay cannot do without. */
export type RelayRequiredOptions = Pick<
  RelayOptions,
  | 'account'
  | 'codeTimeoutMs'
  | 'tokenLifetimeMs'
  | 'maxCodeAttempts'
  | 'maxLoginsPerHour'
  | 'broker'
  | 'operators'
  | 'store'
  | 'events'
  | 'coordination'
  | 'logger'
>;

/** A relay id: per relay, not per process (two relays in one process must not share a lock owner). */
export function newRelayId(): string {
  return `relay-${randomUUID().slice(0, 8)}`;
}
