/**
 * Benchmark 3, "fan-out": N subscribers in this process; the time from the token write (the
 * relay's own store, as the relay configures it: one script takes the generation, writes the token
 * and PUBLISHes `token.updated`) until each subscriber holds the new token.
 *
 * Kinds of subscriber:
 * - `default`: `createTokenClient({ redisUrl })` with the library's defaults: the clients of the
 *   process share one command and one subscriber connection (`shareConnections`), each event is
 *   parsed once, and the clients that hear it share one GET;
 * - `provided`: `createTokenClient({ client })`, all given one application connection; they share
 *   its one `duplicate()` for the subscription, as the defaults share theirs;
 * - `unshared`: `createTokenClient({ redisUrl, shareConnections: false })`, each with connections
 *   of its own (command + subscriber), the default before sharing;
 * - `bare`: no library, the floor of one process holding 2,000 connections: a node-redis command
 *   connection and a subscriber connection each, and on `token.updated` one GET + JSON.parse;
 * - `processes`: as `default`, spread over `processes` child processes (bench/fan-out-worker.ts),
 *   as bots live in processes of their own (each process shares its connections among its
 *   clients); arrivals on the machine-wide monotonic clock.
 *
 * `own` and `shared` are the former names of `default` and `provided`.
 */
import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { createTokenClient, type TokenClient } from '../src/client/index.js';
import { Secret } from '../src/shared/secret.js';
import { relayKeys } from '../src/contract/keys.js';
import { RedisTokenStore } from '../src/store/redis-token-store.js';
import type { RelayKeys } from '../src/relay/ports/token-store.js';
import { benchScript, sleep, spawnNode, type Child } from './lib/child.js';
import { BENCH_REDIS_URL, benchPrefix, connectBenchRedis, deletePrefix } from './lib/redis.js';
import { summarize, type Summary } from './lib/stats.js';

export type FanOutKind = 'default' | 'provided' | 'unshared' | 'bare' | 'processes';

export interface FanOutOptions {
  clients: number;
  kind: FanOutKind;
  /** Child processes for the `processes` kind. */
  processes?: number;
  warmupRounds: number;
  rounds: number;
  /** Quiet time between rounds. */
  gapMs: number;
  /** Called once every client is started, before the rounds (e.g. to start a CPU profile). */
  onRoundsStart?: () => Promise<void>;
  onRoundsEnd?: () => Promise<void>;
}

export interface FanOutResult {
  readonly kind: FanOutKind;
  readonly clients: number;
  /** Per-client arrival (ms after the write started), every client of every timed round. */
  readonly arrival: Summary;
  /** Per round, the last client's arrival: "until every one holds it". */
  readonly lastArrival: Summary;
  /** Time to start all the clients. */
  readonly startMs: number;
  /** Redis connections the clients hold (CLIENT LIST). */
  readonly redisConnections: number;
}

const CONNECTION_NAME = 'bench-fanout';

/** One subscriber: calls `arrived(generation)` when it holds a token; closes its connections. */
interface Subscriber {
  close(): Promise<void>;
}

type SubscriberFactory = (keys: RelayKeys, arrived: (generation: number) => void) => Promise<Subscriber>;

function factory(
  kind: Exclude<FanOutKind, 'processes'>,
  prefix: string,
  account: string,
  provided: RedisClientType | undefined,
): SubscriberFactory {
  const library: SubscriberFactory = async (_keys, arrived) => {
    const common = { prefix, account, connectionName: CONNECTION_NAME };
    const client: TokenClient = await createTokenClient(
      kind === 'provided'
        ? { ...common, client: provided }
        : kind === 'unshared'
          ? { ...common, redisUrl: BENCH_REDIS_URL, shareConnections: false }
          : { ...common, redisUrl: BENCH_REDIS_URL },
    );
    client.onTokenChange((token) => {
      if (token !== undefined) arrived(token.generation);
    });
    return client;
  };
  const bare: SubscriberFactory = async (keys, arrived) => {
    const command = createClient({ url: BENCH_REDIS_URL, name: CONNECTION_NAME });
    command.on('error', () => undefined);
    await command.connect();
    const subscriber = command.duplicate({ name: `${CONNECTION_NAME}:subscriber` });
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    await subscriber.subscribe(keys.events, (message) => {
      const event = JSON.parse(message) as { type: string };
      if (event.type !== 'token.updated') return;
      void command.get(keys.token).then((raw) => {
        const envelope = JSON.parse(raw ?? 'null') as { value: { generation: number } } | null;
        if (envelope !== null) arrived(envelope.value.generation);
      });
    });
    return {
      async close() {
        await subscriber.close();
        await command.close();
      },
    };
  };
  return kind === 'bare' ? bare : library;
}

export async function benchFanOut(options: FanOutOptions): Promise<FanOutResult> {
  const kind = options.kind;
  if (kind === 'processes') return benchFanOutProcesses(options);
  const prefix = benchPrefix('fanout');
  const account = 'default';
  const keys = relayKeys({ prefix, account });
  const redis = await connectBenchRedis();
  // As the relay writes it: the write script also publishes token.updated.
  const store = new RedisTokenStore({ client: redis, keys, account, announceUpdates: true });
  const provided: RedisClientType | undefined =
    kind === 'provided' ? createClient({ url: BENCH_REDIS_URL, name: CONNECTION_NAME }) : undefined;
  provided?.on('error', () => undefined);
  const subscribers: Subscriber[] = [];
  const arrivals = new Float64Array(options.clients);
  let expected = Number.POSITIVE_INFINITY;
  let arrived = 0;
  let allArrived: (() => void) | undefined;

  const publish = async (): Promise<{ startedAt: number; generation: number }> => {
    const now = Date.now();
    const startedAt = performance.now();
    const record = await store.publish({
      token: new Secret(`final-${randomBytes(32).toString('base64url')}`),
      obtainedAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
    });
    return { startedAt, generation: record.generation };
  };

  try {
    await publish();
    if (provided !== undefined) await provided.connect();
    const create = factory(kind, prefix, account, provided);
    const startStarted = performance.now();
    // A few dozen at a time: 2,000 connects at once would only queue in the kernel.
    const batchSize = 50;
    for (let first = 0; first < options.clients; first += batchSize) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(batchSize, options.clients - first) }, (_, offset) => {
          const index = first + offset;
          return create(keys, (generation) => {
            if (generation !== expected || !Number.isNaN(arrivals[index]!)) return;
            arrivals[index] = performance.now();
            arrived += 1;
            if (arrived === options.clients) allArrived?.();
          });
        }),
      );
      subscribers.push(...batch);
    }
    const startMs = performance.now() - startStarted;
    const redisConnections = await countConnections(redis);

    await options.onRoundsStart?.();
    const perClient: number[] = [];
    const last: number[] = [];
    for (let round = 0; round < options.warmupRounds + options.rounds; round += 1) {
      await sleep(options.gapMs);
      arrived = 0;
      arrivals.fill(Number.NaN);
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${arrived} of ${options.clients} clients got the token in 15 s`)),
          15_000,
        );
        allArrived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      // The generation is known only once INCR answered; the counter is this run's own.
      expected = Number(await redis.get(keys.generation)) + 1;
      const { startedAt, generation } = await publish();
      if (generation !== expected) throw new Error('another writer touched this run’s generation counter');
      await done;
      if (round < options.warmupRounds) continue;
      let roundMax = 0;
      for (const at of arrivals) {
        perClient.push(at - startedAt);
        roundMax = Math.max(roundMax, at - startedAt);
      }
      last.push(roundMax);
    }
    await options.onRoundsEnd?.();
    return {
      kind,
      clients: options.clients,
      arrival: summarize(perClient),
      lastArrival: summarize(last),
      startMs,
      redisConnections,
    };
  } finally {
    for (let first = 0; first < subscribers.length; first += 100) {
      await Promise.allSettled(subscribers.slice(first, first + 100).map((subscriber) => subscriber.close()));
    }
    if (provided?.isOpen === true) await provided.close();
    await redis.close();
    await deletePrefix(prefix);
  }
}

/** The `processes` kind: the clients live in child processes; this process only writes. */
async function benchFanOutProcesses(options: FanOutOptions): Promise<FanOutResult> {
  const processes = options.processes ?? 2;
  const prefix = benchPrefix('fanout');
  const account = 'default';
  const keys = relayKeys({ prefix, account });
  const redis = await connectBenchRedis();
  // As the relay writes it: the write script also publishes token.updated.
  const store = new RedisTokenStore({ client: redis, keys, account, announceUpdates: true });
  const workers: Child[] = [];
  const publish = async (): Promise<number> => {
    const now = Date.now();
    const record = await store.publish({
      token: new Secret(`final-${randomBytes(32).toString('base64url')}`),
      obtainedAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
    });
    return record.generation;
  };
  try {
    await publish();
    const startStarted = performance.now();
    for (let index = 0; index < processes; index += 1) {
      const share = Math.floor(options.clients / processes) + (index < options.clients % processes ? 1 : 0);
      workers.push(
        spawnNode(benchScript('fan-out-worker'), {
          env: {
            PATH: process.env.PATH ?? '',
            REDIS_URL: BENCH_REDIS_URL,
            RELAY_KEY_PREFIX: prefix,
            RELAY_ACCOUNT: account,
            BENCH_CLIENTS: String(share),
          },
          ipc: true,
        }),
      );
    }
    await Promise.all(
      workers.map((worker) => worker.waitForMessage<{ type: string }>((m) => m.type === 'ready', 60_000)),
    );
    const startMs = performance.now() - startStarted;
    const redisConnections = await countConnections(redis);
    const perClient: number[] = [];
    const last: number[] = [];
    for (let round = 0; round < options.warmupRounds + options.rounds; round += 1) {
      await sleep(options.gapMs);
      const expected = Number(await redis.get(keys.generation)) + 1;
      await Promise.all(
        workers.map((worker) => {
          const ready = worker.waitForMessage<{ type: string; generation: number }>(
            (m) => m.type === 'expecting' && m.generation === expected,
          );
          worker.send({ type: 'expect', generation: expected });
          return ready;
        }),
      );
      const reports = Promise.all(
        workers.map((worker) =>
          worker.waitForMessage<{ type: string; generation: number; at: string[] }>(
            (m) => m.type === 'arrived' && m.generation === expected,
            15_000,
          ),
        ),
      );
      const startedAt = process.hrtime.bigint();
      const generation = await publish();
      if (generation !== expected) throw new Error('another writer touched this run’s generation counter');
      const arrivedAt = (await reports).flatMap((report) => report.at.map(BigInt));
      if (round < options.warmupRounds) continue;
      let roundMax = 0;
      for (const at of arrivedAt) {
        const latencyMs = Number(at - startedAt) / 1e6;
        perClient.push(latencyMs);
        roundMax = Math.max(roundMax, latencyMs);
      }
      last.push(roundMax);
    }
    return {
      kind: 'processes',
      clients: options.clients,
      arrival: summarize(perClient),
      lastArrival: summarize(last),
      startMs,
      redisConnections,
    };
  } finally {
    await Promise.allSettled(
      workers.map(async (worker) => {
        if (worker.process.connected) worker.send({ type: 'stop' });
        await Promise.race([worker.exited, sleep(10_000)]);
        await worker.stop(1_000);
      }),
    );
    await redis.close();
    await deletePrefix(prefix);
  }
}

/** Connections the subscribers hold, by their names (CLIENT LIST). */
async function countConnections(redis: RedisClientType): Promise<number> {
  const list = await redis.clientList();
  return list.filter(
    (client) => client.name === CONNECTION_NAME || client.name === `${CONNECTION_NAME}:subscriber`,
  ).length;
}
