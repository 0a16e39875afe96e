import { spawn, spawnSync } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenClient, type TokenClient } from '../../src/client/index.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis, redisConnectionState, type RedisLogger } from '../../src/redis/connect.js';
import {
  masterLoginOf,
  SentinelMasterProxy,
  type SentinelProxyEvent,
} from '../../src/redis/sentinel-proxy.js';
import type { SentinelSettings } from '../../src/redis/settings.js';
import { RedisEventPublisher } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { waitForReplica } from '../../src/store/replica-ack.js';
import type { TokenRecord } from '../../src/relay/ports/token-store.js';
import { startWorld, type World, PROMPT_LINE } from '../e2e/harness.js';
import { findLeaks } from '../helpers/secret-scan.js';
import { captureLog } from '../store/log-capture.js';
import { CommandRecorder, startRedisServer } from './redis-server.js';
import { sentinelBinary, startSentinelCluster, type SentinelCluster } from './sentinel-cluster.js';

// Redis Sentinel with real processes on 127.0.0.1: three redis-server (a master and two replicas)
// and three sentinels, deploy/redis's ACL users on every node. Failover is made fast
// (down-after-milliseconds 1000, failover-timeout 3000) and every wait is bounded.

const SENTINEL = sentinelBinary();
const SCRIPT = fileURLToPath(new URL('../../examples/python_bot.py', import.meta.url));
const keys = relayKeys({ prefix: 'otp-relay', account: 'default' });
/** The longest a failover may take here: down-after (1 s) + election and promotion, on a loaded machine. */
const FAILOVER_BOUND_MS = 15_000;

function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import redis.sentinel'], { stdio: 'ignore' }).status === 0)
      return candidate;
  }
  return undefined;
}
const PYTHON = findPython();

let cluster: SentinelCluster | undefined;
let world: World | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await world?.close();
  world = undefined;
  await cluster?.stop();
  cluster = undefined;
});

/** The relay's store and publisher on a Sentinel connection, as app.ts makes them. */
async function relaySide(c: SentinelCluster, replicaWaitMs?: number) {
  const redis = await connectRedis({
    url: new Secret(c.url('relay')),
    sentinel: { sentinels: parseNodes(c.sentinelsText), masterName: c.masterName },
    name: 'otp-relay:sentinel-test',
    signal: AbortSignal.timeout(10_000),
  });
  cleanups.push(() => (redis.isOpen ? redis.close() : Promise.resolve()));
  const store = new RedisTokenStore({ client: redis, keys, account: 'default', replicaWaitMs });
  const events = new RedisEventPublisher({ client: redis, keys });
  return {
    redis,
    store,
    async publish(token: string): Promise<TokenRecord> {
      const now = Date.now();
      const record = await store.publish({
        token: new Secret(token),
        obtainedAt: new Date(now),
        expiresAt: new Date(now + 600_000),
      });
      await events.publish({
        type: 'token.updated',
        generation: record.generation,
        expiresAt: record.expiresAt,
      });
      return record;
    },
  };
}

function parseNodes(text: string) {
  return text.split(',').map((part) => ({ host: '127.0.0.1', port: Number(part.split(':')[1]) }));
}

/** A bot's client; `ownConnections`: not sharing the running bot's (a bot process started now). */
async function botClient(c: SentinelCluster, ownConnections = false): Promise<TokenClient> {
  const client = await createTokenClient(
    {
      redisUrl: c.url('bot'),
      sentinels: c.sentinelsText,
      sentinelMaster: c.masterName,
      ...(ownConnections ? { shareConnections: false } : {}),
    },
    { signal: AbortSignal.timeout(10_000) },
  );
  cleanups.push(() => client.close());
  return client;
}

/** Runs the Python example with the cluster's Sentinel settings; resolves with its output. */
function runPython(c: SentinelCluster, args: string[], timeoutMs = 30_000) {
  const child = spawn(PYTHON!, [SCRIPT, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: c.url('bot'),
      REDIS_SENTINELS: c.sentinelsText,
      REDIS_SENTINEL_MASTER: c.masterName,
      ...(c.sentinelPasswords === undefined
        ? {}
        : { REDIS_SENTINEL_USERNAME: 'client', REDIS_SENTINEL_PASSWORD: c.sentinelPasswords.client }),
      PYTHONDONTWRITEBYTECODE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Failover times measured in this run, printed at the end (docs/operations.md#high-availability). */
const measured: Record<string, number> = {};
function measure(name: string, sinceMs: number): number {
  measured[name] = Date.now() - sinceMs;
  return measured[name];
}

describe.skipIf(SENTINEL === undefined)('Redis Sentinel: three nodes, three sentinels, ACL users', () => {
  it('a token published, the master SIGKILLed: the relay, the client library and the Python example read it from the new master', async () => {
    const c = (cluster = await startSentinelCluster());
    const relay = await relaySide(c);
    const record = await relay.publish('token-before-failover');
    // WAIT 1: a replica had it before publish() returned.
    const ack = await waitForReplica(relay.redis, 1_000);
    expect(ack.replicas).toBe(2);
    expect(ack.acknowledged).toBeGreaterThanOrEqual(1);
    const bot = await botClient(c);
    expect((await bot.waitForToken({ signal: AbortSignal.timeout(5_000) })).generation).toBe(
      record.generation,
    );

    const { port: oldPort, killedAt } = await c.killMaster();
    const newPort = await c.waitForNewMaster(oldPort, FAILOVER_BOUND_MS);
    measure('sentinels name the new master', killedAt);
    expect(newPort).not.toBe(oldPort);

    // The relay's connection follows: it reads the token on the new master.
    const read = await eventually('the relay reading the token', () => relay.store.read(), FAILOVER_BOUND_MS);
    measure('relay connection reads the token', killedAt);
    expect(read.generation).toBe(record.generation);

    // A bot started now finds the new master through the sentinels.
    const fresh = await botClient(c, true);
    expect(fresh.getToken()?.generation).toBe(record.generation);
    measure('new client library reads the token', killedAt);

    // The running bot reconnected and subscribed again on the new master: it hears a new token.
    await eventually(
      'the running bot connected again',
      async () => (bot.connected ? true : undefined),
      FAILOVER_BOUND_MS,
    );
    measure('running client library reconnected', killedAt);
    const next = await relay.publish('token-after-failover');
    const heard = await bot.waitForToken({
      minGeneration: next.generation,
      signal: AbortSignal.timeout(5_000),
    });
    expect(heard.generation).toBe(next.generation);

    if (PYTHON !== undefined) {
      const started = Date.now();
      const python = await runPython(c, ['--once']);
      expect(python.stderr).not.toContain(c.passwords.bot);
      expect({ code: python.code, out: python.stdout.trim() }).toEqual({
        code: 0,
        out: String(next.generation),
      });
      measured['python example --once after the failover'] = Date.now() - started;
    }
    console.info('sentinel failover (ms since SIGKILL):', JSON.stringify(measured));
  });

  it('the relay process keeps running through two failovers: a login waiting for its code ends in a published token with no second SMS, and a token written right before the next kill stays', async () => {
    const c = (cluster = await startSentinelCluster());
    const w = (world = await startWorld());
    const relay = w.spawnRelay({
      REDIS_URL: c.url('relay'),
      REDIS_SENTINELS: c.sentinelsText,
      REDIS_SENTINEL_MASTER: c.masterName,
      // The ACL users' keys and channels are under otp-relay: (deploy/redis/users.acl.template).
      RELAY_KEY_PREFIX: 'otp-relay',
    });
    const prompts = (operatorId: string) =>
      w.discord.dmsTo(operatorId).filter((m) => PROMPT_LINE.test(m.content));
    for (const operatorId of w.operators) {
      await w.discord.waitFor(() => prompts(operatorId).length >= 1, {
        what: 'the prompt',
        timeoutMs: 20_000,
      });
    }
    await relay.waitForLog((line) => line.msg === 'prompt messages shared');

    // 1. The master dies while the login waits for its code.
    const first = await c.killMaster();
    await c.waitForNewMaster(first.port, FAILOVER_BOUND_MS);
    await relay.waitForLog(
      (line) => line.msg === 'Redis master changed (failover); reconnecting to the new master',
    );
    // Answered once the relay is connected again: an answer that arrives while Redis is unreachable
    // is not taken (the operator is told to try again), failover or not.
    await relay.waitForLog((line) => line.msg === 'redis reconnected; checking the published token');
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    const bot = await botClient(c);
    const token = await bot.waitForToken({ signal: AbortSignal.timeout(FAILOVER_BOUND_MS) });
    // The first token of these keys: its generation is the clock's seed (no counter yet).
    expect(token.generation).toBe(Math.floor(token.obtainedAt.getTime() / 1000));
    expect(w.etna.counts.step1Calls).toBe(1);
    expect(w.etna.counts.step2Calls).toBe(1);
    for (const operatorId of w.operators) expect(prompts(operatorId)).toHaveLength(1);

    // 2. The master dies right after that token write: bots end on a generation at least the one
    // they had, and the relay never restarts.
    const second = await c.killMaster();
    await c.waitForNewMaster(second.port, FAILOVER_BOUND_MS);
    const after = await botClient(c);
    expect(after.getToken()?.generation ?? -1).toBeGreaterThanOrEqual(token.generation);
    await eventually(
      'the running bot connected again',
      async () => (bot.connected ? true : undefined),
      FAILOVER_BOUND_MS,
    );
    expect(bot.getToken()?.generation ?? -1).toBeGreaterThanOrEqual(token.generation);
    if (PYTHON !== undefined) {
      const python = await runPython(c, ['--until-generation', String(token.generation), '--timeout', '15']);
      expect({ code: python.code, out: python.stdout.trim() }).toEqual({
        code: 0,
        out: String(token.generation),
      });
    }
    expect(relay.child.exitCode).toBeNull();
    expect(w.etna.counts.step1Calls).toBe(1);
    expect(findLeaks(relay.lines, [c.passwords.relay, c.passwords.bot, w.secrets.password])).toEqual([]);
  });
});

/** The relay's Sentinel settings for `c`, logging in to the sentinels as `client` when they have users. */
function sentinelSettings(c: SentinelCluster, extra: Partial<SentinelSettings> = {}): SentinelSettings {
  return {
    sentinels: parseNodes(c.sentinelsText),
    masterName: c.masterName,
    ...(c.sentinelPasswords === undefined
      ? {}
      : { username: 'client', password: new Secret(c.sentinelPasswords.client) }),
    ...extra,
  };
}

async function relayConnection(
  c: SentinelCluster,
  extra: Partial<SentinelSettings> = {},
  logger?: RedisLogger,
) {
  const redis = await connectRedis({
    url: new Secret(c.url('relay')),
    sentinel: sentinelSettings(c, extra),
    name: 'otp-relay:sentinel-guarantees',
    logger,
    signal: AbortSignal.timeout(FAILOVER_BOUND_MS),
  });
  cleanups.push(async () => (redis.isOpen ? redis.destroy() : undefined));
  return redis;
}

/** Connections to a sentinel that are not another sentinel's, nor this query's own. */
async function foreignConnections(c: SentinelCluster, port: number): Promise<number> {
  const admin = createClient({
    socket: { host: '127.0.0.1', port, reconnectStrategy: false },
    username: 'admin',
    password: c.sentinelPasswords!.admin,
  });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const list = await admin.clientList();
    return list.filter((entry) => !entry.name.startsWith('sentinel-') && entry.cmd !== 'client|list').length;
  } finally {
    admin.destroy();
  }
}

describe.skipIf(SENTINEL === undefined)('Sentinel guarantees (issue 18, item 2)', () => {
  it('one hung sentinel (SIGSTOP) delays neither a new connection nor the failover', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    // The first one asked: a proxy that waits for every sentinel would wait for ever.
    c.sentinels[0]!.pause();
    const started = Date.now();
    const redis = await relayConnection(c);
    measure('connected with one sentinel hung', started);
    const store = new RedisTokenStore({ client: redis, keys, account: 'default' });
    const record = await store.publish({
      token: new Secret('token-one-sentinel-hung'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    });

    const { port: oldPort, killedAt } = await c.killMaster();
    await c.waitForNewMaster(oldPort, FAILOVER_BOUND_MS);
    measure('one sentinel hung: the two others name the new master', killedAt);
    const read = await eventually('the relay reading the token', () => store.read(), FAILOVER_BOUND_MS);
    measure('one sentinel hung: relay connection reads the token', killedAt);
    expect(read.generation).toBe(record.generation);
    console.info('one sentinel hung (ms):', JSON.stringify(measured));
  });

  it('asks authenticated sentinels with REDIS_SENTINEL_USERNAME/PASSWORD, finds nothing without them, and logs no password', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const events: SentinelProxyEvent[] = [];
    const anonymous = await SentinelMasterProxy.start({
      ...sentinelSettings(c),
      username: undefined,
      password: undefined,
      masterLogin: masterLoginOf(c.url('relay')),
      onEvent: (event) => events.push(event),
    });
    cleanups.push(() => anonymous.close());
    expect(await anonymous.resolveMaster()).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'sentinel-unreachable', message: expect.stringMatching(/NOAUTH/) }),
    );

    const log = captureLog();
    const redis = await relayConnection(c, {}, log.logger);
    expect(await redis.ping()).toBe('PONG');
    // The bots' client, with the same sentinel login.
    const bot = await createTokenClient(
      {
        redisUrl: c.url('bot'),
        sentinels: c.sentinelsText,
        sentinelMaster: c.masterName,
        sentinelUsername: 'client',
        sentinelPassword: c.sentinelPasswords!.client,
      },
      { signal: AbortSignal.timeout(FAILOVER_BOUND_MS) },
    );
    cleanups.push(() => bot.close());
    expect(bot.connected).toBe(true);
    if (PYTHON !== undefined) {
      // The Python example, with the same sentinel login.
      const store = new RedisTokenStore({ client: redis, keys, account: 'default' });
      const record = await store.publish({
        token: new Secret('token-for-python'),
        obtainedAt: new Date(),
        expiresAt: new Date(Date.now() + 600_000),
      });
      const python = await runPython(c, ['--once']);
      expect({ code: python.code, out: python.stdout.trim() }).toEqual({
        code: 0,
        out: String(record.generation),
      });
    }
    expect(
      findLeaks([log.text()], [c.sentinelPasswords!.client, c.sentinelPasswords!.admin, c.passwords.relay]),
    ).toEqual([]);
  });

  it('uses only a master a majority of the sentinels names: one sentinel pointed at a rogue Redis is outvoted, and the rogue never hears from the relay', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const rogue = await startRedisServer();
    cleanups.push(() => rogue.stop());
    const recorder = await CommandRecorder.start(rogue);
    cleanups.push(async () => recorder.close());
    // What an attacker on the sentinels' network did before sentinels had passwords.
    const turned = c.sentinels[0]!;
    const admin = createClient({
      socket: { host: '127.0.0.1', port: turned.port, reconnectStrategy: false },
      username: 'admin',
      password: c.sentinelPasswords!.admin,
    });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.sendCommand(['SENTINEL', 'REMOVE', c.masterName]);
      await admin.sendCommand(['SENTINEL', 'MONITOR', c.masterName, '127.0.0.1', String(rogue.port), '2']);
      const named = await admin.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', c.masterName]);
      expect(named).toEqual(['127.0.0.1', String(rogue.port)]);
    } finally {
      admin.destroy();
    }

    const redis = await relayConnection(c);
    const store = new RedisTokenStore({ client: redis, keys, account: 'default' });
    await store.publish({
      token: new Secret('token-not-for-the-rogue'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    });
    // Everything the rogue received so far is recorded once a marker sent after it shows.
    const marker = createClient({ url: rogue.url });
    marker.on('error', () => undefined);
    await marker.connect();
    await marker.echo('end-of-test');
    marker.destroy();
    await recorder.waitForLine((line) => line.includes('end-of-test'));
    const commands = recorder.commands().map((entry) => entry.words.join(' ').toUpperCase());
    // The turned sentinel itself talks to the rogue (PING, INFO): never AUTH, never the token.
    expect(
      commands.filter((command) => command.startsWith('AUTH') || command.includes('TOKEN-NOT-FOR')),
    ).toEqual([]);
    expect(commands.some((command) => command.startsWith('INFO') || command.startsWith('PING'))).toBe(true);
  });

  it('refuses a master the sentinels still name but that answers ROLE as a replica', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const events: SentinelProxyEvent[] = [];
    const proxy = await SentinelMasterProxy.start({
      ...sentinelSettings(c),
      masterLogin: masterLoginOf(c.url('relay')),
      onEvent: (event) => events.push(event),
    });
    cleanups.push(() => proxy.close());
    const masterPort = await c.masterPort();
    expect(await proxy.resolveMaster()).toEqual({ host: '127.0.0.1', port: masterPort });

    // Demoted behind the sentinels' back (they notice within seconds; the proxy asks right away).
    const replicaPort = c.nodes.find((node) => node.port !== masterPort)!.port;
    const node = createClient({
      socket: { host: '127.0.0.1', port: masterPort, reconnectStrategy: false },
      username: 'sentinel',
      password: c.passwords.sentinel,
    });
    node.on('error', () => undefined);
    await node.connect();
    try {
      await node.sendCommand(['REPLICAOF', '127.0.0.1', String(replicaPort)]);
    } finally {
      node.destroy();
    }
    expect(await proxy.resolveMaster()).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'not-master', master: { host: '127.0.0.1', port: masterPort } }),
    );
  });

  it('fails closed: no majority for longer than the bound cuts every connection (no write reaches the master), says so in the log and the connection state, and comes back with the sentinels', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const log = captureLog();
    const redis = await relayConnection(c, { failClosedAfterMs: 1_000, queryTimeoutMs: 300 }, log.logger);
    await redis.set('otp-relay:fail-closed', 'before');
    expect(redisConnectionState(redis)).toBe('connected');

    // Two of three sentinels hung: the relay cannot tell whether its master is the majority's.
    c.sentinels[1]!.pause();
    c.sentinels[2]!.pause();
    const pausedAt = Date.now();
    await eventually(
      'the proxy to fail closed',
      async () => (redisConnectionState(redis) === 'no-sentinel-majority' ? true : undefined),
      FAILOVER_BOUND_MS,
    );
    measure('failed closed after the majority went silent', pausedAt);
    await expect(redis.set('otp-relay:fail-closed', 'during')).rejects.toThrow();
    expect(log.lines()).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/fail closed/) }),
    );
    const direct = createClient({ url: c.nodeUrl('relay', await c.masterPort()) });
    direct.on('error', () => undefined);
    await direct.connect();
    cleanups.push(async () => direct.destroy());
    expect(await direct.get('otp-relay:fail-closed')).toBe('before');

    c.sentinels[1]!.resume();
    c.sentinels[2]!.resume();
    await eventually(
      'the relay connected again',
      async () => (redisConnectionState(redis) === 'connected' ? true : undefined),
      FAILOVER_BOUND_MS,
    );
    await redis.set('otp-relay:fail-closed', 'after');
    expect(await direct.get('otp-relay:fail-closed')).toBe('after');
    console.info('fail closed (ms):', JSON.stringify(measured));
  });

  it('talks TLS to the sentinels (REDIS_SENTINEL_TLS) and to the master (rediss://), checking the certificates', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true, tls: true }));
    const redis = await relayConnection(c, { tls: true, ca: c.tls!.ca });
    const store = new RedisTokenStore({ client: redis, keys, account: 'default' });
    const record = await store.publish({
      token: new Secret('token-over-tls'),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 600_000),
    });
    expect((await store.read())?.generation).toBe(record.generation);

    // Certificates signed by another CA (Node's own list, here) are refused, sentinels and master alike.
    const events: SentinelProxyEvent[] = [];
    const untrusting = await SentinelMasterProxy.start({
      ...sentinelSettings(c, { tls: true }),
      masterLogin: masterLoginOf(c.url('relay')),
      onEvent: (event) => events.push(event),
    });
    cleanups.push(() => untrusting.close());
    expect(await untrusting.resolveMaster()).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'sentinel-unreachable',
        message: expect.stringMatching(/certificate/i),
      }),
    );
  });

  it('min-replicas-to-write: a master without a replica refuses the token write (no write a failover would lose)', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true, minReplicasToWrite: 1 }));
    const redis = await relayConnection(c);
    const store = new RedisTokenStore({ client: redis, keys, account: 'default' });
    const publish = () =>
      store.publish({
        token: new Secret('token-needs-a-replica'),
        obtainedAt: new Date(),
        expiresAt: new Date(Date.now() + 600_000),
      });
    await publish();
    const masterPort = await c.masterPort();
    for (const node of c.nodes) if (node.port !== masterPort) await node.kill('SIGKILL');
    await expect(
      eventually(
        'the master to refuse writes',
        () =>
          publish().then(
            () => undefined,
            (error: unknown) => error,
          ),
        FAILOVER_BOUND_MS,
      ),
    ).resolves.toMatchObject({ message: expect.stringMatching(/NOREPLICAS/) });
  });

  it('leaves no sentinel connection behind: ten connections at once, then close()', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const baseline = await Promise.all(c.sentinels.map((s) => foreignConnections(c, s.port)));
    const proxy = await SentinelMasterProxy.start({
      ...sentinelSettings(c),
      masterLogin: masterLoginOf(c.url('relay')),
    });
    const sockets = Array.from({ length: 10 }, () => connectTcp(proxy.port, '127.0.0.1'));
    for (const socket of sockets) socket.on('error', () => undefined);
    await eventually(
      'the proxy to ask the sentinels',
      async () => (proxy.master === undefined ? undefined : true),
      FAILOVER_BOUND_MS,
    );
    await proxy.close();
    for (const socket of sockets) socket.destroy();
    await eventually(
      'the sentinels to see the proxy gone',
      async () => {
        const now = await Promise.all(c.sentinels.map((s) => foreignConnections(c, s.port)));
        return now.every((count, index) => count <= baseline[index]!) ? true : undefined;
      },
      FAILOVER_BOUND_MS,
    );
  });

  it('a bot process exits by itself after tokens.close()', async () => {
    const c = (cluster = await startSentinelCluster({ sentinelAuth: true }));
    const client = fileURLToPath(new URL('../../dist/client/index.js', import.meta.url));
    const script = `
      const { createTokenClient } = await import(${JSON.stringify(client)});
      const tokens = await createTokenClient(JSON.parse(process.env.OPTIONS), { signal: AbortSignal.timeout(15000) });
      await tokens.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        OPTIONS: JSON.stringify({
          redisUrl: c.url('bot'),
          sentinels: c.sentinelsText,
          sentinelMaster: c.masterName,
          sentinelUsername: 'client',
          sentinelPassword: c.sentinelPasswords!.client,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'closed' });
  });
});
