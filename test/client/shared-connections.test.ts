import { once } from 'node:events';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenClient, type TokenClientOptions } from '../../src/client/index.js';
import { expiryAlarms } from '../../src/client/expiry-alarms.js';
import { sharedLinkCount } from '../../src/client/link-pool.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import {
  ACCOUNT,
  clientTestBed,
  connectionIds,
  nextChange,
  recordingLogger,
  relaySide,
  uniqueConnectionName,
  type RelaySide,
} from './support.js';

/**
 * The default: the TokenClients of a process with the same connection settings and account share
 * one command and one subscriber connection, and the clients that hear an event share one GET.
 */
describe('TokenClient connection sharing', () => {
  const bed = clientTestBed('client-shared');
  const { clients, startClient } = bed;

  async function startClients(count: number, options: TokenClientOptions = {}): Promise<TokenClient[]> {
    return Promise.all(Array.from({ length: count }, () => startClient(options)));
  }

  const ids = () => connectionIds(bed.plain, bed.connectionName);

  it('shares one command and one subscriber connection among the clients of the same settings', async () => {
    const record = await bed.relay.storeToken('bearer-shared-start');
    const before = sharedLinkCount();
    const group = await startClients(5);

    expect(await ids()).toEqual({ command: [expect.any(String)], subscriber: [expect.any(String)] });
    expect(sharedLinkCount()).toBe(before + 1);
    for (const client of group) {
      expect(client.getToken()?.generation).toBe(record.generation);
      expect(client.connected).toBe(true);
    }
    // One parsed token for all: the same object (it is frozen and holds the token privately).
    expect(new Set(group.map((client) => client.getToken())).size).toBe(1);

    const next = await bed.relay.publishToken('bearer-shared-next');
    for (const client of group) {
      expect((await client.waitForToken({ minGeneration: next.generation })).token).toBe(
        'bearer-shared-next',
      );
    }
    expect(await bed.plain.publish(bed.relay.keys.events, '{"type":"login.started","reason":"count"}')).toBe(
      1,
    );
  });

  it('keeps the connections for the others when one closes, and closes them with the last', async () => {
    const [first, second] = await startClients(2);
    const connections = await ids();

    const firstChanges: unknown[] = [];
    first!.onTokenChange((token) => firstChanges.push(token));
    await first!.close();
    expect(first!.connected).toBe(false);
    expect(await ids()).toEqual(connections);
    expect(second!.connected).toBe(true);

    // The one left hears events and reads on the same connections; the closed one hears nothing.
    const next = await bed.relay.publishToken('bearer-after-first-closed');
    expect((await second!.waitForToken({ minGeneration: next.generation })).token).toBe(
      'bearer-after-first-closed',
    );
    expect(first!.getToken()).toBeUndefined();
    expect(firstChanges).toEqual([]);
    await expect(second!.reportRejected(next.generation)).resolves.toBe(0);

    const before = sharedLinkCount();
    await second!.close();
    expect(sharedLinkCount()).toBe(before - 1);
    expect(await ids()).toEqual({ command: [], subscriber: [] });
    expect(await bed.plain.publish(bed.relay.keys.events, '{"type":"login.started","reason":"x"}')).toBe(0);

    // A client started after the last one closed opens new connections.
    const third = await startClient();
    const reopened = await ids();
    expect(reopened.command).toHaveLength(1);
    expect(reopened.command).not.toEqual(connections.command);
    expect(third.getToken()?.generation).toBe(next.generation);
  });

  it('re-reads for every client after the shared connections reconnect', async () => {
    const group = await startClients(3);
    const connections = await ids();
    for (const id of [...connections.command, ...connections.subscriber]) {
      await bed.plain.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    }
    // Published while the link reconnects: its subscriber is likely not listening yet.
    const missed = await bed.relay.publishToken('bearer-during-reconnect');
    for (const client of group) {
      const info = await client.waitForToken({
        minGeneration: missed.generation,
        signal: AbortSignal.timeout(10_000),
      });
      expect(info.token).toBe('bearer-during-reconnect');
    }
    // One warning for the outage of each connection, although three clients log to this logger.
    const lost = bed.log.lines.filter((line) => line.message === 'Redis connection lost; reconnecting');
    expect(lost.map((line) => line.fields.connection).sort()).toEqual(['command', 'subscriber']);
  });

  it('sends one GET per event for all the clients that hear it', async () => {
    const monitor = bed.plain.duplicate();
    monitor.on('error', () => undefined);
    await monitor.connect();
    const gets = { shared: 0, unshared: 0 };
    let counting: keyof typeof gets | undefined;
    const getLine = `"GET" "${bed.relay.keys.token}"`;
    await monitor.monitor((line) => {
      // Lines from inside a script (the relay's write) are `[0 lua]`: only clients' GETs count.
      if (counting !== undefined && line.includes(getLine) && !/\[\d+ lua\]/.test(line)) {
        gets[counting] += 1;
      }
    });
    try {
      for (const kind of ['shared', 'unshared'] as const) {
        bed.connectionName = uniqueConnectionName();
        const group = await startClients(20, { shareConnections: kind === 'shared' });
        // Reads of the start (each connection's first "ready" reads once) are over before counting.
        await new Promise((resolve) => setTimeout(resolve, 300));
        counting = kind;
        const next = await bed.relay.publishToken(`bearer-one-get-${kind}`);
        await Promise.all(group.map((client) => client.waitForToken({ minGeneration: next.generation })));
        // MONITOR lines arrive on their own connection: wait until Redis has sent them.
        await vi.waitFor(() => expect(gets[kind]).toBeGreaterThan(0), { timeout: 5_000, interval: 20 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        counting = undefined;
        // Closed, so that the next group's event makes no GET of theirs.
        await Promise.all(clients.splice(0).map((client) => client.close()));
      }
    } finally {
      await monitor.close();
    }
    // Without the sharing, each client reads the key for itself (at least once): what the shared
    // read saves.
    expect(gets.shared).toBe(1);
    expect(gets.unshared).toBeGreaterThanOrEqual(20);
  });

  it('does not share between different accounts, connection names, or with shareConnections: false', async () => {
    await startClients(2, { shareConnections: false });
    expect(await ids()).toMatchObject({ command: { length: 2 }, subscriber: { length: 2 } });

    await startClient({ account: 'other' });
    await startClient();
    expect(await ids()).toMatchObject({ command: { length: 4 }, subscriber: { length: 4 } });

    const otherName = uniqueConnectionName();
    await startClient({ connectionName: otherName });
    expect(await connectionIds(bed.plain, otherName)).toMatchObject({
      command: { length: 1 },
      subscriber: { length: 1 },
    });
  });

  it('clients given the same client share one subscriber connection, and leave that client open', async () => {
    const record = await bed.relay.storeToken('bearer-given');
    const given = bed.plain.duplicate({ name: bed.connectionName });
    given.on('error', () => undefined);
    await given.connect();
    try {
      const group = await startClients(3, { client: given, redisUrl: undefined });
      expect(await ids()).toMatchObject({ command: { length: 1 }, subscriber: { length: 1 } });
      for (const client of group) expect(client.getToken()?.generation).toBe(record.generation);
      await Promise.all(group.map((client) => client.close()));
      expect(given.isReady).toBe(true);
      expect((await ids()).subscriber).toEqual([]);
    } finally {
      await given.close();
    }
  });

  it('a start given up (aborted, or closed) leaves the other clients and their connections alone', async () => {
    const record = await bed.relay.storeToken('bearer-stays');
    const running = await startClient();
    const connections = await ids();

    const aborted = new TokenClient({
      redisUrl: TEST_REDIS_URL,
      prefix: bed.relay.prefix,
      connectionName: bed.connectionName,
    });
    await expect(aborted.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    const closing = new TokenClient({
      redisUrl: TEST_REDIS_URL,
      prefix: bed.relay.prefix,
      connectionName: bed.connectionName,
    });
    const starting = closing.start();
    await closing.close();
    await starting.catch(() => undefined);

    expect(await ids()).toEqual(connections);
    expect(running.getToken()?.generation).toBe(record.generation);
    const next = await bed.relay.publishToken('bearer-still-heard');
    expect((await running.waitForToken({ minGeneration: next.generation })).token).toBe('bearer-still-heard');
  });

  it('a client started while the shared connections reconnect joins once they are back', async () => {
    await startClient();
    const connections = await ids();
    for (const id of [...connections.command, ...connections.subscriber]) {
      await bed.plain.sendCommand(['CLIENT', 'KILL', 'ID', id]);
    }
    const record = await bed.relay.storeToken('bearer-joined');
    const late = await startClient();
    expect(late.connected).toBe(true);
    expect(late.getToken()?.generation).toBe(record.generation);
  });

  it('arms one expiry timer for all the clients that hold the same token', async () => {
    const group = await startClients(10);
    const timersBefore = expiryAlarms.timers;
    const arrived = Promise.all(group.map((client) => nextChange(client, (token) => token !== undefined)));
    await bed.relay.publishToken('bearer-one-timer', 1_000);
    await arrived;
    expect(expiryAlarms.timers).toBe(timersBefore + 1);

    // …which drops it from every one of them.
    await Promise.all(group.map((client) => nextChange(client, (token) => token === undefined)));
    for (const client of group) expect(client.getToken()).toBeUndefined();
    expect(expiryAlarms.timers).toBe(timersBefore);
  });
});

/** One connection through a {@link FreezableProxy}. */
interface ProxiedConnection {
  /** Holds back what the client sends (buffered, as a stalled network holds it), until thawed. */
  freeze(): void;
  thaw(): void;
}

/**
 * A TCP forwarder to the test Redis whose connections can be frozen: a frozen one passes nothing
 * on while the connection stays up, as a stalled network would; thawed, it passes on what it held.
 */
class FreezableProxy {
  readonly #server: Server;
  readonly #sockets: Socket[] = [];
  readonly connections: ProxiedConnection[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: URL): Promise<FreezableProxy> {
    const server = createServer();
    const proxy = new FreezableProxy(server);
    server.on('connection', (downstream) => {
      const upstream = connectTcp(Number(target.port || 6379), target.hostname);
      proxy.connections.push({ freeze: () => downstream.pause(), thaw: () => downstream.resume() });
      proxy.#sockets.push(downstream, upstream);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
      for (const [a, b] of [
        [downstream, upstream],
        [upstream, downstream],
      ] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    return `redis://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('TokenClient read time-out', () => {
  let relay: RelaySide;
  let proxy: FreezableProxy;
  const clients: TokenClient[] = [];

  beforeEach(async () => {
    relay = await relaySide('client-read-timeout');
    proxy = await FreezableProxy.start(new URL(TEST_REDIS_URL));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await proxy.close();
    await relay.cleanup();
  });

  it('fails a read that gets no answer within commandTimeoutMs, and retries it', async () => {
    const log = recordingLogger();
    const client = new TokenClient({
      redisUrl: proxy.url,
      prefix: relay.prefix,
      account: ACCOUNT,
      logger: log,
      connectionName: uniqueConnectionName(),
      commandTimeoutMs: 200,
      reconnectMaxDelayMs: 300,
    });
    clients.push(client);
    await client.start({ signal: AbortSignal.timeout(10_000) });
    // The command connection opens first, the subscriber (its duplicate) second.
    expect(proxy.connections).toHaveLength(2);
    const command = proxy.connections[0]!;

    command.freeze();
    const next = await relay.publishToken('bearer-after-freeze');
    await vi.waitFor(
      () =>
        expect(log.lines).toContainEqual(
          expect.objectContaining({
            message: 'Reading the token failed; retrying',
            fields: expect.objectContaining({ error: 'TimeoutError' }),
          }),
        ),
      { timeout: 5_000, interval: 20 },
    );
    expect(client.getToken()).toBeUndefined();

    command.thaw();
    const info = await client.waitForToken({ minGeneration: next.generation, timeoutMs: 10_000 });
    expect(info.token).toBe('bearer-after-freeze');
  });
});
