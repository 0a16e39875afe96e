import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { createClient } from '@redis/client';
import { definedOnly } from '../shared/defaults.js';
import { formatNode, SENTINEL_DEFAULTS, type SentinelNode, type SentinelSettings } from './settings.js';

/** What a {@link SentinelMasterProxy} reports; never a credential (it holds none). */
export type SentinelProxyEvent =
  /** The sentinels name a new master; connections to the previous one are cut. */
  | { readonly type: 'master-changed'; readonly master: SentinelNode; readonly previous?: SentinelNode }
  /** A sentinel did not answer (down, or not a sentinel of this master name). */
  | { readonly type: 'sentinel-unreachable'; readonly sentinel: SentinelNode; readonly message: string }
  /** No sentinel named a master that is up; waiting connections keep waiting. */
  | { readonly type: 'no-master' }
  /** A connection waited {@link SentinelSettings.masterWaitMs} without a master and was closed. */
  | { readonly type: 'gave-up' };

/** Options of {@link SentinelMasterProxy.start}. */
export interface SentinelProxyOptions extends SentinelSettings {
  /** Receives what happens (for logs and tests). Called synchronously; must not throw. */
  onEvent?: ((event: SentinelProxyEvent) => void) | undefined;
}

/** While connections wait for a master: how often the sentinels are asked again. */
const RETRY_INTERVAL_MS = 100;
/** How often the sentinels are asked whether the master changed, to cut connections to an old one. */
const CHECK_INTERVAL_MS = 1_000;
/** How long one sentinel query, or one connection attempt to the master, may take. */
const QUERY_TIMEOUT_MS = 1_000;

/**
 * Flags of `SENTINEL MASTER` that mean the master cannot be used now. Not `disconnected`: right after
 * a failover the sentinel shows the new master so until its own link to it is up (about a second),
 * and the proxy finds out by itself whether it can connect (redis-py's Sentinel does the same).
 */
const DOWN_FLAGS = ['s_down', 'o_down'];

/** A client's connection and the master connection it is piped to. */
interface Link {
  readonly client: Socket;
  upstream?: Socket;
  master?: SentinelNode;
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
  readonly #settings: SentinelSettings & { readonly masterWaitMs: number };
  readonly #onEvent: (event: SentinelProxyEvent) => void;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #sentinelClients = new Map<string, ReturnType<typeof createSentinelClient>>();
  #master: SentinelNode | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: SentinelProxyOptions) {
    if (options.sentinels.length === 0)
      throw new RangeError('SentinelMasterProxy needs at least one sentinel');
    const { onEvent, sentinels, masterName, ...given } = options;
    this.#settings = { ...SENTINEL_DEFAULTS, ...definedOnly(given), sentinels: [...sentinels], masterName };
    this.#onEvent = onEvent ?? (() => undefined);
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
    proxy.#checkTimer = setInterval(() => void proxy.#check(), CHECK_INTERVAL_MS);
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
    const link: Link = { client };
    this.#links.add(link);
    client.on('error', () => this.#cut(link));
    client.on('close', () => this.#cut(link));
    void this.#connectUpstream(link, Date.now() + this.#settings.masterWaitMs);
  }

  async #connectUpstream(link: Link, deadline: number): Promise<void> {
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
      if (Date.now() + RETRY_INTERVAL_MS > deadline) {
        this.#onEvent({ type: 'gave-up' });
        this.#cut(link);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS).unref());
    }
  }

  #dial(node: SentinelNode): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: node.host, port: node.port, noDelay: true, keepAlive: true });
      socket.setTimeout(QUERY_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        resolve(socket);
      });
    });
  }

  #cut(link: Link): void {
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
      client = createSentinelClient(sentinel, QUERY_TIMEOUT_MS);
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

/** A log line: its level, its fields and its message. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/**
 * How the relay and the client library log a {@link SentinelProxyEvent}: a new master at warn (a
 * failover happened), the first one at info, and at debug what repeats during a failover (a
 * sentinel that does not answer, no master yet). Addresses only: the proxy never holds a credential.
 */
export function sentinelLogLine(event: SentinelProxyEvent): LogLine {
  switch (event.type) {
    case 'master-changed':
      return event.previous === undefined
        ? {
            level: 'info',
            fields: { node: formatNode(event.master) },
            message: 'Redis master found through Sentinel',
          }
        : {
            level: 'warn',
            fields: { node: formatNode(event.master), previous: formatNode(event.previous) },
            message: 'Redis master changed (failover); reconnecting to the new master',
          };
    case 'sentinel-unreachable':
      return {
        level: 'debug',
        fields: { sentinel: formatNode(event.sentinel), problem: event.message },
        message: 'sentinel did not answer',
      };
    case 'no-master':
      return { level: 'debug', fields: {}, message: 'no Redis master up yet (failover in progress?)' };
    case 'gave-up':
      return {
        level: 'warn',
        fields: {},
        message: 'no Redis master found in time; the connection will be retried',
      };
  }
}
