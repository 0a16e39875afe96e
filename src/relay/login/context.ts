import type { Logger } from '../../shared/log.js';
import type { Broker } from '../ports/broker.js';
import type { LoginCoordination } from '../ports/coordination.js';
import type { OperatorChannel } from '../ports/operators.js';
import type { EventPublisher } from '../ports/token-store.js';
import type { RelayObserver } from '../state.js';
import type { TokenHolder } from '../token-holder.js';
import { Timers } from '../../shared/timers.js';
import { LockKeeper } from '../lock.js';
import { apply, INITIAL_VIEW, type LoginEvent, type LoginView } from './state.js';

/**
 * How long a claim is remembered across relays: an operator input (a DM is delivered to each relay
 * once), the report of a login's ending, a broadcast. Longer than any stall a relay comes back from,
 * so that a claim that returns late still says truly whether another relay took it. A day of DMs is
 * a few hundred small entries.
 */
export const CLAIM_TTL_MS = 24 * 3_600_000;

/** Bounded retries of step 1 after a transient broker error. */
export interface StartRetryOptions {
  /** Step-1 calls at most, the first included. */
  attempts: number;
  /** Wait before the second call; it doubles with each call, with jitter. */
  baseDelayMs: number;
  /** Longest wait; a `Retry-After` beyond it ends the login instead. */
  maxDelayMs: number;
}

/** The account's settings a login runs by. */
export interface LoginSettings {
  readonly account: string;
  readonly codeTimeoutMs: number;
  readonly maxCodeAttempts: number;
  readonly maxLoginsPerHour: number;
  readonly lockTtlMs: number;
  readonly startRetry: StartRetryOptions;
  /**
   * How long after a login's deadline a code sent to the broker just before it may still be
   * answered: longer than one broker call may take. Until then a relay that saw another relay take
   * a code does not call that exchange dead.
   */
  readonly exchangeGraceMs: number;
  /**
   * The digest of this relay's login-relevant configuration, saved with each login it starts: a
   * relay whose digest differs stands aside from that login (replicas that disagree, mid-deploy).
   */
  readonly fingerprint: string;
  /** The digest of the credentials, kept with a halt (salted and slow: made when one is needed). */
  readonly credentialsDigest: () => string;
}

/** The ports a login speaks to. */
export interface LoginPorts {
  readonly broker: Broker;
  readonly operators: OperatorChannel;
  readonly events: EventPublisher;
  readonly coordination: LoginCoordination;
  readonly tokens: TokenHolder;
}

/** What {@link createLoginContext} needs. */
export interface LoginContextOptions extends LoginPorts {
  readonly settings: LoginSettings;
  readonly relayId: string;
  readonly logger: Logger;
  readonly observer: RelayObserver;
  readonly now: () => number;
  readonly random: () => number;
  readonly newLoginId: () => string;
  /** Runs `work` as the relay's, so that its `idle()` and `stop()` wait for it. */
  readonly track: (work: Promise<unknown>) => void;
}

/**
 * Everything a flow needs, in one object: the ports, the settings, the clock, the relay's stop
 * signal, the timers and the login's view with its one way to change it ({@link LoginContext.dispatch}).
 */
export interface LoginContext extends LoginContextOptions {
  /** Aborted when the relay stops: every wait of a login ends with it. */
  readonly signal: AbortSignal;
  readonly timers: Timers;
  readonly lock: LockKeeper;
  /** "Checking…" edits under way, per login: later edits of that prompt wait for them. */
  readonly checking: Map<string, Promise<void>>;
  /** The view now. */
  view(): LoginView;
  /** Applies `event` to the view (see `apply` in state.ts). */
  dispatch(event: LoginEvent): void;
  /** Stops every timer and wait; a code at the broker, and its token write, go on. */
  stop(): void;
}

/** Builds one account's login context for one relay. */
export function createLoginContext(options: LoginContextOptions): LoginContext {
  const stopping = new AbortController();
  const timers = new Timers({ now: options.now, track: options.track, signal: stopping.signal });
  let view = INITIAL_VIEW;
  return {
    ...options,
    signal: stopping.signal,
    timers,
    lock: new LockKeeper({
      coordination: options.coordination,
      owner: options.relayId,
      ttlMs: options.settings.lockTtlMs,
      now: options.now,
      logger: options.logger,
      timers,
    }),
    checking: new Map(),
    view: () => view,
    dispatch: (event) => {
      view = apply(view, event);
    },
    stop: () => {
      stopping.abort();
      timers.stop();
    },
  };
}
