import type { Logger } from '../shared/log.js';
import { Secret } from '../shared/secret.js';
import {
  formatNode,
  SentinelMasterProxy,
  throughProxy,
  type SentinelNode,
  type SentinelProxyEvent,
} from '../shared/sentinel-proxy.js';

/** Redis Sentinel for the relay's connections (`REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER`). */
export interface RedisSentinelSettings {
  readonly sentinels: readonly SentinelNode[];
  readonly masterName: string;
}

/** Options of {@link routeThroughSentinel}. */
export interface SentinelRouteOptions {
  /** `REDIS_URL`: only its user and password are used. */
  url: Secret;
  sentinel: RedisSentinelSettings;
  logger?: Logger | undefined;
  /** How long a connection waits for a master during a failover before it is closed (and retried). */
  masterWaitMs?: number | undefined;
}

/** A started proxy and the URL that goes through it. */
export interface SentinelRoute {
  /** `url` pointed at the proxy: the relay's clients connect here, with `url`'s credentials. */
  readonly url: Secret;
  readonly proxy: SentinelMasterProxy;
  /** Closes the proxy once `client` is closed or destroyed (node-redis emits `end` then). */
  closeWith(client: { once(event: 'end', listener: () => void): unknown }): void;
}

/**
 * Starts a {@link SentinelMasterProxy} for the relay and logs what it sees: a new master (warn: a
 * failover happened), sentinels that do not answer and waits for a master (debug, they repeat
 * during a failover). Nothing it logs holds a credential: the proxy never sees one in clear, and
 * addresses are all it reports.
 */
export async function routeThroughSentinel(options: SentinelRouteOptions): Promise<SentinelRoute> {
  const logger = options.logger?.child({ redis: 'sentinel', master: options.sentinel.masterName });
  const proxy = await SentinelMasterProxy.start({
    sentinels: options.sentinel.sentinels,
    masterName: options.sentinel.masterName,
    masterWaitMs: options.masterWaitMs,
    onEvent: (event) => logEvent(logger, event),
  });
  let url: Secret;
  try {
    url = new Secret(throughProxy(options.url.reveal(), proxy.port));
  } catch (error) {
    await proxy.close();
    throw error;
  }
  return {
    url,
    proxy,
    closeWith: (client) => {
      client.once('end', () => void proxy.close());
    },
  };
}

function logEvent(logger: Logger | undefined, event: SentinelProxyEvent): void {
  switch (event.type) {
    case 'master-changed':
      if (event.previous === undefined) {
        logger?.info({ node: formatNode(event.master) }, 'Redis master found through Sentinel');
      } else {
        logger?.warn(
          { node: formatNode(event.master), previous: formatNode(event.previous) },
          'Redis master changed (failover); reconnecting to the new master',
        );
      }
      return;
    case 'sentinel-unreachable':
      logger?.debug(
        { sentinel: formatNode(event.sentinel), problem: event.message },
        'sentinel did not answer',
      );
      return;
    case 'no-master':
      logger?.debug('no Redis master up yet (failover in progress?)');
      return;
    case 'gave-up':
      logger?.warn('no Redis master found in time; the connection will be retried');
      return;
  }
}
