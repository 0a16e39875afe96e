import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { definedOnly } from '../shared/defaults.js';
import { Secret } from '../shared/secret.js';
import { isMasterRole, NodeAsker, SentinelPanel } from './sentinel-panel.js';
import { SENTINEL_DEFAULTS, type SentinelNode, type SentinelSettings } from './settings.js';

export { parseMasterReply, type MasterAnswer } from './sentinel-panel.js';
import type { SentinelProxyEvent } from './sentinel-log.js';
export { sentinelLogLine, type LogLine, type SentinelProxyEvent } from './sentinel-log.js';

/** How the proxy logs in to the master to check its `ROLE`: the client's own URL's user and TLS. */
export interface MasterLogin {
  readonly username?: string | undefined;
  readonly password?: Secret | undefined;
  /** `rediss://`: the proxy talks TLS to the master, checked against the name the sentinels give. */
  readonly tls: boolean;
}

/** Options of {@link SentinelMasterProxy.start}. */
export interface SentinelProxyOptions extends SentinelSettings {
  /** How to reach the master itself; no login and no TLS when omitted. */
  masterLogin?: MasterLogin | undefined;
  /** Receives what happens (for logs and tests). Called synchronously; must not throw. */
  onEvent?: ((event: SentinelProxyEvent) => void) | undefined;
}

/** While connections wait for a master: how often the sentinels are asked again. */
const RETRY_INTERVAL_MS = 100;
/** How often, while connections are open, the master is confirmed again (sentinels and `ROLE`). */
const CHECK_INTERVAL_MS = 1_000;

/** A client's connection and the master connection it is piped to. */
interface Link {
  readonly client: Socket;
  upstream?: Socket;
  master?: SentinelNode;
}

type Settings = SentinelSettings & {
  readonly [K in keyof typeof SENTINEL_DEFAULTS]-?: Exclude<SentinelSettings[K], undefined>;
};

/**
 * A local TCP proxy, on 127.0.0.1 and a port of its own, that forwards every connection to the
 * master the Redis Sentinels name at that moment. A node-redis client (or any client) pointed at it
 * follows failovers with no change of its own:
 *
 * - a master is used only when a majority of the configured sentinels name it (`SENTINEL MASTER`,
 *   each sentinel with its own deadline: one that hangs delays nothing once the others agree) and it
 *   answers `ROLE` as a master itself;
 * - a new connection is held, not refused, while there is none (a failover in progress): the
 *   client's reconnect lands on the new master as soon as it is confirmed;
 * - while connections are open the master is confirmed again every second; links to a master the
 *   majority no longer names are cut at once, and when no master has been confirmed for
 *   `failClosedAfterMs` every link is cut (fail closed: no write reaches a master that may be cut off
 *   from the others) until a majority confirms one again;
 * - the client reconnects, authenticates and subscribes again by itself, as after any reconnect.
 *
 * The client's bytes are passed through untouched (its `AUTH` included). With a `rediss://` URL the
 * proxy talks TLS to the master, the certificate checked against the name the sentinels give, and
 * the client talks plain TCP to the proxy on 127.0.0.1.
 */
export class SentinelMasterProxy {
  readonly #settings: Settings;
  readonly #masterLogin: MasterLogin;
  readonly #onEvent: (event: SentinelProxyEvent) => void;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #panel: SentinelPanel;
  readonly #masters: NodeAsker;
  #master: SentinelNode | undefined;
  /** When a master was last confirmed (or the proxy started), monotonic ms. */
  #confirmedAt = performance.now();
  #failedClosed = false;
  #resolving: Promise<SentinelNode | undefined> | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: SentinelProxyOptions) {
    if (options.sentinels.length === 0)
      throw new RangeError('SentinelMasterProxy needs at least one sentinel');
    const { onEvent, masterLogin, sentinels, masterName, ...given } = options;
    this.#settings = { ...SENTINEL_DEFAULTS, ...definedOnly(given), sentinels: [...sentinels], masterName };
    this.#masterLogin = masterLogin ?? { tls: false };
    this.#onEvent = onEvent ?? (() => undefined);
    const { username, password, tls, ca, queryTimeoutMs } = this.#settings;
    this.#panel = new SentinelPanel({
      sentinels: this.#settings.sentinels,
      masterName,
      username,
      password,
      tls,
      ca,
      queryTimeoutMs,
      onSilent: (sentinel, message) => this.#onEvent({ type: 'sentinel-unreachable', sentinel, message }),
    });
    this.#masters = new NodeAsker({ ...this.#masterLogin, ca }, queryTimeoutMs);
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

  /** The master connections currently go to, as last confirmed. */
  public get master(): SentinelNode | undefined {
    return this.#master;
  }

  /** Whether no master has been confirmed for `failClosedAfterMs`: no connection goes anywhere. */
  public get failedClosed(): boolean {
    return this.#failedClosed;
  }

  /** How many connections to sentinels and masters the proxy holds (tests count them). */
  public get nodeConnections(): number {
    return this.#panel.connections + this.#masters.connections;
  }

  /** Stops listening, cuts every connection and closes the connections to the sentinels. */
  public async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const link of this.#links) this.#cut(link);
    this.#panel.close();
    this.#masters.close();
    await closed;
  }

  /**
   * The master a majority of the sentinels names and that answers `ROLE` as one, or `undefined`.
   * Concurrent calls share one round of questions.
   */
  public resolveMaster(): Promise<SentinelNode | undefined> {
    this.#resolving ??= this.#resolveOnce().finally(() => (this.#resolving = undefined));
    return this.#resolving;
  }

  async #resolveOnce(): Promise<SentinelNode | undefined> {
    if (this.#closed) return undefined;
    const verdict = await this.#panel.ask();
    const master = verdict.master;
    if (master === undefined) {
      this.#onEvent({
        type: 'no-master',
        votes: verdict.votes,
        needed: verdict.needed,
        answered: verdict.answered,
      });
      return this.#unconfirmed();
    }
    try {
      const role = await this.#masters.ask(master, ['ROLE']);
      if (!isMasterRole(role)) throw new Error(`ROLE says ${JSON.stringify(String((role as unknown[])[0]))}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#onEvent({ type: 'not-master', master, message });
      return this.#unconfirmed();
    }
    if (this.#closed) return undefined;
    this.#confirmedAt = performance.now();
    this.#noteMaster(master);
    if (this.#failedClosed) {
      this.#failedClosed = false;
      this.#onEvent({ type: 'recovered', master });
    }
    return master;
  }

  /** No master confirmed this round: past the bound, fail closed. */
  #unconfirmed(): undefined {
    const sinceMs = performance.now() - this.#confirmedAt;
    if (!this.#failedClosed && !this.#closed && sinceMs > this.#settings.failClosedAfterMs) {
      this.#failedClosed = true;
      const master = this.#master;
      this.#onEvent({ type: 'failed-closed', sinceMs: Math.round(sinceMs), ...(master ? { master } : {}) });
      for (const link of this.#links) if (link.upstream !== undefined) this.#cut(link);
    }
    return undefined;
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
    void this.#connectUpstream(link, performance.now() + this.#settings.masterWaitMs);
  }

  async #connectUpstream(link: Link, deadline: number): Promise<void> {
    while (!this.#closed && this.#links.has(link)) {
      const master = await this.resolveMaster();
      if (master !== undefined && this.#links.has(link)) {
        const upstream = await this.#dial(master).catch(() => undefined);
        if (upstream !== undefined) {
          // Closed, cut, or the master changed while dialling: this one is not used.
          if (!this.#links.has(link) || this.#closed || !this.#isMaster(master)) {
            upstream.destroy();
            if (!this.#links.has(link) || this.#closed) return;
          } else {
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
      }
      if (performance.now() + RETRY_INTERVAL_MS > deadline) {
        this.#onEvent({ type: 'gave-up' });
        this.#cut(link);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS).unref());
    }
  }

  #dial(node: SentinelNode): Promise<Socket> {
    const timeoutMs = this.#settings.queryTimeoutMs;
    return new Promise((resolve, reject) => {
      const { ca } = this.#settings;
      const socket: Socket = this.#masterLogin.tls
        ? connectTls({ host: node.host, port: node.port, ...(ca === undefined ? {} : { ca }) })
        : connectTcp({ host: node.host, port: node.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true);
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error('connect timeout')));
      socket.once('error', reject);
      socket.once(this.#masterLogin.tls ? 'secureConnect' : 'connect', () => {
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
    this.#masters.keepOnly(master);
    this.#onEvent({ type: 'master-changed', master, ...(previous === undefined ? {} : { previous }) });
    // A client still talking to the old master would write to a replica (READONLY) or, worse, to
    // a master cut off from the others: it reconnects, through here, to the new one.
    for (const link of this.#links) {
      if (link.master !== undefined && !sameNode(link.master, master)) this.#cut(link);
    }
  }

  /** Whether `node` is the master confirmed last, and the proxy has not failed closed since. */
  #isMaster(node: SentinelNode): boolean {
    return !this.#failedClosed && this.#master !== undefined && sameNode(this.#master, node);
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#links.size === 0) return;
    await this.resolveMaster().catch(() => undefined);
  }
}

function sameNode(a: SentinelNode, b: SentinelNode): boolean {
  return a.host === b.host && a.port === b.port;
}

/**
 * `url` pointed at the proxy: its host and port replaced by the proxy's, and `redis://` (with a
 * `rediss://` URL the proxy is the one that talks TLS to the master); user, password and database
 * kept.
 */
export function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError('Redis Sentinel needs a redis:// or rediss:// URL');
  }
  // URL keeps the special-scheme rules of the original: rebuild it rather than set `protocol`.
  const rebuilt = new URL(`redis://127.0.0.1:${port}${parsed.pathname}`);
  rebuilt.username = parsed.username;
  rebuilt.password = parsed.password;
  return rebuilt.toString();
}

/** The master login in a Redis URL: its user, password and whether it is `rediss://`. */
export function masterLoginOf(url: string): MasterLogin {
  const parsed = new URL(url);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return {
    tls: parsed.protocol === 'rediss:',
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password: new Secret(password) }),
  };
}
