import { returnStartMemory } from './shared/heap.js';
import { combineObservers } from './audit/combine.js';
import { RedisAuditTrail } from './audit/redis-audit-trail.js';
import type { AuditEntry } from './audit/types.js';
import type { Readable, Writable } from 'node:stream';
import type { Config } from './config/index.js';
import { readiness } from './http/readiness.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { errorFields, type Logger } from './shared/log.js';
import { createRelayMetrics } from './metrics/relay-metrics.js';
import type { DiscordChannelError } from './operators/discord-channel.js';
import { startOutside } from './outside.js';
import type { StatusView } from './relay/ports/operators.js';
import { KeepAlive } from './relay/keep-alive.js';
import { Relay } from './relay/relay.js';
import { cronPlannedLogins } from './relay/schedule.js';
import { cliChannels, relayKeys } from './contract/keys.js';
import { CliInbox } from './operators/cli-inbox.js';
import { CombinedOperatorChannel } from './operators/combined-channel.js';
import { connectRedis, redisConnectionState } from './redis/connect.js';
import { RedisCoordination } from './store/redis-coordination.js';
import { watchTokenEvents, type TokenEventWatch } from './store/redis-event-watch.js';
import { RedisEventPublisher, RedisRequestSubscriber } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';

/** How many recent logins `/status` lists. */
const RECENT_LOGINS_IN_STATUS = 5;

/** The longest one broker call may take (the ETNA client's `requestTimeoutMs`): step 2 included. */
const BROKER_REQUEST_TIMEOUT_MS = 15_000;
/**
 * What a shutdown needs beyond the broker's answer: the token's write to Redis, the operators'
 * notices, closing the connections.
 */
const SHUTDOWN_MARGIN_MS = 10_000;

/**
 * How long a shutdown may take before the process exits anyway: longer than a code exchange with
 * the broker, so that SIGTERM during step 2 waits for the token a human's code bought and publishes
 * it. Orchestrators must give at least this (Docker's default grace period of 10 s is too short).
 */
export function shutdownDeadlineMs(): number {
  return BROKER_REQUEST_TIMEOUT_MS + SHUTDOWN_MARGIN_MS;
}

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

/** A running relay, as the composition root holds it. */
export interface RunningRelay {
  /** The health server's address (useful with `HTTP_PORT=0`). */
  readonly httpUrl: string;
  /**
   * Stops taking operator input and bot requests first, then the relay (which finishes what it
   * took: a code at the broker, the token write after it), then disconnects from Discord and Redis
   * and closes the health server.
   */
  stop(): Promise<void>;
  /** The steps of `stop` not finished yet, and what the relay is still doing (no secret). */
  unfinished(): Record<string, unknown>;
}

/** Options of {@link startRelay}. */
export interface StartRelayOptions {
  /**
   * Called when a part of the relay failed for good while running: Discord closed the gateway with
   * a code after which it never reconnects (a revoked token, disallowed intents). The caller should
   * shut down and exit non-zero.
   */
  onFatal?: (error: DiscordChannelError) => void;
  /**
   * Give back the memory the start needed, within seconds of it (full collections while the relay
   * is quiet; see `returnStartMemory` in shared/heap.ts). Default `true`.
   */
  returnStartMemory?: boolean;
  /** With `SANDBOX=true`, the operator's terminal; standard input and output by default. */
  terminal?: { readonly input: Readable; readonly output: Writable };
}

/**
 * The one account this build serves. The configuration reads several (`RELAY_ACCOUNTS`), but the
 * composition for them (one Discord connection, inputs routed to each account's login: issue 19)
 * is not written yet, so more than one stops the start here, before anything connects. This is
 * the place that composition replaces.
 */
function theOnlyAccount(config: Config): Config['accounts'][0] {
  if (config.accounts.length > 1) {
    throw new Error(
      `several accounts: not supported by this build yet (RELAY_ACCOUNTS lists ${config.accounts.map((a) => a.name).join(', ')}); run one relay per account, each with its own Discord bot, until it is`,
    );
  }
  return config.accounts[0];
}

/**
 * Wires the real adapters (Redis, the ETNA client, Discord; or, with `SANDBOX=true`, the sandbox
 * broker and the terminal: src/outside.ts) to the relay core and starts it. The only place, with
 * src/outside.ts, that knows every concrete class.
 */
export async function startRelay(
  config: Config,
  logger: Logger,
  options: StartRelayOptions = {},
): Promise<RunningRelay> {
  const account = theOnlyAccount(config);
  const keys = relayKeys({ prefix: config.keyPrefix, account: account.name });
  const redis = await connectRedis({
    url: config.redisUrl,
    sentinel: config.redisSentinel,
    logger,
    name: `otp-relay:${account.name}`,
  });
  const store = new RedisTokenStore({
    client: redis,
    keys,
    account: account.name,
    logger,
    announceUpdates: true,
  });
  const coordination = new RedisCoordination({ client: redis, keys, logger });
  const metrics = createRelayMetrics({
    account: account.name,
    operatorIds: account.operatorIds,
  });
  const audit = new RedisAuditTrail({ client: redis, keys, logger });
  const outside = await startOutside(config, {
    logger,
    requestTimeoutMs: BROKER_REQUEST_TIMEOUT_MS,
    onFatal: (error) => options.onFatal?.(error),
    onDmFailure: (failure) => metrics.countDmFailure(failure),
    store,
    coordination,
    tokenKey: keys.token,
    terminal: options.terminal,
  }).catch(async (error: unknown) => {
    await redis.close();
    throw error;
  });
  const { etna } = outside;
  // The operators' channel, and `otp-relay code` beside it: the way in when Discord is down.
  const operators = new CombinedOperatorChannel(
    outside.operators,
    new CliInbox({
      client: redis,
      channels: cliChannels({ prefix: config.keyPrefix, account: account.name }),
      codeDigits: account.codeDigits,
      logger,
    }),
  );
  const broker = metrics.instrumentBroker(etna);
  const planned =
    account.loginSchedule === undefined
      ? undefined
      : cronPlannedLogins(account.loginSchedule, account.loginScheduleTz);
  const relay: Relay = new Relay({
    account: account.name,
    codeTimeoutMs: account.codeTimeoutMs,
    tokenLifetimeMs: account.tokenLifetimeMs,
    maxCodeAttempts: account.maxCodeAttempts,
    maxLoginsPerHour: account.maxLoginsPerHour,
    broker,
    operators,
    store,
    events: new RedisEventPublisher({ client: redis, keys }),
    coordination,
    logger,
    brokerCallTimeoutMs: BROKER_REQUEST_TIMEOUT_MS,
    // Kept only as a keyed hash with a halt: /login then tells whether they changed since.
    credentials: outside.credentials,
    // With the credentials, what replicas must agree on to share a login.
    configParts: [
      `broker=${account.etna?.apiUrl.href ?? 'sandbox'}`,
      `codeDigits=${account.codeDigits.minDigits}-${account.codeDigits.maxDigits}`,
    ],
    observer: combineObservers(metrics.observer, audit.observer),
    statusExtras: async () => ({
      nextLogin: keepAlive.nextLogin(),
      recentLogins: (await audit.recent(RECENT_LOGINS_IN_STATUS)).map(toRecentLogin),
    }),
  });
  relay.tokens.onChange((token) => metrics.setToken(token));
  metrics.setConnectionProbes({
    // Not `isReady` alone: it stays true while a stalled Redis holds the connection.
    redisConnected: () => redisConnectionState(redis) === 'connected',
    discordConnected: () => operators.isConnected(),
  });
  // Built after the relay, whose `/status` answer reads it only once running.
  const keepAlive: KeepAlive = new KeepAlive({
    tokens: relay.tokens,
    logins: relay,
    operators,
    account: account.name,
    renewBeforeMs: account.renewBeforeMs,
    validateEveryMs: account.validateEveryMs,
    planned,
    logger,
  });
  metrics.setStateProbes({
    snapshot: () => relay.snapshot(),
    nextLoginAt: () => keepAlive.nextLogin()?.at,
  });
  const requests = new RedisRequestSubscriber({
    client: redis,
    keys,
    logger,
    onRequest: (request) => {
      metrics.countBotRequest(request);
      return keepAlive.handleBotRequest(request);
    },
  });

  let http: HttpServer | undefined;
  // A relay learns of tokens other relays publish; after a Redis outage it writes back a token
  // Redis lost (a Redis restarted empty).
  let watch: TokenEventWatch | undefined;
  let connectedOnce = false;
  const onRedisReady = (): void => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    logger.info('redis reconnected; checking the published token');
    relay.tokens
      .restoreIfLost()
      .catch((error: unknown) => logger.error({ err: errorFields(error) }, 'token not restored'));
  };
  redis.on('ready', onRedisReady);
  if (redis.isReady) connectedOnce = true;

  /** The steps of `stop` under way, by name: what the deadline's log says did not finish. */
  const stopping = new Set<string>();
  const step = async (name: string, work: () => Promise<unknown>): Promise<void> => {
    stopping.add(name);
    try {
      await work();
    } catch (error) {
      logger.warn({ err: errorFields(error), step: name }, 'a shutdown step failed');
    } finally {
      stopping.delete(name);
    }
  };
  const stop = async (): Promise<void> => {
    redis.off('ready', onRedisReady);
    keepAlive.stop();
    // Inputs first: an answer taken after the relay stopped would be dropped, and a modal the
    // operator saw close must not be. What was already taken is delivered before this resolves.
    await Promise.all([
      step('operator input', () => operators.stopInputs()),
      step('bot requests', () => requests.close()),
      step('token events', async () => watch?.close()),
    ]);
    await step('relay', () => relay.stop());
    await Promise.all([
      step('discord', () => operators.stop()),
      step('http', async () => http?.close()),
      step('broker', () => outside.close()),
      step('audit', () => audit.flush()),
    ]);
    if (redis.isOpen) await step('redis', () => redis.close());
  };
  const unfinished = (): Record<string, unknown> => ({
    steps: [...stopping],
    relay: relay.unfinished(),
  });

  // The published token's check (a Redis read and the broker's round trip) decides nothing yet:
  // it runs beside the Discord gateway's round trips, and the relay's start takes its answer.
  const published = relay.checkPublishedToken();
  published.catch(() => undefined); // awaited by relay.start(); not awaited if the start fails first
  try {
    // The health server, the Discord gateway and the token-event watch need nothing of one another:
    // they are set up side by side (the gateway's round trips are most of it). Each is kept as it
    // comes, and all have settled before a failure is thrown, so that `stop` closes whichever did.
    const settled = await Promise.allSettled([
      startHttpServer({
        host: config.http.host,
        port: config.http.port,
        logger,
        readiness: () =>
          readiness({
            redisConnected: redisConnectionState(redis) === 'connected',
            redisState: redisConnectionState(redis),
            discordConnected: operators.isConnected(),
            discordState: operators.connectionState(),
            relay: relay.snapshot(),
            unreachableOperators: operators.unreachableOperators(),
            now: Date.now(),
          }),
        metrics: () => metrics.render(),
      }).then((server) => (http = server)),
      operators.start((input) => relay.handleInput(input)),
      watchTokenEvents({
        client: redis,
        keys,
        logger,
        onTokenEvent: () => {
          relay.tokens
            .refresh()
            .catch((error: unknown) => logger.warn({ err: errorFields(error) }, 'token not refreshed'));
        },
      }).then((opened) => (watch = opened)),
    ]);
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (http === undefined) throw new Error('the health server did not start'); // it did: nothing failed
    // Only once Discord is up: a bot's request may start a login, whose prompt goes out there. The
    // relay starts last, for the same reason (it may start a login), with both listeners on.
    await requests.start();
    await relay.start(published);
    keepAlive.start();
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info(
    { account: account.name, operators: config.sandbox ? 'terminal' : account.operatorIds.length },
    'relay started',
  );
  // The start's memory goes back within seconds, not whenever V8's memory reducer gets to it.
  const stopReturningMemory = options.returnStartMemory === false ? undefined : returnStartMemory();
  return {
    httpUrl: http.url,
    stop: async () => {
      stopReturningMemory?.();
      await stop();
    },
    unfinished,
  };
}
