import { returnStartMemory } from './shared/heap.js';
import { AccountRelay, accountStores, type AccountStores } from './account.js';
import type { Readable, Writable } from 'node:stream';
import type { Config } from './config/index.js';
import { readiness } from './http/readiness.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { errorFields, type Logger } from './shared/log.js';
import {
  createMetricsRegistry,
  createRelayMetrics,
  type AccountMetrics,
  type ProcessMetrics,
} from './metrics/index.js';
import type { DiscordChannelError } from './operators/discord-channel.js';
import { startOutside } from './outside.js';
import { cliChannels } from './contract/keys.js';
import { CliInbox } from './operators/cli-inbox.js';
import { CombinedOperatorChannel, SideChannels } from './operators/combined-channel.js';
import { OperatorHub } from './operators/hub.js';
import { SANDBOX_OPERATOR_ID } from './sandbox-mode.js';
import { CLAIM_TTL_MS } from './relay/login/context.js';
import { connectRedis, redisConnectionState } from './redis/connect.js';
import { openSharedSubscriber } from './redis/subscription.js';

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
 * Wires the real adapters (Redis, the ETNA clients, Discord; or, with `SANDBOX=true`, the sandbox
 * brokers and the terminal: src/outside.ts) to one relay core per account (src/account.ts) and
 * starts them. One Redis connection, one Discord connection and one HTTP server serve every account;
 * the operator hub routes each operator input to its account's login. The only place, with
 * src/outside.ts and src/account.ts, that knows every concrete class.
 */
export async function startRelay(
  config: Config,
  logger: Logger,
  options: StartRelayOptions = {},
): Promise<RunningRelay> {
  const several = config.accounts.length > 1;
  const redis = await connectRedis({
    url: config.redisUrl,
    sentinel: config.redisSentinel,
    logger,
    name: several ? 'otp-relay' : `otp-relay:${config.accounts[0].name}`,
  });
  // Each account's keyv store listens to the shared client's events (4 listeners each): with a dozen
  // accounts Node would warn of a leak that is none.
  redis.setMaxListeners(Math.max(10, 10 + 4 * config.accounts.length));
  // Every account's listeners (bots' requests, token events, `otp-relay code`) on one connection.
  const subscriber = await openSharedSubscriber(redis, { logger }).catch(async (error: unknown) => {
    await redis.close();
    throw error;
  });
  const stores = new Map<string, AccountStores>(
    config.accounts.map((account) => [
      account.name,
      accountStores({ account, keyPrefix: config.keyPrefix, sharedInputs: several, redis, logger }),
    ]),
  );
  // One registry: every account's series carry its `account` label; connections and DMs are the
  // process's. One account keeps the label on every series, as before several accounts existed, so
  // that a single-account deployment's queries and alerts still match after an upgrade.
  const first = config.accounts[0];
  const single = several
    ? undefined
    : createRelayMetrics({ account: first.name, operatorIds: first.operatorIds });
  const registry = several ? createMetricsRegistry() : undefined;
  const metrics: ProcessMetrics = single ?? registry!;
  const metricsOf = (account: (typeof config.accounts)[number]): AccountMetrics =>
    single ?? registry!.forAccount({ account: account.name, operatorIds: account.operatorIds });
  const outside = await startOutside(config, {
    logger,
    requestTimeoutMs: BROKER_REQUEST_TIMEOUT_MS,
    onFatal: (error) => options.onFatal?.(error),
    // A DM failure is the operator's and the bot's, not an account's.
    onDmFailure: (failure) => metrics.countDmFailure(failure),
    stores: new Map(
      [...stores].map(([name, s]) => [
        name,
        { store: s.store, coordination: s.coordination, tokenKey: s.keys.token },
      ]),
    ),
    terminal: options.terminal,
  }).catch(async (error: unknown) => {
    await subscriber.close();
    await redis.close();
    throw error;
  });
  // The operators' channel, and `otp-relay code` beside it (one inbox per account): the way in when
  // Discord is down. The hub takes every input once and hands it to its account's login.
  const operators = new CombinedOperatorChannel(
    outside.operators,
    new SideChannels(
      config.accounts.map(
        (account) =>
          new CliInbox({
            client: redis,
            subscriber: subscriber.connection,
            account: account.name,
            channels: cliChannels({ prefix: config.keyPrefix, account: account.name }),
            codeDigits: account.codeDigits,
            logger: stores.get(account.name)!.logger,
          }),
      ),
    ),
  );
  const hub = new OperatorHub({
    channel: operators,
    accounts: config.accounts.map((account) => ({
      name: account.name,
      // The sandbox's one operator is the terminal's, of every account.
      operatorIds: config.sandbox ? [SANDBOX_OPERATOR_ID] : account.operatorIds,
      codeDigits: account.codeDigits,
    })),
    // With several accounts every account's `inputs` key is the one `P:inputs`: any account's claims it.
    claimInput: (inputId, ttlMs) =>
      stores.get(config.accounts[0].name)!.coordination.claimInput(inputId, ttlMs),
    logger,
    holdCodesMs: Math.max(...config.accounts.map((account) => account.codeTimeoutMs)),
    claimTtlMs: CLAIM_TTL_MS,
  });
  const accounts = config.accounts.map(
    (account) =>
      new AccountRelay({
        account,
        stores: stores.get(account.name)!,
        redis,
        subscriber: subscriber.connection,
        broker: outside.brokers.get(account.name)!,
        operators: hub.channelFor(account.name),
        metrics: metricsOf(account),
        brokerCallTimeoutMs: BROKER_REQUEST_TIMEOUT_MS,
        logger,
      }),
  );
  metrics.setConnectionProbes({
    // Not `isReady` alone: it stays true while a stalled Redis holds the connection.
    redisConnected: () => redisConnectionState(redis) === 'connected',
    discordConnected: () => operators.isConnected(),
  });

  let http: HttpServer | undefined;
  let connectedOnce = false;
  const onRedisReady = (): void => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    logger.info('redis reconnected; checking the published token');
    for (const account of accounts) account.restoreIfLost();
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
    // Inputs first: an answer taken after the relay stopped would be dropped, and a modal the
    // operator saw close must not be. What was already taken is delivered before this resolves.
    await Promise.all([
      step('operator input', () => operators.stopInputs()),
      ...accounts.map((account) => step(`bot requests (${account.name})`, () => account.stopInputs())),
    ]);
    await Promise.all(accounts.map((account) => step(`relay (${account.name})`, () => account.relay.stop())));
    await Promise.all([
      step('discord', () => operators.stop()),
      step('http', async () => http?.close()),
      step('broker', () => outside.close()),
      ...[...stores].map(([name, s]) => step(`audit (${name})`, () => s.audit.flush())),
    ]);
    await step('redis subscriber', () => subscriber.close());
    if (redis.isOpen) await step('redis', () => redis.close());
  };
  const unfinished = (): Record<string, unknown> => ({
    steps: [...stopping],
    relay: several
      ? Object.fromEntries(accounts.map((account) => [account.name, account.relay.unfinished()]))
      : accounts[0]!.relay.unfinished(),
  });

  // The published tokens' checks (a Redis read and the broker's round trip each) decide nothing yet:
  // they run beside the Discord gateway's round trips, and each relay's start takes its answer.
  const published = accounts.map((account) => account.relay.checkPublishedToken());
  for (const check of published) check.catch(() => undefined); // awaited by start; not if it fails first
  try {
    // The health server, the Discord gateway and the token-event watches need nothing of one another:
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
            relays: accounts.map((account) => account.snapshot()),
            unreachableOperators: operators.unreachableOperators(),
            now: Date.now(),
          }),
        metrics: () => metrics.render(),
      }).then((server) => (http = server)),
      hub.start(new Map(accounts.map((account) => [account.name, account.login()]))),
      ...accounts.map((account) => account.listen()),
    ]);
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (http === undefined) throw new Error('the health server did not start'); // it did: nothing failed
    // Only once Discord is up: a bot's request may start a login, whose prompt goes out there. The
    // relays start last, for the same reason (each may start a login), with every listener on. Each
    // account starts on its own: one whose broker is slow does not hold the others back.
    await Promise.all(accounts.map((account, i) => account.start(published[i]!)));
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info(
    {
      ...(several
        ? { accounts: config.accounts.map((account) => account.name) }
        : { account: config.accounts[0].name }),
      operators: config.sandbox ? 'terminal' : new Set(config.accounts.flatMap((a) => a.operatorIds)).size,
    },
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
