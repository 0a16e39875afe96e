import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenClient, type TokenClient } from '../../src/client/index.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis } from '../../src/redis/connect.js';
import { RedisEventPublisher } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { waitForReplica } from '../../src/store/replica-ack.js';
import type { TokenRecord } from '../../src/relay/ports/token-store.js';
import { startWorld, type World, PROMPT_LINE } from '../e2e/harness.js';
import { findLeaks } from '../helpers/secret-scan.js';
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
