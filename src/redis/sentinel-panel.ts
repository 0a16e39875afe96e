import { createClient } from '@redis/client';
import type { Secret } from '../shared/secret.js';
import { formatNode, sentinelMajority, type SentinelNode } from './settings.js';

/** How to log in to a node (a sentinel or a Redis master) and whether to talk TLS to it. */
export interface NodeLogin {
  readonly username?: string | undefined;
  readonly password?: Secret | undefined;
  /** TLS, the certificate checked against the host name the node is reached by. */
  readonly tls: boolean;
  /** Certificates (PEM) to trust; Node's own list when omitted. */
  readonly ca?: string | undefined;
}

type NodeClient = ReturnType<typeof createClient>;

interface Entry {
  readonly client: NodeClient;
  readonly connected: Promise<NodeClient>;
}

/**
 * Sends single commands to nodes, one connection per node (shared by concurrent asks, reused by
 * later ones), each ask with a deadline that covers the connection and the reply: a node that hangs
 * (SIGSTOP, a black-holed network) costs that long and no longer, and its connection is dropped.
 * No connection outlives {@link close}, however many asks were in flight.
 */
export class NodeAsker {
  readonly #login: NodeLogin;
  readonly #timeoutMs: number;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  public constructor(login: NodeLogin, timeoutMs: number) {
    this.#login = login;
    this.#timeoutMs = timeoutMs;
  }

  /** How many connections are open or opening (tests count them). */
  public get connections(): number {
    return this.#entries.size;
  }

  /** Sends `args` to `node`; rejects when it does not answer within the time-out. */
  public async ask(node: SentinelNode, args: readonly string[]): Promise<unknown> {
    const key = formatNode(node);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      const client = await Promise.race([this.#connection(key, node), deadline]);
      return await Promise.race([client.sendCommand([...args]), deadline]);
    } catch (error) {
      // Hung or gone: the next ask opens a new connection rather than queue behind this one.
      this.#drop(key);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connections to every node but `keep`. */
  public keepOnly(keep: SentinelNode | undefined): void {
    const kept = keep === undefined ? undefined : formatNode(keep);
    for (const key of [...this.#entries.keys()]) if (key !== kept) this.#drop(key);
  }

  /** Closes every connection, those still opening included; later asks reject. */
  public close(): void {
    this.#closed = true;
    for (const key of [...this.#entries.keys()]) this.#drop(key);
  }

  #connection(key: string, node: SentinelNode): Promise<NodeClient> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    const known = this.#entries.get(key);
    // A connection the node closed is not reconnected (reconnectStrategy false): open a new one.
    if (known !== undefined && known.client.isOpen) return known.connected;
    if (known !== undefined) this.#drop(key);
    const { username, password, tls, ca } = this.#login;
    const client: NodeClient = createClient({
      socket: {
        host: node.host,
        port: node.port,
        connectTimeout: this.#timeoutMs,
        reconnectStrategy: false,
        ...(tls ? { tls: true as const, ...(ca === undefined ? {} : { ca }) } : {}),
      },
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password: password.reveal() }),
      disableOfflineQueue: true,
      // Each ask has its own deadline; this only keeps a command from waiting to be written.
      commandOptions: { timeout: this.#timeoutMs },
    });
    // A failed connection is reported through the rejected connect() below.
    client.on('error', () => undefined);
    const connected = client.connect().then(() => client);
    const entry: Entry = { client, connected };
    connected.catch(() => {
      if (this.#entries.get(key) === entry) this.#drop(key);
    });
    this.#entries.set(key, entry);
    return connected;
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    // Opening or open: destroy() ends both (a client still connecting rejects its connect()).
    if (entry.client.isOpen) entry.client.destroy();
  }
}

/** A master as one sentinel names it, with the configuration epoch of that sentinel's view. */
export interface MasterAnswer extends SentinelNode {
  readonly epoch: number;
}

/** What the sentinels said, once a majority agreed or it could no longer. */
export interface PanelVerdict {
  /** The master a majority of the configured sentinels names (up, by their flags), if any. */
  readonly master: SentinelNode | undefined;
  /** How many sentinels named that master (or the most-named one, without a majority). */
  readonly votes: number;
  /** How many it takes: a majority of the configured sentinels. */
  readonly needed: number;
  /** How many answered by the time the verdict was reached. */
  readonly answered: number;
}

/** Options of {@link SentinelPanel}. */
export interface SentinelPanelOptions extends NodeLogin {
  readonly sentinels: readonly SentinelNode[];
  readonly masterName: string;
  readonly queryTimeoutMs: number;
  /** Told of a sentinel that did not answer in time, or refused. */
  readonly onSilent: (sentinel: SentinelNode, message: string) => void;
}

/**
 * The configured sentinels, asked together (`SENTINEL MASTER <name>`), each with its own deadline.
 * The verdict comes as soon as a majority of them name the same master that is up, or as soon as no
 * majority can form any more: a sentinel that hangs delays nothing once the others have agreed.
 */
export class SentinelPanel {
  readonly #options: SentinelPanelOptions;
  readonly #asker: NodeAsker;

  public constructor(options: SentinelPanelOptions) {
    this.#options = options;
    this.#asker = new NodeAsker(options, options.queryTimeoutMs);
  }

  /** How many connections to the sentinels are open or opening. */
  public get connections(): number {
    return this.#asker.connections;
  }

  public ask(): Promise<PanelVerdict> {
    const { sentinels, masterName, onSilent } = this.#options;
    const needed = sentinelMajority(sentinels.length);
    return new Promise((resolve) => {
      const votes = new Map<string, { node: SentinelNode; count: number }>();
      let answered = 0;
      let settled = 0;
      let done = false;
      const best = (): { node: SentinelNode; count: number } | undefined => {
        let top: { node: SentinelNode; count: number } | undefined;
        for (const vote of votes.values()) if (top === undefined || vote.count > top.count) top = vote;
        return top;
      };
      const finish = (master: SentinelNode | undefined): void => {
        if (done) return;
        done = true;
        resolve({ master, votes: best()?.count ?? 0, needed, answered });
      };
      for (const sentinel of sentinels) {
        this.#asker
          .ask(sentinel, ['SENTINEL', 'MASTER', masterName])
          .then(
            (reply) => {
              answered += 1;
              const answer = parseMasterReply(reply);
              if (answer === undefined) return;
              const node = { host: answer.host, port: answer.port };
              const key = formatNode(node);
              const vote = votes.get(key) ?? { node, count: 0 };
              vote.count += 1;
              votes.set(key, vote);
              if (vote.count >= needed) finish(vote.node);
            },
            (error: unknown) => {
              if (!done) onSilent(sentinel, error instanceof Error ? error.message : String(error));
            },
          )
          .finally(() => {
            settled += 1;
            // No majority left to reach: the sentinels still out could not make one.
            if ((best()?.count ?? 0) + (sentinels.length - settled) < needed) finish(undefined);
          });
      }
    });
  }

  public close(): void {
    this.#asker.close();
  }
}

/**
 * Flags of `SENTINEL MASTER` that mean the master cannot be used now. Not `disconnected`: right after
 * a failover the sentinel shows the new master so until its own link to it is up (about a second),
 * and the proxy checks the master itself (`ROLE`) before it is used.
 */
const DOWN_FLAGS = ['s_down', 'o_down'];

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

/** Whether a `ROLE` reply is a master's (`['master', offset, replicas]`). */
export function isMasterRole(reply: unknown): boolean {
  return Array.isArray(reply) && String(reply[0]) === 'master';
}
