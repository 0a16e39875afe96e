import type { EventEmitter } from 'node:events';
import {
  parseSentinelNodes,
  SentinelMasterProxy,
  throughProxy,
  type SentinelNode,
  type SentinelProxyEvent,
} from '../shared/sentinel-proxy.js';
import {
  createOwnedClient,
  type OwnedConnectionSettings,
  type TokenClientRedis,
} from './redis-connection.js';

export type { SentinelNode } from '../shared/sentinel-proxy.js';

/** Redis Sentinel as the token client uses it: the sentinels and the master group's name. */
export interface TokenClientSentinel {
  readonly sentinels: readonly SentinelNode[];
  readonly masterName: string;
}

/**
 * The Sentinel settings in {@link TokenClientOptions}-style options: `sentinels` (nodes, or the
 * `REDIS_SENTINELS` text `host:port,host:port`) and `sentinelMaster`, both or neither.
 *
 * @throws TypeError naming the option when only one is given or a value is not valid
 */
export function readSentinelOptions(options: {
  sentinels?: readonly SentinelNode[] | string | undefined;
  sentinelMaster?: string | undefined;
}): TokenClientSentinel | undefined {
  const { sentinels, sentinelMaster } = options;
  if (sentinels === undefined && sentinelMaster === undefined) return undefined;
  if (sentinels === undefined || sentinelMaster === undefined) {
    throw new TypeError('TokenClient options sentinels and sentinelMaster go together: give both or neither');
  }
  if (typeof sentinelMaster !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(sentinelMaster)) {
    throw new TypeError('TokenClient option sentinelMaster must be a master name (letters, digits, - _ .)');
  }
  let nodes: readonly SentinelNode[];
  if (typeof sentinels === 'string') {
    const parsed = parseSentinelNodes(sentinels);
    if (!parsed.ok) throw new TypeError(`TokenClient option sentinels ${parsed.error}`);
    nodes = parsed.nodes;
  } else {
    nodes = sentinels.map((node) => ({ host: node.host, port: node.port }));
    const bad = nodes.some(
      (node) => typeof node.host !== 'string' || node.host === '' || !Number.isInteger(node.port),
    );
    if (nodes.length === 0 || bad) {
      throw new TypeError('TokenClient option sentinels must list at least one { host, port }');
    }
  }
  return Object.freeze({ sentinels: Object.freeze(nodes), masterName: sentinelMaster });
}

/** Options of {@link createSentinelOwnedClient}. */
export interface SentinelOwnedClientOptions extends OwnedConnectionSettings {
  sentinel: TokenClientSentinel;
  /** Told when the sentinels name a new master or cannot be reached. */
  onEvent?: ((event: SentinelProxyEvent) => void) | undefined;
}

/** What {@link createSentinelOwnedClient} opens: the client, and the proxy its connections go through. */
export interface SentinelOwnedClient {
  readonly client: TokenClientRedis;
  /**
   * Closes the proxy. It also closes by itself once the client has ended; this is for a client
   * that never connected (and so never ends).
   */
  readonly closeProxy: () => Promise<void>;
}

/**
 * A client like `createOwnedClient`'s (not yet connected), whose connections, and those of its
 * `duplicate()`s, go to the master the sentinels name, through a local {@link SentinelMasterProxy}
 * that closes once this client is closed or destroyed. Only `url`'s user and password are used.
 */
export async function createSentinelOwnedClient(
  options: SentinelOwnedClientOptions,
): Promise<SentinelOwnedClient> {
  const proxy = await SentinelMasterProxy.start({
    sentinels: options.sentinel.sentinels,
    masterName: options.sentinel.masterName,
    masterWaitMs: options.commandTimeoutMs,
    onEvent: options.onEvent,
  });
  const client = createOwnedClient({ ...options, url: throughProxy(options.url, proxy.port) });
  // node-redis clients are EventEmitters that emit 'end' once closed or destroyed (not on a reconnect).
  (client as TokenClientRedis & Pick<EventEmitter, 'once'>).once('end', () => void proxy.close());
  return { client, closeProxy: () => proxy.close() };
}
