import type { Secret } from '../shared/secret.js';

// redis/ imports only @redis/client, node: built-ins and the shared/ helpers that import no package:
// the bots' client library connects through it too, and is packed with nothing of the relay.

/** One Redis Sentinel (or Redis node) address. */
export interface SentinelNode {
  readonly host: string;
  readonly port: number;
}

/** Redis Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_MASTER`): connect to the master it names. */
export interface SentinelSettings {
  /** The sentinels to ask, in order. At least one. A majority of them must agree on the master. */
  readonly sentinels: readonly SentinelNode[];
  /** The master group's name (`sentinel monitor <name> ...`). */
  readonly masterName: string;
  /**
   * How long a new connection is held while no master is known (a failover in progress) before it
   * is closed, and the client's reconnect tries again.
   */
  readonly masterWaitMs?: number | undefined;
  /** `REDIS_SENTINEL_USERNAME`: the sentinels' ACL user (with `password`). */
  readonly username?: string | undefined;
  /** `REDIS_SENTINEL_PASSWORD`: the sentinels' password (`requirepass`, or the ACL user's). */
  readonly password?: Secret | undefined;
  /**
   * `REDIS_SENTINEL_TLS`: talk TLS to the sentinels, each certificate checked against the host
   * name it is listed under.
   */
  readonly tls?: boolean | undefined;
  /**
   * Certificates (PEM) to trust for the TLS connections to the sentinels and, with a `rediss://`
   * URL, to the master; Node's own list (and `NODE_EXTRA_CA_CERTS`) when omitted.
   */
  readonly ca?: string | undefined;
  /** How long one sentinel may take to answer (connection included) before it counts as silent. */
  readonly queryTimeoutMs?: number | undefined;
  /**
   * How long the connections may stay on a master no majority of the sentinels confirms (a
   * partition, sentinels down) before they are cut: no write goes to a master that may be isolated.
   */
  readonly failClosedAfterMs?: number | undefined;
}

/** Defaults of {@link SentinelSettings}. */
export const SENTINEL_DEFAULTS = {
  masterWaitMs: 30_000,
  tls: false,
  queryTimeoutMs: 1_000,
  failClosedAfterMs: 5_000,
} as const satisfies Required<
  Omit<SentinelSettings, 'sentinels' | 'masterName' | 'username' | 'password' | 'ca'>
>;

/** How many of `count` sentinels make a majority. */
export function sentinelMajority(count: number): number {
  return Math.floor(count / 2) + 1;
}

/** Every Redis connection of the relay and of the client library is made from these. */
export interface RedisSettings {
  /**
   * `redis://` or `rediss://` (TLS), with the ACL user and password when Redis has them. With
   * `sentinel`, only its user and password are used.
   */
  readonly url: Secret;
  /** The connection's name: `CLIENT SETNAME` on the server, and a field of the relay's log lines. */
  readonly name?: string | undefined;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Every command's deadline, from the moment it is issued to its reply (see redis/deadline.ts): a
   * command past it rejects with `RedisCommandTimeoutError`, and its connection, taken as stalled,
   * refuses every command until it has been replaced by a new one.
   */
  readonly commandTimeoutMs?: number | undefined;
  /**
   * How often an idle connection sends `PING` (node-redis' `pingInterval`), so that a stall is
   * noticed without a command of the caller's: half of `commandTimeoutMs`, at most a second, by
   * default.
   */
  readonly pingIntervalMs?: number | undefined;
  /** Delay before the first reconnect attempt; it doubles with every failed attempt… */
  readonly reconnectInitialDelayMs?: number | undefined;
  /** …up to this bound. Reconnecting never stops. */
  readonly reconnectMaxDelayMs?: number | undefined;
  /** Connect to the master the sentinels name, and follow failovers (`redis://` only). */
  readonly sentinel?: SentinelSettings | undefined;
}

/** Defaults of {@link RedisSettings}: the relay's. The client library passes its own. */
export const REDIS_DEFAULTS = {
  name: 'otp-relay',
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 5_000,
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 10_000,
} as const satisfies Required<Omit<RedisSettings, 'url' | 'sentinel' | 'pingIntervalMs'>>;

/** The `PING` interval of a connection whose commands have `commandTimeoutMs`: see {@link RedisSettings.pingIntervalMs}. */
export function defaultPingIntervalMs(commandTimeoutMs: number): number {
  return Math.max(10, Math.min(Math.floor(commandTimeoutMs / 2), 1_000));
}

/** Whether `CLIENT SETNAME` takes `name`: printable ASCII without spaces. */
export function isConnectionName(name: string): boolean {
  return /^[!-~]+$/.test(name);
}

/** Whether `name` is a master group name: 1 to 64 letters, digits, `-`, `_` and `.`. */
export function isMasterName(name: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(name);
}

/**
 * Parses `REDIS_SENTINELS`: comma-separated `host:port` (`[::1]:26379` for IPv6). Returns the nodes,
 * without duplicates, or what is wrong (the text quoted back is not a secret: sentinel addresses
 * carry no password).
 */
export function parseSentinelNodes(
  text: string,
): { ok: true; nodes: SentinelNode[] } | { ok: false; error: string } {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) return { ok: false, error: 'names no sentinel' };
  const nodes: SentinelNode[] = [];
  for (const part of parts) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(part);
    const port = match === null ? NaN : Number(match[3]);
    if (match === null || !(port >= 1 && port <= 65535)) {
      return { ok: false, error: `${JSON.stringify(part.slice(0, 80))} is not host:port` };
    }
    const node = { host: match[1] ?? match[2] ?? '', port };
    if (!nodes.some((known) => known.host === node.host && known.port === node.port)) nodes.push(node);
  }
  return { ok: true, nodes };
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatNode(node: SentinelNode): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}
