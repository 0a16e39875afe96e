import type { Logger } from '../../shared/log.js';
import type { Broker } from '../ports/broker.js';
import type { LoginCoordination } from '../ports/coordination.js';
import type { OperatorChannel } from '../ports/operators.js';
import type { EventPublisher } from '../ports/token-store.js';
import type { RelayObserver } from '../state.js';
import type { TokenHolder } from '../token-holder.js';
import type { LoginRequestResult, LoginSettings, StartRetryOptions } from './types.js';
import type { LoginReason } from '../../domain/vocabulary.js';

/** What the runner needs: the ports, and the settings of this relay. */
export interface LoginRunnerOptions {
  readonly settings: LoginSettings;
  readonly relayId: string;
  readonly maxLoginsPerHour: number;
  readonly lockTtlMs: number;
  readonly startRetry: StartRetryOptions;
  readonly broker: Broker;
  readonly operators: OperatorChannel;
  readonly events: EventPublisher;
  readonly coordination: LoginCoordination;
  readonly tokens: TokenHolder;
  readonly logger: Logger;
  readonly observer: RelayObserver;
  readonly now: () => number;
  readonly random: () => number;
  /** Starts a login, as the relay's `requestLogin` does ("Send a new code", a deferred login). */
  readonly requestLogin: (reason: LoginReason) => Promise<LoginRequestResult>;
  /** Runs `work` as this relay's, so that `idle()` and `stop()` wait for it. */
  readonly track: (work: Promise<unknown>) => void;
}
