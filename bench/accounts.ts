/**
 * Benchmark 7, "several accounts" (issue 19): one relay process serving 20 accounts
 * (`RELAY_ACCOUNTS=a01,…,a20`, a fake broker of its own per account, both operators on every
 * account), each figure against the one-account relay measured in the same run:
 *
 * - start-up to `relay started`, every account's published token valid (as bench 5), alternating;
 * - Discord gateway connections and IDENTIFYs per process, counted by the emulator;
 * - idle RSS (as bench 4: bench/relay-host.ts, side by side, as a user sees it and after forced GC);
 * - answer to token for one account while the other 19 are idle, and 20 logins answered at once
 *   (bench/accounts-answer.ts).
 */
import {
  benchAnswerOneOfMany,
  benchAnswerAllAtOnce,
  type AllAtOnceResult,
  type OneOfManyResult,
} from './accounts-answer.js';
import { benchScript, RELAY_MAIN, RELAY_NODE_ARGS, spawnNode, sleep, type Child } from './lib/child.js';
import { startAccountsWorld, type AccountsWorld, type GatewayCount } from './lib/accounts-world.js';
import type { MemorySample } from './lib/memory-probe.js';
import { benchPrefix } from './lib/redis.js';
import { summarize, type Summary } from './lib/stats.js';
import { measure, medianSample, NODE_ARGS as MEMORY_NODE_ARGS, stopChild } from './memory.js';

export interface AccountsOptions {
  /** Accounts of the several-account relay (20). */
  accounts: number;
  startupRuns: number;
  /** Idle processes of each kind measured side by side (the median is compared). */
  idleInstances: number;
  /** The longest wait, after forced GC, for V8 to give back its young generation. */
  settleMaxMs: number;
  /** How long each idle process sits quiet after its `relay started` before it is measured as it is. */
  idleMs: number;
  /** Relay sessions of the one-of-many answer bench (each a fresh pair of relays). */
  answerSessions: number;
  answerWarmupRounds: number;
  /** Timed rounds per session of each of the four series (≤ 28: MAX_LOGINS_PER_HOUR=60). */
  answerRounds: number;
  /** Rounds of 20 logins answered at once (after one untimed). */
  allAtOnceRounds: number;
}

export interface AccountsResult {
  readonly accounts: number;
  /** Spawn to `relay started`, ms. */
  readonly startupOne: Summary;
  readonly startupMany: Summary;
  /** What each start-up made of Discord's gateway and REST, per process. */
  readonly gatewayOne: readonly GatewayCount[];
  readonly gatewayMany: readonly GatewayCount[];
  readonly restCallsOne: Summary;
  readonly restCallsMany: Summary;
  /** Idle RSS, the median process of each kind (forced GC, and as a user sees it). */
  readonly memoryOne: MemorySample;
  readonly memoryMany: MemorySample;
  readonly memoryOneNoGc: MemorySample;
  readonly memoryManyNoGc: MemorySample;
  readonly rssOne: readonly number[];
  readonly rssMany: readonly number[];
  readonly rssOneNoGc: readonly number[];
  readonly rssManyNoGc: readonly number[];
  readonly idleMs: number;
  readonly oneOfMany: OneOfManyResult;
  readonly allAtOnce: AllAtOnceResult;
}

export async function benchAccounts(
  options: AccountsOptions,
  progress: (text: string) => void = () => undefined,
): Promise<AccountsResult> {
  const one = await startAccountsWorld('accounts-one', 1);
  let many: AccountsWorld | undefined;
  let startup: Awaited<ReturnType<typeof benchStartups>>;
  let memory: Awaited<ReturnType<typeof benchIdleMemory>>;
  try {
    many = await startAccountsWorld('accounts-many', options.accounts);
    progress('   accounts: start-up and gateway');
    startup = await benchStartups(one, many, options);
    progress('   accounts: idle memory');
    memory = await benchIdleMemory(one, many, options);
  } finally {
    await Promise.allSettled([one.close(), many?.close()]);
  }
  progress('   accounts: answer to token, one account of many');
  const oneOfMany = await benchAnswerOneOfMany(options);
  progress('   accounts: answer to token, every account at once');
  const allAtOnce = await benchAnswerAllAtOnce(options);
  return { accounts: options.accounts, ...startup, ...memory, oneOfMany, allAtOnce };
}

/** Bench 5's start-up, the one-account and the many-account relay alternating; gateway counted per process. */
async function benchStartups(one: AccountsWorld, many: AccountsWorld, options: AccountsOptions) {
  await Promise.all([one.publishValidTokens(), many.publishValidTokens()]);
  const times = { one: [] as number[], many: [] as number[] };
  const gateway = { one: [] as GatewayCount[], many: [] as GatewayCount[] };
  const rest = { one: [] as number[], many: [] as number[] };
  const warmupRuns = 1;
  for (let run = 0; run < warmupRuns + options.startupRuns; run += 1) {
    const order = run % 2 === 0 ? (['one', 'many'] as const) : (['many', 'one'] as const);
    for (const kind of order) {
      const world = kind === 'one' ? one : many;
      const result = await startOnce(world);
      if (run < warmupRuns) continue;
      times[kind].push(result.readyMs);
      gateway[kind].push(result.gateway);
      rest[kind].push(result.restCalls);
    }
  }
  return {
    startupOne: summarize(times.one),
    startupMany: summarize(times.many),
    gatewayOne: gateway.one,
    gatewayMany: gateway.many,
    restCallsOne: summarize(rest.one),
    restCallsMany: summarize(rest.many),
  };
}

/**
 * `node dist/main.js` from spawn to `relay started` (every account kept its published token: no
 * login), then SIGTERM; what it did on the emulator's gateway and REST meanwhile.
 */
async function startOnce(
  world: AccountsWorld,
): Promise<{ readyMs: number; gateway: GatewayCount; restCalls: number }> {
  const before = world.discord.gateway;
  const restBefore = world.discord.restCalls.length;
  const startedAt = performance.now();
  const child = spawnNode(RELAY_MAIN, { env: world.env(), nodeArgs: RELAY_NODE_ARGS });
  try {
    const ready = await child.waitForLine((line) => line.msg === 'relay started', 30_000);
    checkKept(child, world);
    const after = world.discord.gateway;
    const result = {
      readyMs: ready.at - startedAt,
      gateway: {
        connections: after.connections - before.connections,
        identifies: after.identifies - before.identifies,
      },
      restCalls: world.discord.restCalls.length - restBefore,
    };
    const code = await child.stop();
    if (code !== 0) throw new Error(`the relay exited with ${code} after SIGTERM`);
    return result;
  } finally {
    await child.stop();
  }
}

/** Throws unless every account of `world` kept its published token (so no login started). */
function checkKept(child: Child, world: AccountsWorld): void {
  const kept = child.lines.filter((line) => line.includes('"msg":"published token kept"')).length;
  if (kept !== world.accounts.length) {
    throw new Error(`${kept} of ${world.accounts.length} accounts kept their published token`);
  }
}

/**
 * Bench 4's idle measurement: `idleInstances` relays of each kind (bench/relay-host.ts, the
 * production composition, with --expose-gc) side by side, each on a prefix of its own with valid
 * tokens published; measured as they are after `idleMs` of quiet, then after forced collections.
 */
async function benchIdleMemory(one: AccountsWorld, many: AccountsWorld, options: AccountsOptions) {
  const children: Child[] = [];
  try {
    const spawnIdle = async (world: AccountsWorld): Promise<Child> => {
      const prefix = benchPrefix(world === one ? 'accounts-one-idle' : 'accounts-many-idle');
      await world.publishValidTokens(prefix);
      const child = spawnNode(benchScript('relay-host'), {
        env: world.env({ RELAY_KEY_PREFIX: prefix }),
        nodeArgs: MEMORY_NODE_ARGS,
        ipc: true,
      });
      children.push(child);
      return child;
    };
    const ones: Child[] = [];
    const manys: Child[] = [];
    for (let index = 0; index < options.idleInstances; index += 1) {
      ones.push(await spawnIdle(one));
      manys.push(await spawnIdle(many));
    }
    const all = [...ones, ...manys];
    const readyAt = await Promise.all(
      all.map(async (child) => (await child.waitForLine((line) => line.msg === 'relay started', 60_000)).at),
    );
    for (const child of ones) checkKept(child, one);
    for (const child of manys) checkKept(child, many);
    // Each as it is `idleMs` after its own `relay started`: the many-account relays are ready later,
    // and the start's memory goes back some 5-6 s after it (src/shared/heap.ts), so one moment for
    // all would compare processes of different ages.
    const noGc = await Promise.all(
      all.map(async (child, index) => {
        await sleep(Math.max(0, readyAt[index]! + options.idleMs - performance.now()));
        return measure(child, 0, false);
      }),
    );
    const gc = await Promise.all(all.map((child) => measure(child, options.settleMaxMs)));
    const split = (samples: MemorySample[]) => ({
      one: samples.slice(0, ones.length),
      many: samples.slice(ones.length),
    });
    const [settled, asSeen] = [split(gc), split(noGc)];
    for (const child of children) {
      if (child.errors.length > 0)
        throw new Error(`an idle relay logged errors:\n${child.errors.slice(0, 5).join('\n')}`);
    }
    const rss = (samples: readonly MemorySample[]): number[] => samples.map((sample) => sample.rss);
    return {
      memoryOne: medianSample(settled.one),
      memoryMany: medianSample(settled.many),
      memoryOneNoGc: medianSample(asSeen.one),
      memoryManyNoGc: medianSample(asSeen.many),
      rssOne: rss(settled.one),
      rssMany: rss(settled.many),
      rssOneNoGc: rss(asSeen.one),
      rssManyNoGc: rss(asSeen.many),
      idleMs: options.idleMs,
    };
  } finally {
    await Promise.allSettled(children.map((child) => stopChild(child)));
  }
}
