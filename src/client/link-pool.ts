import { RelayLink, type LinkMember } from './relay-link.js';
import type { TokenClientConfig, TokenClientRedis } from './token-client-options.js';

/** The process's shared links of clients that opened their own connections, by settings and account. */
const ownLinks = new Map<string, RelayLink>();
/** The shared links of clients given an application's client (`client`), by that client. */
const givenLinks = new WeakMap<TokenClientRedis, Map<string, RelayLink>>();

/**
 * The link a starting client uses, held for `member`. With `shareConnections` (the default) it is
 * the process's link for the client's connection settings and account (its URL with credentials
 * and TLS, Sentinel settings, connection name and time-outs, key prefix and account; or the
 * application's `client`), opened by the first such client; else a link of the client's own.
 */
export function acquireRelayLink(config: TokenClientConfig, member: LinkMember): RelayLink {
  if (!config.settings.shareConnections) {
    const own = new RelayLink(config, () => undefined);
    own.hold(member);
    return own;
  }
  let pool = ownLinks;
  if (config.providedClient !== undefined) {
    pool = givenLinks.get(config.providedClient) ?? new Map<string, RelayLink>();
    givenLinks.set(config.providedClient, pool);
  }
  const key = linkKey(config);
  let link = pool.get(key);
  if (link === undefined) {
    const created = new RelayLink(config, () => {
      if (pool.get(key) === created) pool.delete(key);
    });
    pool.set(key, created);
    link = created;
  }
  link.hold(member);
  return link;
}

/** How many shared links of own connections the process has open (for tests and diagnostics). */
export function sharedLinkCount(): number {
  return ownLinks.size;
}

/** Everything a link's connections and reads depend on. Held in memory only, never logged. */
function linkKey(config: TokenClientConfig): string {
  const { settings, sentinel, keys } = config;
  return JSON.stringify([
    settings.redisUrl,
    sentinel === undefined
      ? null
      : [
          sentinel.masterName,
          sentinel.sentinels,
          sentinel.username,
          sentinel.password?.reveal(),
          sentinel.tls,
        ],
    settings.connectionName,
    settings.connectTimeoutMs,
    settings.commandTimeoutMs,
    settings.reconnectMaxDelayMs,
    keys.token,
    keys.events,
    keys.requests,
  ]);
}
