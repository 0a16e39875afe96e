// node:net and node-redis only: the bots' client library uses this too, and stays light.
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { createClient } from '@redis/client';

/** One Redis Sentinel (or Redis node) address. */
export interface SentinelNode {
  readonly host: string;
  readonly port: number;
}

/** What a {@link SentinelMasterProxy} reports; never a credential (it holds none). */
export type SentinelProxyEvent =
  /** The sentinels name a new master; connections to the previous one are cut. */
  | { readonly type: 'master-changed'; readonly master: SentinelNode; readonly previous?: SentinelNode }
  /** A sentinel did not answer (down, or not a sentinel of this master name). */
  | { readonly type: 'sentinel-unreachable'; readonly sentinel: SentinelNode; readonly message: string }
  /** No sentinel named a master that is up; waiting connections keep waiting. */
  | { readonly type: 'no-master' }
  /** A connection waited {@link SentinelProxyOptions.masterWaitMs} without a master and was closed. */
  | { readonly type: 'gave-up' };

/** Options of {@link SentinelMasterProxy.start}. */
export interface SentinelProxyOptions {
  /** The sentinels to ask, in order (`REDIS_SENTINELS`). At least one. */
  sentinels: readonly SentinelNode[];
  /** The master group's name (`REDIS_SENTINEL_MASTER`). */
  masterName: string;
  /** How long a connection is held while no master is known (during a failover) before it is closed. */
  masterWaitMs?: number | undefined;
  /** While connections wait for a master: how often the sentinels are asked again. */
  retryIntervalMs?: number | undefined;
  /** How often the sentinels are asked whether the master changed, to cut connections to an old one. */
  checkIntervalMs?: number | undefined;
  /** How long one sentinel query, or one connection attempt to the master, may take. */
  queryTimeoutMs?: number | undefined;
  /** Receives what happens (for logs and tests). Called synchronously; must not throw. */
  onEvent?: ((event: SentinelProxyEvent) => void) | undefined;
}

/** Defaults of {@link SentinelProxyOptions}. */
export const SENTINEL_PROXY_DEFAULTS = {
  masterWaitMs: 30_000,
  retryIntervalMs: 100,
  checkIntervalMs: 1_000,
  queryTimeoutMs: 1_000,
} as const satisfies Required<Omit<SentinelProxyOptions, 'sentinels' | 'masterName' | 'onEvent'>>;

/** {@link SentinelProxyOptions} merged over the defaults. */
type ProxySettings = { readonly [K in keyof typeof SENTINEL_PROXY_DEFAULTS]: number } & {
  readonly sentinels: readonly SentinelNode[];
  readonly masterName: string;
};

/**
 * Flags of `SENTINEL MASTER` that mean the master cannot be used now. Not `disconnected`: right after
 * a failover the sentinel shows the new master so until its own link to it is up (about a second),
 * and the proxy finds out by itself whether it can connect (redis-py's Sentinel does the same).
 */
const DOWN_FLAGS = ['s_down', 'o_down'];

/**
 * Parses `REDIS_SENTINELS`: comma-separated `host:port` (`[::1]:26379` for IPv6). Returns the nodes,
 * or what is wrong (the text quoted back is not a secret: sentinel addresses carry no password).
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

/**
 * A local TCP proxy, on 127.0.0.1 and a port of its own, that forwards every connection to the
 * master the Redis Sentinels name at that moment. A node-redis client (or any client) pointed at it
 * follows failovers with no change of its own:
 *
 * - each new connection asks the sentinels for the master (`SENTINEL MASTER <name>`, every
 *   sentinel, the newest configuration epoch wins; a master flagged down counts as none), and is held, not refused, while
 *   there is none (a failover in progress): the client's reconnect lands on the new master as soon
 *   as the sentinels promote it, instead of backing off further and further;
 * - when the sentinels name another master, the connections to the old one are cut, so that no
 *   client goes on writing to a demoted master (Sentinel also kills them when it reconfigures it);
 * - the client reconnects, authenticates and subscribes again by itself, as after any reconnect.
 *
 * The bytes are passed through untouched: `AUTH` goes to the master as the client sent it, and the
 * proxy holds no credential. TLS (`rediss://`) does not go through it (the certificate would be
 * checked against 127.0.0.1).
 */
export class SentinelMasterProxy {
  readonly #settings: ProxySettings;
  readonly #onEvent: (event: SentinelProxyEvent) => void;
  readonly #server: Server;
  readonly #links = new Set<{ readonly client: Socket; upstream?: Socket; master?: SentinelNode }>();
  readonly #sentinelClients = new Map<string, ReturnType<typeof createSentinelClient>>();
  #master: SentinelNode | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: SentinelProxyOptions) {
    if (options.sentinels.length === 0)
      throw new RangeError('SentinelMasterProxy needs at least one sentinel');
    const defaults = SENTINEL_PROXY_DEFAULTS;
    this.#settings = {
      sentinels: [...options.sentinels],
      masterName: options.masterName,
      masterWaitMs: options.masterWaitMs ?? defaults.masterWaitMs,
      retryIntervalMs: options.retryIntervalMs ?? defaults.retryIntervalMs,
      checkIntervalMs: options.checkIntervalMs ?? defaults.checkIntervalMs,
      queryTimeoutMs: options.queryTimeoutMs ?? defaults.queryTimeoutMs,
    };
    this.#onEvent = options.onEvent ?? (() => undefined);
    this.#server = createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  /** Starts a proxy listening on 127.0.0.1 and a free port. */
  public static async start(options: SentinelProxyOptions): Promise<SentinelMasterProxy> {
    const proxy = new SentinelMasterProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => {
        proxy.#server.off('error', reject);
        resolve();
      });
    });
    proxy.#checkTimer = setInterval(() => void proxy.#check(), proxy.#settings.checkIntervalMs);
    proxy.#checkTimer.unref();
    return proxy;
  }

  /** The port the proxy listens on (127.0.0.1). */
  public get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The master connections currently go to, as last named by the sentinels. */
  public get master(): SentinelNode | undefined {
    return this.#master;
  }

  /** Stops listening, cuts every connection and closes the connections to the sentinels. */
  public async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const link of this.#links) this.#cut(link);
    for (const client of this.#sentinelClients.values()) if (client.isOpen) client.destroy();
    this.#sentinelClients.clear();
    await closed;
  }

  /**
   * Asks every sentinel for the master, at once, and takes the answer of the highest configuration
   * epoch that names a master that is up: right after a failover, the sentinel that led it knows
   * the new master before the others hear of it, and a sentinel cut off from the rest may still
   * name the old one (with an older epoch). `undefined` when none names a master that is up.
   */
  public async resolveMaster(): Promise<SentinelNode | undefined> {
    const answers = await Promise.all(
      this.#settings.sentinels.map(async (sentinel) => {
        try {
          return await this.#askSentinel(sentinel);
        } catch (error) {
          this.#onEvent({
            type: 'sentinel-unreachable',
            sentinel,
            message: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        }
      }),
    );
    let best: MasterAnswer | undefined;
    for (const answer of answers) {
      if (answer !== undefined && (best === undefined || answer.epoch > best.epoch)) best = answer;
    }
    if (best === undefined) {
      this.#onEvent({ type: 'no-master' });
      return undefined;
    }
    const master = { host: best.host, port: best.port };
    this.#noteMaster(master);
    return master;
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    const link: { client: Socket; upstream?: Socket; master?: SentinelNode } = { client };
    this.#links.add(link);
    client.on('error', () => this.#cut(link));
    client.on('close', () => this.#cut(link));
    void this.#connectUpstream(link, Date.now() + this.#settings.masterWaitMs);
  }

  async #connectUpstream(
    link: { client: Socket; upstream?: Socket; master?: SentinelNode },
    deadline: number,
  ): Promise<void> {
    while (!this.#closed && this.#links.has(link)) {
      const master = await this.resolveMaster();
      if (master !== undefined && this.#links.has(link)) {
        const upstream = await this.#dial(master).catch(() => undefined);
        if (upstream !== undefined) {
          if (!this.#links.has(link) || this.#closed) {
            upstream.destroy();
            return;
          }
          link.upstream = upstream;
          link.master = master;
          upstream.on('error', () => this.#cut(link));
          upstream.on('close', () => this.#cut(link));
          link.client.pipe(upstream);
          upstream.pipe(link.client);
          link.client.resume();
          return;
        }
      }
      if (Date.now() + this.#settings.retryIntervalMs > deadline) {
        this.#onEvent({ type: 'gave-up' });
        this.#cut(link);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#settings.retryIntervalMs).unref());
    }
  }

  #dial(node: SentinelNode): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: node.host, port: node.port, noDelay: true, keepAlive: true });
      socket.setTimeout(this.#settings.queryTimeoutMs, () => socket.destroy(new Error('connect timeout')));
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        resolve(socket);
      });
    });
  }

  #cut(link: { client: Socket; upstream?: Socket }): void {
    if (!this.#links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }

  #noteMaster(master: SentinelNode): void {
    const previous = this.#master;
    if (previous !== undefined && sameNode(previous, master)) return;
    this.#master = master;
    this.#onEvent({ type: 'master-changed', master, ...(previous === undefined ? {} : { previous }) });
    // A client still talking to the old master would write to a replica (READONLY) or, worse, to
    // a master cut off from the others: it reconnects, through here, to the new one.
    for (const link of this.#links) {
      if (link.master !== undefined && !sameNode(link.master, master)) this.#cut(link);
    }
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#links.size === 0) return;
    await this.resolveMaster().catch(() => undefined);
  }

  async #askSentinel(sentinel: SentinelNode): Promise<MasterAnswer | undefined> {
    const key = formatNode(sentinel);
    let client = this.#sentinelClients.get(key);
    if (client === undefined || !client.isReady) {
      if (client?.isOpen) client.destroy();
      this.#sentinelClients.delete(key);
      client = createSentinelClient(sentinel, this.#settings.queryTimeoutMs);
      // A failed connection is reported through the rejected connect() below.
      client.on('error', () => undefined);
      await client.connect();
      if (this.#closed) {
        client.destroy();
        throw new Error('proxy closed');
      }
      this.#sentinelClients.set(key, client);
    }
    const reply = await client.sendCommand(['SENTINEL', 'MASTER', this.#settings.masterName]);
    return parseMasterReply(reply);
  }
}

function createSentinelClient(sentinel: SentinelNode, timeoutMs: number) {
  return createClient({
    socket: { host: sentinel.host, port: sentinel.port, connectTimeout: timeoutMs, reconnectStrategy: false },
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
  });
}

/** A master as one sentinel names it, with the configuration epoch of that sentinel's view. */
export interface MasterAnswer extends SentinelNode {
  readonly epoch: number;
}

/**
 * The master in a `SENTINEL MASTER` reply (a flat field/value list, or a map with RESP3), or
 * `undefined` when it is flagged down or the reply is not one.
 */
export function parseMasterReply(reply: unknown): MasterAnswer | undefined {
  const fields = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let index = 0; index + 1 < reply.length; index += 2) {
      fields.set(String(reply[index]), String(reply[index + 1]));
    }
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) fields.set(String(field), String(value));
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [field, value] of Object.entries(reply)) fields.set(field, String(value));
  }
  const host = fields.get('ip');
  const port = Number(fields.get('port'));
  const flags = (fields.get('flags') ?? '').split(',');
  if (host === undefined || host === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    return undefined;
  if (!flags.includes('master') || flags.some((flag) => DOWN_FLAGS.includes(flag))) return undefined;
  const epoch = Number(fields.get('config-epoch') ?? '0');
  return { host, port, epoch: Number.isFinite(epoch) ? epoch : 0 };
}

function sameNode(a: SentinelNode, b: SentinelNode): boolean {
  return a.host === b.host && a.port === b.port;
}

/**
 * `url` with its host and port replaced by the proxy's (`redis://` kept, user and password kept).
 *
 * @throws TypeError for a `rediss://` URL: the certificate would be checked against 127.0.0.1
 */
export function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:') {
    throw new TypeError('Redis Sentinel is supported with redis:// URLs only (not rediss://)');
  }
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}
