/**
 * Benchmark 4, "memory": RSS of the relay idle and after 1,000 logins, against a bare discord.js
 * client logged into the same emulator. Both children run with --expose-gc. Idle, each is measured
 * twice: first as a user sees it (no collection forced, after `idleMs` of quiet), then after forced
 * full collections; the figures after logins are taken after forced collections.
 *
 * MAX_LOGINS_PER_HOUR caps logins at 60 an hour (and discord.js at 50 REST calls a second), so
 * 1,000 logins cannot go through `node dist/main.js`. They go through the same composition
 * (`startRelay` with the real Discord channel, Redis store and undici broker) in bench/relay-host.ts,
 * with those two guards lifted, and are driven through the public interface only: a bot's
 * `token.rejected` after the token is revoked at the broker, and the operator's DM reply.
 */
import { benchScript, sleep, spawnNode, type Child } from './lib/child.js';
import type { MeasureRequest, MemorySample } from './lib/memory-probe.js';
import { benchPrefix, deletePrefix } from './lib/redis.js';
import { EventWatch, LoginDriver, publishValidToken, startBenchWorld } from './lib/world.js';

export interface MemoryOptions {
  logins: number;
  /** Login counts at which the relay is measured on the way (the last is `logins`). */
  checkpoints: readonly number[];
  /** The longest wait, at each measurement, for V8 to give back its young generation (lib/memory-probe.ts). */
  settleMaxMs: number;
  /**
   * Idle processes of each kind measured side by side; the median is compared. RSS differs by some
   * 10 MB from one process to the next (how much memory start-up touched), so one of each is a coin
   * toss at a 1.3× target.
   */
  idleInstances: number;
  /**
   * How long the idle processes sit quiet, once all are ready, before they are measured as they are
   * (no collection forced): what `ps` shows of a relay idle for a while. Default 5,000 ms.
   */
  idleMs?: number;
}

export interface MemoryResult {
  /** The bare client of median RSS, idle, after forced collections. */
  readonly bare: MemorySample;
  /** The relay of median RSS, idle (started with a valid token published: no login), after forced collections. */
  readonly relayIdle: MemorySample;
  readonly bareIdleRss: readonly number[];
  readonly relayIdleRss: readonly number[];
  /** The bare client of median RSS, idle, as a user sees it: no collection forced, after `idleMs` of quiet. */
  readonly bareNoGc: MemorySample;
  /** The relay of median RSS, idle, as a user sees it (same moment as {@link bareNoGc}). */
  readonly relayIdleNoGc: MemorySample;
  readonly bareIdleRssNoGc: readonly number[];
  readonly relayIdleRssNoGc: readonly number[];
  /** How long the idle processes had been quiet when measured without forced collections (ms). */
  readonly idleMs: number;
  /** The relay that then logs in, idle, before its first login. */
  readonly loginRelayIdle: MemorySample;
  /** That relay after `logins` logins (and at each checkpoint on the way). */
  readonly relayAt: readonly { readonly logins: number; readonly sample: MemorySample }[];
  readonly logins: number;
  readonly loginsPerSecond: number;
}

/** BENCH_MEMORY_NODE_ARGS: extra node options for both children (e.g. `--max-semi-space-size=2`). */
export const NODE_ARGS = [
  '--expose-gc',
  ...(process.env.BENCH_MEMORY_NODE_ARGS ?? '').split(' ').filter(Boolean),
];

export async function measure(child: Child, settleMaxMs: number, forceGc = true): Promise<MemorySample> {
  const answer = child.waitForMessage<MemorySample>(
    (message) => message.type === 'memory',
    settleMaxMs + 30_000,
  );
  child.send({ type: 'measure', settleMaxMs, forceGc } satisfies MeasureRequest);
  return answer;
}

export async function stopChild(child: Child): Promise<void> {
  if (child.process.connected) child.send({ type: 'stop' });
  await Promise.race([child.exited, sleep(10_000)]);
  await child.stop(1_000);
}

export function medianSample(samples: readonly MemorySample[]): MemorySample {
  return [...samples].sort((a, b) => a.rss - b.rss)[Math.floor((samples.length - 1) / 2)]!;
}

export async function benchMemory(options: MemoryOptions): Promise<MemoryResult> {
  const world = await startBenchWorld('memory');
  const children: Child[] = [];
  const idlePrefixes: string[] = [];
  let watch: EventWatch | undefined;
  let driver: LoginDriver | undefined;
  try {
    // All idle side by side (a relay that keeps its token sends nothing through Discord, so the bare
    // clients see no traffic), which makes one wait for V8 to settle instead of many. Relay 0 is the
    // world's, and later logs in; the others have prefixes (and valid tokens) of their own.
    const bares = Array.from({ length: options.idleInstances }, () =>
      spawnNode(benchScript('bare-discord'), { env: world.env(), nodeArgs: NODE_ARGS, ipc: true }),
    );
    children.push(...bares);
    const generation = await publishValidToken(world);
    const relays: Child[] = [];
    for (let index = 0; index < options.idleInstances; index += 1) {
      const prefix = index === 0 ? world.prefix : benchPrefix('memory-idle');
      if (index > 0) {
        idlePrefixes.push(prefix);
        await publishValidToken(world, prefix);
      }
      relays.push(
        spawnNode(benchScript('relay-host'), {
          env: world.env({ RELAY_KEY_PREFIX: prefix }),
          nodeArgs: NODE_ARGS,
          ipc: true,
        }),
      );
    }
    children.push(...relays);
    await Promise.all([
      ...bares.map((bare) => bare.waitForMessage<{ type: string }>((message) => message.type === 'ready')),
      ...relays.map((relay) => relay.waitForLine((line) => line.msg === 'published token kept')),
    ]);
    // As a user sees it first: a forced collection would change what there is to see.
    const idleMs = options.idleMs ?? 5_000;
    await sleep(idleMs);
    const idleNoGc = await Promise.all([...bares, ...relays].map((child) => measure(child, 0, false)));
    const bareIdleNoGc = idleNoGc.slice(0, bares.length);
    const relayIdleNoGc = idleNoGc.slice(bares.length);
    const idle = await Promise.all([...bares, ...relays].map((child) => measure(child, options.settleMaxMs)));
    const bareIdle = idle.slice(0, bares.length);
    const relayIdle = idle.slice(bares.length);
    for (const child of [...bares, ...relays.slice(1)]) await stopChild(child);

    const relay = relays[0]!;
    watch = await EventWatch.open([world.keys.events]);
    driver = await LoginDriver.open(world, watch);
    driver.startedWithToken(generation);
    const relayAt: { logins: number; sample: MemorySample }[] = [];
    const checkpoints = new Set([...options.checkpoints, options.logins]);
    let loginMs = 0;
    for (let done = 0; done < options.logins;) {
      const started = performance.now();
      await driver.login();
      loginMs += performance.now() - started;
      done += 1;
      if (checkpoints.has(done))
        relayAt.push({ logins: done, sample: await measure(relay, options.settleMaxMs) });
    }
    if (relay.errors.length > 0) {
      throw new Error(`the relay logged errors:\n${relay.errors.slice(0, 5).join('\n')}`);
    }
    return {
      bare: medianSample(bareIdle),
      relayIdle: medianSample(relayIdle),
      bareIdleRss: bareIdle.map((sample) => sample.rss),
      relayIdleRss: relayIdle.map((sample) => sample.rss),
      bareNoGc: medianSample(bareIdleNoGc),
      relayIdleNoGc: medianSample(relayIdleNoGc),
      bareIdleRssNoGc: bareIdleNoGc.map((sample) => sample.rss),
      relayIdleRssNoGc: relayIdleNoGc.map((sample) => sample.rss),
      idleMs,
      loginRelayIdle: relayIdle[0]!,
      relayAt,
      logins: options.logins,
      loginsPerSecond: options.logins / (loginMs / 1000),
    };
  } finally {
    await Promise.allSettled(children.map((child) => stopChild(child)));
    await driver?.close().catch(() => undefined);
    await watch?.close().catch(() => undefined);
    await world.close();
    for (const prefix of idlePrefixes) await deletePrefix(prefix);
  }
}
