import { EtnaBroker } from './broker/etna-client.js';
import type { Config } from './config.js';
import { readiness } from './http/readiness.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { errorFields, type Logger } from './log.js';
import { DiscordOperatorChannel } from './operators/discord-channel.js';
import { Relay } from './relay/relay.js';
import { relayKeys } from './store/keys.js';
import { connectRedis } from './store/redis-connection.js';
import { RedisEventPublisher } from './store/redis-events.js';
import { RedisTokenStore } from './store/redis-token-store.js';

/** A running relay, as the composition root holds it. */
export interface RunningRelay {
  /** The health server's address (useful with `HTTP_PORT=0`). */
  readonly httpUrl: string;
  /** Stops timers, disconnects from Discord and Redis, closes the health server. */
  stop(): Promise<void>;
}

/**
 * Wires the real adapters (Redis, the ETNA client, Discord) to the relay core and starts it.
 * The only place that knows every concrete class.
 */
export async function startRelay(config: Config, logger: Logger): Promise<RunningRelay> {
  const keys = relayKeys({ prefix: config.keyPrefix, account: config.account });
  const redis = await connectRedis({ url: config.redisUrl, logger, name: `otp-relay:${config.account}` });
  const broker = new EtnaBroker({
    apiUrl: config.etna.apiUrl,
    appKey: config.etna.appKey,
    username: config.etna.username,
    password: config.etna.password,
    pin: config.etna.pin,
    logger,
  });
  const operators = new DiscordOperatorChannel({
    token: config.discord.token,
    operatorIds: config.discord.operatorIds,
    apiUrl: config.discord.apiUrl,
    logger,
  });
  const relay = new Relay({
    account: config.account,
    codeTimeoutMs: config.codeTimeoutMs,
    tokenLifetimeMs: config.tokenLifetimeMs,
    maxCodeAttempts: config.maxCodeAttempts,
    broker,
    operators,
    store: new RedisTokenStore({ client: redis, keys, account: config.account, logger }),
    events: new RedisEventPublisher({ client: redis, keys }),
    logger,
  });

  let http: HttpServer | undefined;
  const stop = async (): Promise<void> => {
    await relay.stop();
    await Promise.allSettled([operators.stop(), http?.close(), broker.close()]);
    if (redis.isOpen)
      await redis
        .close()
        .catch((error: unknown) => logger.warn({ err: errorFields(error) }, 'redis close failed'));
  };

  try {
    http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      logger,
      readiness: () =>
        readiness({
          redisConnected: redis.isReady,
          discordConnected: operators.isConnected(),
          relay: relay.snapshot(),
          now: Date.now(),
        }),
    });
    await operators.start((input) => relay.handleInput(input));
    await relay.start();
  } catch (error) {
    await stop();
    throw error;
  }
  logger.info({ account: config.account, operators: config.discord.operatorIds.length }, 'relay started');
  return { httpUrl: http.url, stop };
}
