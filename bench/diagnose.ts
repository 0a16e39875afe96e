/**
 * Diagnostics behind the benchmarks' figures (not part of `npm run bench`). After `npm run bench`
 * (or `tsc -p tsconfig.bench.json`), run one of:
 *
 *   node .bench-build/bench/diagnose.js answer [rounds] [--profile] [--until-step2|--from-step2]
 *       Answer to token, round by round: when the "checking" edits, broker step 2 and the event
 *       happen after `sendDm`. With --profile the relay runs with --cpu-prof and its samples inside
 *       the timed windows are summed per function (--until-step2: from the DM to step 2 only;
 *       --from-step2: from step 2 to the event).
 *   node --expose-gc .bench-build/bench/diagnose.js memory [logins] [warm-up logins] [--snapshot]
 *       The bare discord.js client and the relay, idle, after the warm-up logins and after `logins`
 *       more: RSS by mapping (/proc/PID/smaps) and V8 heap spaces; --snapshot writes heap snapshots
 *       of the relay (after the warm-up, and at the end) and lists what grew between them.
 *   node --expose-gc .bench-build/bench/diagnose.js fanout [default|provided|unshared|bare]
 *       CPU profile of the fan-out rounds (not the clients' start), summed per function.
 *   node .bench-build/bench/diagnose.js start [accounts]
 *       Start-up of `node dist/main.js` serving `accounts` accounts (default 20; bench 7), every
 *       published token valid: its log lines with their time from the first, and its CPU profile
 *       from spawn to `relay started`, summed per function.
 *
 * BENCH_RELAY_MAIN, BENCH_RELAY_NODE_ARGS, BENCH_RELAY_ENV and BENCH_MEMORY_NODE_ARGS apply as in
 * the benchmarks, to compare a change.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestCall } from '../test/fakes/discord/index.js';
import { benchFanOut, type FanOutKind } from './fan-out.js';
import {
  benchScript,
  killAllChildren,
  RELAY_MAIN,
  RELAY_NODE_ARGS,
  sleep,
  spawnNode,
  type Child,
} from './lib/child.js';
import type { MemorySample } from './lib/memory-probe.js';
import { censusGrowth, heapCensus } from './lib/heap.js';
import { summarizeProfile, type CpuProfile } from './lib/profile.js';
import { summarize } from './lib/stats.js';
import { startAccountsWorld } from './lib/accounts-world.js';
import { EventWatch, LoginDriver, publishValidToken, startBenchWorld } from './lib/world.js';

const [command = '', ...rest] = process.argv.slice(2);
const flags = new Set(rest.filter((arg) => arg.startsWith('--')));
const positional = rest.filter((arg) => !arg.startsWith('--'));

/** Monotonic microseconds, the clock of CPU profiles. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function answer(): Promise<void> {
  const rounds = Number(positional[0] ?? 30);
  const profileDir = flags.has('--profile') ? mkdtempSync(join(tmpdir(), 'otp-relay-prof-')) : undefined;
  const world = await startBenchWorld('diagnose');
  const marks: { at: number; what: string }[] = [];
  // Timestamps of the emulator's answered REST calls and of the broker's requests.
  const calls = world.discord.restCalls as RestCall[];
  const push = calls.push.bind(calls);
  calls.push = (...items: RestCall[]): number => {
    for (const item of items) marks.push({ at: performance.now(), what: `${item.method} ${item.route}` });
    return push(...items);
  };
  world.etna.events.on('request', (request) =>
    marks.push({ at: performance.now(), what: `broker ${request.call}` }),
  );
  const watch = await EventWatch.open([world.keys.events]);
  const driver = await LoginDriver.open(world, watch);
  const relay = spawnNode(RELAY_MAIN, {
    env: world.env(),
    nodeArgs: [
      ...RELAY_NODE_ARGS,
      ...(profileDir === undefined
        ? []
        : ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${profileDir}`]),
    ],
  });
  const windows: [number, number][] = [];
  const segments = { checking: [] as number[], step2: [] as number[], event: [] as number[] };
  try {
    await driver.login();
    const send = world.discord.sendDm.bind(world.discord);
    world.discord.sendDm = (userId, content) => {
      marks.push({ at: performance.now(), what: 'sendDm' });
      return send(userId, content);
    };
    const offsetUs = monotonicUs() - performance.now() * 1000;
    for (let round = 0; round < rounds; round += 1) {
      await sleep(250);
      marks.length = 0;
      const totalMs = await driver.login({ settleMs: 20 });
      const sentAt = marks.find((mark) => mark.what === 'sendDm')!.at;
      const after = (what: string): number =>
        (marks.find((mark) => mark.at >= sentAt && mark.what === what)?.at ?? Number.NaN) - sentAt;
      const checking = after('PATCH /channels/:channelId/messages/:messageId');
      const step2 = after('broker step2');
      const fromMs = flags.has('--from-step2') ? step2 : 0;
      const untilMs = flags.has('--until-step2') ? step2 : totalMs;
      windows.push([(sentAt + fromMs) * 1000 + offsetUs, (sentAt + untilMs) * 1000 + offsetUs]);
      segments.checking.push(checking);
      segments.step2.push(step2);
      segments.event.push(totalMs - step2);
      console.log(
        `round ${String(round + 1).padStart(3)}: ${totalMs.toFixed(2)} ms  (first edit answered +${checking.toFixed(2)}, ` +
          `step 2 at the broker +${step2.toFixed(2)}, token.updated +${totalMs.toFixed(2)})`,
      );
    }
  } finally {
    await relay.stop();
    await driver.close();
    await watch.close();
    await world.close();
  }
  const median = (values: number[]): string => summarize(values).median.toFixed(2);
  console.log(
    `medians: first "checking" edit answered +${median(segments.checking)} ms, step 2 at the broker ` +
      `+${median(segments.step2)} ms, then token.updated ${median(segments.event)} ms later`,
  );
  if (profileDir !== undefined) {
    const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no profile in ${profileDir}`);
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
    console.log(`relay CPU profile ${join(profileDir, file)}, inside the timed windows:`);
    console.log(summarizeProfile(profile, { windows, top: 40 }));
  }
}

async function memory(): Promise<void> {
  const logins = Number(positional[0] ?? 0);
  const warmLogins = Number(positional[1] ?? 0);
  const nodeArgs = ['--expose-gc', ...(process.env.BENCH_MEMORY_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const world = await startBenchWorld('diagnose');
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  const measure = async (child: Child): Promise<void> => {
    const answered = child.waitForMessage<MemorySample>((message) => message.type === 'memory', 60_000);
    child.send({ type: 'measure', settleMaxMs: 20_000 });
    const sample = await answered;
    console.log(
      `  RSS ${mb(sample.rss)} MB (after ${Math.round(sample.settledMs)} ms settling); by mapping (MB): ` +
        JSON.stringify(smaps(child.pid)),
    );
    const spaces = Object.entries(sample.spaces).filter(([, bytes]) => bytes > 0);
    console.log(
      `  V8: heap used ${mb(sample.heapUsed)}, heap committed ${mb(sample.heapTotal)}; spaces (MB): ` +
        JSON.stringify(Object.fromEntries(spaces.map(([name, bytes]) => [name, mb(bytes)]))),
    );
  };
  const snapshot = async (child: Child): Promise<string> => {
    const written = child.waitForMessage<{ type: string; path: string }>(
      (m) => m.type === 'snapshot',
      120_000,
    );
    child.send({ type: 'snapshot' });
    const path = join(tmpdir(), (await written).path);
    console.log(`  heap snapshot: ${path}`);
    return path;
  };
  try {
    const generation = await publishValidToken(world);
    const bare = spawnNode(benchScript('bare-discord'), { env: world.env(), nodeArgs, ipc: true });
    await bare.waitForMessage<{ type: string }>((message) => message.type === 'ready');
    console.log('bare discord.js client, idle:');
    await measure(bare);
    bare.send({ type: 'stop' });
    await bare.exited;
    const watch = await EventWatch.open([world.keys.events]);
    const driver = await LoginDriver.open(world, watch);
    driver.startedWithToken(generation);
    const relay = spawnNode(benchScript('relay-host'), { env: world.env(), nodeArgs, ipc: true });
    await relay.waitForMessage<{ type: string }>((message) => message.type === 'ready');
    await relay.waitForLine((line) => line.msg === 'published token kept');
    console.log('relay, idle (valid token kept, no login):');
    await measure(relay);
    for (let done = 0; done < warmLogins; done += 1) await driver.login();
    if (warmLogins > 0) {
      console.log(`relay after ${warmLogins} logins:`);
      await measure(relay);
    }
    // A snapshot leaves glibc's heap grown: RSS measured after one is no longer comparable.
    const before = flags.has('--snapshot') ? await snapshot(relay) : undefined;
    if (logins > 0) {
      for (let done = 0; done < logins; done += 1) await driver.login();
      console.log(`relay after ${warmLogins + logins} logins:`);
      await measure(relay);
      if (before !== undefined) {
        const after = await snapshot(relay);
        console.log(censusGrowth(heapCensus(before), heapCensus(after), 30).join('\n'));
      }
    }
    relay.send({ type: 'stop' });
    await relay.exited;
    await driver.close();
    await watch.close();
  } finally {
    killAllChildren();
    await world.close();
  }
}

/** Resident memory by kind of mapping, in MB. */
function smaps(pid: number): Record<string, number> {
  const sizes: Record<string, number> = {};
  let kind = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const name = header[1] ?? '';
      kind =
        name === ''
          ? 'anonymous (V8 heap, malloc arenas, wasm)'
          : name === process.execPath
            ? 'node binary (file-backed, shared)'
            : name.startsWith('/')
              ? 'other files'
              : name;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) sizes[kind] = (sizes[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return Object.fromEntries(
    Object.entries(sizes)
      .filter(([, size]) => size >= 0.1)
      .map(([name, size]) => [name, Math.round(size * 10) / 10]),
  );
}

async function fanout(): Promise<void> {
  const kind = (positional[0] ?? 'default') as FanOutKind;
  const session = new Session();
  session.connect();
  const file = join(mkdtempSync(join(tmpdir(), 'otp-relay-prof-')), `fanout-${kind}.cpuprofile`);
  let profile: CpuProfile | undefined;
  const result = await benchFanOut({
    clients: 1000,
    kind,
    warmupRounds: 2,
    rounds: 10,
    gapMs: 200,
    onRoundsStart: async () => {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 50 });
      await session.post('Profiler.start');
    },
    onRoundsEnd: async () => {
      profile = (await session.post('Profiler.stop')).profile as unknown as CpuProfile;
      writeFileSync(file, JSON.stringify(profile));
    },
  });
  console.log(
    `${kind}: per-client arrival p50 ${result.arrival.median.toFixed(1)} ms, p99 ${result.arrival.p99.toFixed(1)} ms`,
  );
  console.log(`CPU profile of the rounds (${file}), per round:`);
  console.log(summarizeProfile(profile!, { top: 30, per: 12 }));
}

async function start(): Promise<void> {
  const count = Number(positional[0] ?? 20);
  const profileDir = mkdtempSync(join(tmpdir(), 'otp-relay-prof-'));
  const world = await startAccountsWorld('diagnose', count);
  try {
    await world.publishValidTokens();
    const startedAt = performance.now();
    const relay = spawnNode(RELAY_MAIN, {
      env: world.env(),
      nodeArgs: [...RELAY_NODE_ARGS, '--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${profileDir}`],
    });
    const ready = await relay.waitForLine((line) => line.msg === 'relay started', 60_000);
    console.log(
      `${count} account(s): \`relay started\` ${(ready.at - startedAt).toFixed(0)} ms after spawn()`,
    );
    const lines = relay.lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { time: number; msg: string; account?: string });
    for (const line of lines) {
      console.log(
        `  +${String(line.time - lines[0]!.time).padStart(5)} ms  ${line.msg} ${line.account ?? ''}`,
      );
    }
    const others = relay.lines.filter((line) => !line.startsWith('{'));
    if (others.length > 0) console.log(`other output:\n${others.join('\n')}`);
    await relay.stop();
  } finally {
    await world.close();
  }
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no profile in ${profileDir}`);
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
  console.log(`relay CPU profile ${join(profileDir, file)}, spawn to stop:`);
  console.log(summarizeProfile(profile, { top: 30 }));
}

const commands: Record<string, () => Promise<void>> = { answer, memory, fanout, start };
const run = commands[command];
if (run === undefined) {
  console.error(
    'usage: diagnose.js answer [rounds] [--profile] | memory [--snapshot] | fanout [default|provided|unshared|bare] | start [accounts]',
  );
  process.exitCode = 2;
} else {
  await run();
}
