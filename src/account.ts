/**
 * One account of the relay, wired: its store, coordination, audit trail, `Relay`, keep-alive, and
 * the Redis listeners of its bots' requests and of its token events. Part of the composition root:
 * src/app.ts makes one per account (`RELAY_ACCOUNTS`) over the shared Redis connection, broker
 * clients and operators' channel, so that each account is independent (its own keys, lock, pending
 * login, halt, SMS budget, schedule and keep-alive) while the process holds one of each connection.
 */
import { combineObservers } from './audit/combine.js';
import { RedisAuditTrail } from './audit/redis-audit-trail.js';
import type { AuditEntry } from './audit/types.js';
import type { AccountConfig, SandboxAccountConfig } from './config/index.js';
import { relayKeys } from './contract/keys.js';
import type { AccountMetrics } from './metrics/index.js';
import type { AccountLogin } from './operators/hub.js';
import type { AccountBroker } from './outside.js';
import type { RedisClient } from './redis/connect.js';
import { KeepAlive } from './relay/keep-alive.js';
import type { OperatorChannel, StatusView } from './relay/ports/operators.js';
import type { RelayKeys } from './relay/ports/token-store.js';
import { Relay, type PublishedTokenCheck } from './relay/relay.js';
import { cronPlannedLogins } from './relay/schedule.js';
import type { RelaySnapshot } from './relay/state.js';
import { errorFields, type Logger } from './shared/log.js';
import { RedisCoordination } from './store/redis-coordination.js';
import { watchTokenEvents, type TokenEventWatch } from './store/redis-event-watch.js';
import { RedisEventPublisher, RedisRequestSubscriber } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';

/** How many recent logins `/status` lists. */
const RECENT_LOGINS_IN_STATUS = 5;

/** An audit entry as `/status` lists it. */
function toRecentLogin(entry: AuditEntry): StatusView['recentLogins'][number] {
  return {
    reason: entry.trigger,
    outcome: entry.outcome,
    ...(entry.operator === undefined ? {} : { operatorId: entry.operator }),
    attempts: entry.attempts,
    endedAt: new Date(entry.endedAt),
  };
}

/** One account's Redis parts, made before the operators' channel (the sandbox reads them). */
export interface AccountStores {
  readonly keys: RelayKeys;
  readonly store: RedisTokenStore;
  readonly coordination: RedisCoordination;
  readonly audit: RedisAuditTrail;
  /** The account's logger: every line names the account. */
  readonly logger: Logger;
}

/** Options of {@link accountStores}. */
export interface AccountStoresOptions {
  readonly account: AccountConfig | SandboxAccountConfig;
  readonly keyPrefix: string;
  /** Several accounts: operator inputs are claimed under one key for all (see `relayKeys`). */
  readonly sharedInputs: boolean;
  readonly redis: RedisClient;
  readonly logger: Logger;
}

/** The account's keys and Redis adapters. */
export function accountStores(options: AccountStoresOptions): AccountStores {
  const { account, redis } = options;
  const logger = options.logger.child({ account: account.name });
  const keys = relayKeys({
    prefix: options.keyPrefix,
    account: account.name,
    sharedInputs: options.sharedInputs,
  });
  return {
    keys,
    logger,
    store: new RedisTokenStore({ client: redis, keys, account: account.name, logger, announceUpdates: true }),
    coordination: new RedisCoordination({ client: redis, keys, logger }),
    audit: new RedisAuditTrail({ client: redis, keys, logger }),
  };
}

/** Options of {@link AccountRelay}. */
export interface AccountRelayOptions {
  readonly account: AccountConfig | SandboxAccountConfig;
  readonly stores: AccountStores;
  readonly redis: RedisClient;
  /** The one subscriber connection every account listens on (never closed here). */
  readonly subscriber: RedisClient;
  /** The account's broker client (and credentials, for halts and the fingerprint). */
  readonly broker: AccountBroker;
  /** The account's view of the operators' channel (the hub's `channelFor`). */
  readonly operators: OperatorChannel;
  readonly metrics: AccountMetrics;
  /** The longest one broker call may take. */
  readonly brokerCallTimeoutMs: number;
  /** Logs without the account (the relay and keep-alive name it themselves). */
  readonly logger: Logger;
}

/**
 * One account, running: its relay, its keep-alive, and its Redis listeners. Started in two steps
 * by the composition (listen, then start), stopped in two (stop taking input, then stop).
 */
export class AccountRelay {
  public readonly name: string;
  public readonly relay: Relay;
  public readonly keepAlive: KeepAlive;
  readonly #o: AccountRelayOptions;
  readonly #requests: RedisRequestSubscriber;
  #watch: TokenEventWatch | undefined;

  public constructor(options: AccountRelayOptions) {
    this.#o = options;
    const { account, stores, metrics, broker } = options;
    this.name = account.name;
    const planned =
      account.loginSchedule === undefined
        ? undefined
        : cronPlannedLogins(account.loginSchedule, account.loginScheduleTz);
    this.relay = new Relay({
      account: account.name,
      codeTimeoutMs: account.codeTimeoutMs,
      tokenLifetimeMs: account.tokenLifetimeMs,
      maxCodeAttempts: account.maxCodeAttempts,
      maxLoginsPerHour: account.maxLoginsPerHour,
      broker: metrics.instrumentBroker(broker.etna),
      operators: options.operators,
      store: stores.store,
      events: new RedisEventPublisher({ client: options.redis, keys: stores.keys }),
      coordination: stores.coordination,
      logger: options.logger,
      brokerCallTimeoutMs: options.brokerCallTimeoutMs,
      // Kept only as a keyed hash with a halt: /login then tells whether they changed since.
      credentials: broker.credentials,
      // With the credentials, what replicas must agree on to share a login.
      configParts: [
        `broker=${broker.where}`,
        `codeDigits=${account.codeDigits.minDigits}-${account.codeDigits.maxDigits}`,
      ],
      // Every account's scrypt on the thread pool, one after another, off the start's path.
      fingerprintOnThreadPool: true,
      observer: combineObservers(metrics.observer, stores.audit.observer),
      statusExtras: async () => ({
        nextLogin: this.keepAlive.nextLogin(),
        recentLogins: (await stores.audit.recent(RECENT_LOGINS_IN_STATUS)).map(toRecentLogin),
      }),
    });
    this.relay.tokens.onChange((token) => metrics.setToken(token));
    this.keepAlive = new KeepAlive({
      tokens: this.relay.tokens,
      logins: this.relay,
      operators: options.operators,
      account: account.name,
      renewBeforeMs: account.renewBeforeMs,
      validateEveryMs: account.validateEveryMs,
      planned,
      logger: options.logger,
    });
    metrics.setStateProbes({
      snapshot: () => this.relay.snapshot(),
      nextLoginAt: () => this.keepAlive.nextLogin()?.at,
    });
    this.#requests = new RedisRequestSubscriber({
      client: options.redis,
      subscriber: options.subscriber,
      keys: stores.keys,
      logger: stores.logger,
      onRequest: (request) => {
        metrics.countBotRequest(request);
        return this.keepAlive.handleBotRequest(request);
      },
    });
  }

  /** What the operator hub needs of this account: its inputs go to the relay. */
  public login(): AccountLogin {
    const { coordination } = this.#o.stores;
    return {
      handleInput: (input) => this.relay.handleInput(input),
      waitingLogin: async () => {
        const pending = await coordination.loadPending();
        return pending === undefined ? undefined : { loginId: pending.loginId, prompts: pending.prompts };
      },
      starting: () => this.relay.snapshot().login.state === 'starting',
    };
  }

  /** Listens to the account's token events: a token another relay published, or one Redis lost. */
  public async listen(): Promise<void> {
    const { stores } = this.#o;
    this.#watch = await watchTokenEvents({
      client: this.#o.redis,
      subscriber: this.#o.subscriber,
      keys: stores.keys,
      logger: stores.logger,
      onTokenEvent: () => {
        this.relay.tokens
          .refresh()
          .catch((error: unknown) => stores.logger.warn({ err: errorFields(error) }, 'token not refreshed'));
      },
    });
  }

  /**
   * Takes bots' requests, then starts the relay (which may start a login: the operators' channel
   * must be up) and the keep-alive. `published`: the relay's check of the published token, started
   * earlier beside the Discord gateway's round trips.
   */
  public async start(published: Promise<PublishedTokenCheck>): Promise<void> {
    await this.#requests.start();
    await this.relay.start(published);
    this.keepAlive.start();
  }

  /** After a Redis outage: writes back a token Redis lost (a Redis restarted empty). */
  public restoreIfLost(): void {
    this.relay.tokens
      .restoreIfLost()
      .catch((error: unknown) =>
        this.#o.stores.logger.error({ err: errorFields(error) }, 'token not restored'),
      );
  }

  /** Stops the keep-alive and the listeners: nothing starts a login from now on. */
  public async stopInputs(): Promise<void> {
    this.keepAlive.stop();
    await Promise.all([this.#requests.close(), this.#watch?.close()]);
  }

  /** A picture of the account's relay, with no secret. */
  public snapshot(): RelaySnapshot {
    return this.relay.snapshot();
  }
}
