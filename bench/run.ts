/**
 * `npm run bench`: runs the seven benchmarks (issues 6, 11 and 19) on this machine against real Redis
 * (REDIS_URL), the fake ETNA broker and the Discord emulator, each against its baseline in the same
 * run, and prints a markdown table (also written to bench/RESULTS.md).
 *
 * Benchmarks are not tests: a missed target is reported, never a failure. The exit status is 1 only
 * when a benchmark could not run at all.
 *
 *   BENCH_ONLY=1,3              run only these benchmarks
 *   BENCH_QUICK=1               fewer rounds (a smoke run; the figures are not stable)
 *   BENCH_FANOUT_PROCESSES=N    add a fan-out row with the 1,000 clients spread over N processes
 *   BENCH_RELAY_MAIN, BENCH_RELAY_NODE_ARGS, BENCH_RELAY_ENV, BENCH_MEMORY_NODE_ARGS: see bench/lib
 *
 * bench/diagnose.ts digs into a figure (timelines, CPU profiles, memory maps).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { benchAccounts, type AccountsOptions } from './accounts.js';
import { accountsReport } from './accounts-report.js';
import { benchAnswerToToken } from './answer-to-token.js';
import { benchFanOut, type FanOutKind, type FanOutResult } from './fan-out.js';
import { killAllChildren, REPO_ROOT } from './lib/child.js';
import { describeMachine, type Machine } from './lib/machine.js';
import { deletePrefix, prefixesInUse } from './lib/redis.js';
import { fmt, ms } from './lib/stats.js';
import type { MemorySample } from './lib/memory-probe.js';
import type { Row } from './lib/row.js';
import { benchMemory } from './memory.js';
import { benchReadToken } from './read-token.js';
import { benchNpmStart } from './npm-start.js';
import { benchStartup, formatImportCosts } from './startup.js';

const quick = process.env.BENCH_QUICK === '1';
const only = new Set((process.env.BENCH_ONLY ?? '1,2,3,4,5,6,7').split(',').map((id) => id.trim()));

const rows: Row[] = [];
const details: string[] = [];
const failures: string[] = [];

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

const mb = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MB`;
const yes = (ok: boolean): string => (ok ? 'yes' : '**no**');
const signedMs = (value: number): string => `${value >= 0 ? '+' : '−'}${ms(Math.abs(value))}`;

async function section(id: string, name: string, run: () => Promise<void>): Promise<void> {
  if (!only.has(id)) return;
  progress(`${id}. ${name}…`);
  const started = performance.now();
  try {
    await run();
    progress(`${id}. ${name}: done in ${fmt((performance.now() - started) / 1000)} s`);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    failures.push(`${id}. ${name}: ${message}`);
    rows.push({
      id,
      benchmark: name,
      measured: 'failed',
      baseline: '',
      comparison: '',
      target: '',
      met: 'error',
    });
    progress(`${id}. ${name} FAILED: ${message}`);
  }
}

async function main(): Promise<void> {
  const machine = await describeMachine();
  progress(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Redis ${machine.redis}`);

  await section('1', 'Answer to token', async () => {
    const sessions = quick ? 1 : 2;
    const rounds = quick ? 15 : 55;
    const result = await benchAnswerToToken({
      sessions,
      warmupRounds: 3,
      rounds,
      settleMs: 20,
      minLoginIntervalMs: 250,
    });
    const { relay, bare } = result;
    const ratio = relay.median / bare.median;
    const addedMs = relay.median - bare.median;
    rows.push({
      id: '1',
      benchmark: `Answer to token: \`sendDm\` → \`token.updated\` at a subscriber (n=${relay.n} each)`,
      measured: `relay process: median ${ms(relay.median)}, p99 ${ms(relay.p99)}`,
      baseline: `bare discord.js client, step 2 + SET PX + PUBLISH on the DM: median ${ms(bare.median)}, p99 ${ms(bare.p99)}`,
      comparison: `${fmt(ratio)}×, ${signedMs(addedMs)} (p99 ${signedMs(relay.p99 - bare.p99)})`,
      target: '≤ 1.3× and ≤ 1 ms added',
      met: yes(ratio <= 1.3 && addedMs <= 1),
    });
    details.push(
      `1. ${sessions} relay process${sessions > 1 ? 'es' : ''} one after the other (each may start 60 logins ` +
        `an hour), each: the start-up login (untimed), 3 warm-up and ${rounds} timed ` +
        `logins, alternating with as many bare rounds; relay min ${ms(relay.min)}, max ${ms(relay.max)}; ` +
        `bare min ${ms(bare.min)}, max ${ms(bare.max)}. The bare client is a discord.js client ` +
        `(same intents and partials as the relay's) on a Discord emulator of its own, same broker and ` +
        `Redis. Step 2 reached the broker after a median ${ms(result.relayToStepTwo.median)} (relay) and ` +
        `${ms(result.bareToStepTwo.median)} (bare); the token reached the bots ` +
        `${ms(relay.median - result.relayToStepTwo.median)} and ` +
        `${ms(bare.median - result.bareToStepTwo.median)} after that (differences of medians).`,
    );
  });

  await section('2', 'Reading the token', async () => {
    const result = await benchReadToken({
      callsPerBatch: 250_000,
      batches: quick ? 20 : 100,
      rawCalls: quick ? 500 : 3000,
    });
    const { getTokenNs, rawGetNs, clockNs } = result;
    const speedup = rawGetNs.median / getTokenNs.median;
    rows.push({
      id: '2',
      benchmark: 'Reading the token (warm)',
      measured: `\`getToken()\`: median ${fmt(getTokenNs.median)} ns, p99 ${fmt(getTokenNs.p99)} ns per call`,
      baseline: `GET + JSON.parse: median ${fmt(rawGetNs.median / 1000)} µs, p99 ${fmt(rawGetNs.p99 / 1000)} µs`,
      comparison:
        `${fmt(speedup)}× faster (p99: ${fmt(rawGetNs.p99 / getTokenNs.p99)}×); ` +
        `\`Date.now()\` alone: ${fmt(clockNs.median)} ns, at most ${fmt(rawGetNs.median / clockNs.median)}×`,
      target: '≥ 1,000× faster',
      met: yes(speedup >= 1000),
    });
    details.push(
      `2. \`getToken()\`: ${getTokenNs.n} batches of 250,000 calls (a sample is a batch's time per call); ` +
        `GET + JSON.parse: ${rawGetNs.n} calls timed one by one on one warm node-redis connection. ` +
        `\`getToken()\` reads the wall clock on every call (a token is never handed out past its ` +
        `\`expiresAt\`): \`Date.now()\` alone, timed in the same loop, bounds how fast it can be.`,
    );
  });

  await section('3', 'Fan-out', async () => {
    const kinds: { kind: FanOutKind; label: string }[] = [
      {
        kind: 'default',
        label: '1,000 `createTokenClient`, library defaults (connections shared in the process)',
      },
      { kind: 'provided', label: '1,000 `createTokenClient` given one application connection (`client:`)' },
      {
        kind: 'unshared',
        label: '1,000 `createTokenClient`, `shareConnections: false` (2 connections each)',
      },
      { kind: 'bare', label: 'reference: 1,000 bare node-redis subscribers (GET + JSON.parse), no library' },
    ];
    const processes = Number(process.env.BENCH_FANOUT_PROCESSES ?? 0);
    if (processes > 0) {
      kinds.push({
        kind: 'processes',
        label: `1,000 \`createTokenClient\` (defaults), spread over ${processes} processes`,
      });
    }
    const results: FanOutResult[] = [];
    for (const { kind, label } of kinds) {
      progress(`   fan-out: ${kind}`);
      const result = await benchFanOut({
        clients: 1000,
        kind,
        processes,
        warmupRounds: 2,
        rounds: quick ? 3 : 10,
        gapMs: 200,
      });
      results.push(result);
      const { arrival, lastArrival } = result;
      // The target is the library's defaults'; the other rows show what the defaults avoid.
      const targeted = kind === 'default' || kind === 'processes';
      rows.push({
        id: '3',
        benchmark: `Fan-out: ${label}`,
        measured:
          `per-client arrival p50 ${ms(arrival.median)}, p99 ${ms(arrival.p99)}, max ${ms(arrival.max)}; ` +
          `all held: median ${ms(lastArrival.median)}`,
        baseline: kind === 'bare' ? '(one process holding 2,000 connections)' : '—',
        comparison: `${result.redisConnections} Redis connections`,
        target: targeted ? 'p99 ≤ 50 ms' : '—',
        met: targeted ? yes(arrival.p99 <= 50) : '—',
      });
    }
    details.push(
      `3. All subscribers in the bench process (one event loop); time from the start of the relay's ` +
        `own token write (RedisTokenStore.publish as the relay configures it: one script takes the ` +
        `generation, writes and PUBLISHes \`token.updated\`) to each subscriber holding the new generation ` +
        `(\`onTokenChange\`). ` +
        `${results[0]?.arrival.n ?? 0} arrivals per kind (${quick ? 3 : 10} timed rounds after 2 warm-up). ` +
        `Start-up of 1,000 clients: ${results.map((r) => `${r.kind} ${ms(r.startMs)}`).join(', ')}.`,
    );
  });

  await section('4', 'Memory', async () => {
    const logins = quick ? 100 : 1000;
    const instances = quick ? 1 : 3;
    const result = await benchMemory({
      logins,
      checkpoints: quick ? [10] : [100, 500],
      settleMaxMs: quick ? 3_000 : 20_000,
      idleInstances: instances,
    });
    const idle = result.loginRelayIdle;
    const after = result.relayAt.at(-1)!.sample;
    const ratio = result.relayIdle.rss / result.bare.rss;
    const ratioNoGc = result.relayIdleNoGc.rss / result.bareNoGc.rss;
    const growth = after.rss / idle.rss - 1;
    const heapGrowth = after.heapUsed / idle.heapUsed - 1;
    const warm = result.relayAt.find((point) => point.logins === 100)?.sample;
    const signed = (fraction: number): string => `${fraction >= 0 ? '+' : ''}${fmt(fraction * 100)} %`;
    const fromWarm =
      warm === undefined
        ? ''
        : `; from the 100th login on: RSS ${signed(after.rss / warm.rss - 1)}, heap used ` +
          signed(after.heapUsed / warm.heapUsed - 1);
    const young = (sample: MemorySample): string => mb(sample.spaces.new_space ?? Number.NaN);
    const settled = (sample: MemorySample): string => `${fmt(sample.settledMs / 1000)} s`;
    const list = (values: readonly number[]): string =>
      values.map((value) => fmt(value / 2 ** 20)).join(', ');
    rows.push({
      id: '4',
      benchmark: `Memory, idle (after forced GC; median of ${instances} processes each)`,
      measured: `relay RSS ${mb(result.relayIdle.rss)} (heap used ${mb(result.relayIdle.heapUsed)})`,
      baseline: `bare discord.js client RSS ${mb(result.bare.rss)} (heap used ${mb(result.bare.heapUsed)})`,
      comparison: `${fmt(ratio)}×`,
      target: '≤ 1.3×',
      met: yes(ratio <= 1.3),
    });
    rows.push({
      id: '4',
      benchmark: `Memory, idle as a user sees it (no forced GC, ${fmt(result.idleMs / 1000)} s quiet; median of ${instances} processes each)`,
      measured: `relay RSS ${mb(result.relayIdleNoGc.rss)} (heap used ${mb(result.relayIdleNoGc.heapUsed)})`,
      baseline: `bare discord.js client RSS ${mb(result.bareNoGc.rss)} (heap used ${mb(result.bareNoGc.heapUsed)})`,
      comparison: `${fmt(ratioNoGc)}×`,
      target: '≤ 1.3×',
      met: yes(ratioNoGc <= 1.3),
    });
    rows.push({
      id: '4',
      benchmark: `Memory after ${logins} logins (after forced GC), same process as idle`,
      measured: `relay RSS ${mb(after.rss)} (heap used ${mb(after.heapUsed)})`,
      baseline: `same relay idle: RSS ${mb(idle.rss)} (heap used ${mb(idle.heapUsed)})`,
      comparison:
        `RSS ${signed(growth)}, heap used ${signed(heapGrowth)}${fromWarm}; ` +
        `${fmt(after.rss / result.bare.rss)}× bare`,
      target: '≤ +5 % from the 100th login on',
      met: warm === undefined ? yes(growth <= 0.05) : yes(after.rss / warm.rss - 1 <= 0.05),
    });
    details.push(
      `4. The relay is \`startRelay()\` (src/app.ts, the composition of \`node dist/main.js\`) in ` +
        `bench/relay-host.ts with --expose-gc, MAX_LOGINS_PER_HOUR and discord.js' 50 requests/s ` +
        `global REST limit lifted so that ${logins} logins fit (about ${fmt(result.loginsPerSecond)} ` +
        `logins/s); logins driven through the public interface (a bot's \`token.rejected\` after ` +
        `the token is revoked at the broker, then the operator's DM). Idle: ${instances} relays ` +
        `(valid token published, so no login) and ${instances} bare clients side by side, RSS ` +
        `${list(result.relayIdleRss)} MB and ${list(result.bareIdleRss)} MB after forced GC, ` +
        `${list(result.relayIdleRssNoGc)} MB and ${list(result.bareIdleRssNoGc)} MB as a user sees them ` +
        `(no forced GC, after ${fmt(result.idleMs / 1000)} s idle). The first relay then ` +
        `logs in; RSS / heap used on the way: idle ${mb(idle.rss)} / ${mb(idle.heapUsed)}, ` +
        result.relayAt
          .map((point) => `${point.logins}: ${mb(point.sample.rss)} / ${mb(point.sample.heapUsed)}`)
          .join(', ') +
        `. V8's compiled code (code space) on the way: idle ${mb(idle.spaces.code_space ?? Number.NaN)}, ` +
        result.relayAt
          .map((point) => `${point.logins}: ${mb(point.sample.spaces.code_space ?? Number.NaN)}`)
          .join(', ') +
        `. Every figure is taken once V8 gave back its young generation (waited: median bare ` +
        `${settled(result.bare)}, median relay ${settled(result.relayIdle)}, final ${settled(after)}; ` +
        `young generation then ` +
        `${young(result.bare)} / ${young(result.relayIdle)} / ${young(after)}).`,
    );
  });

  await section('5', 'Start-up', async () => {
    const runs = quick ? 3 : 10;
    const result = await benchStartup({ runs, warmupRuns: 1, importRuns: quick ? 2 : 5 });
    rows.push({
      id: '5',
      benchmark: `Start-up to \`relay started\`, valid token published (n=${runs} each)`,
      measured: `relay: median ${ms(result.relay.median)}, max ${ms(result.relay.max)} (first log line: median ${ms(result.firstLine.median)})`,
      baseline: `\`node -e 0\`: median ${ms(result.bare.median)}, max ${ms(result.bare.max)}`,
      comparison: `+${ms(result.relay.median - result.bare.median)}`,
      target: '< 700 ms',
      met: yes(result.relay.median < 700),
    });
    details.push(
      `5. \`node dist/main.js\` spawned as the e2e harness does (LOG_LEVEL=info), timed from spawn() to ` +
        `its \`relay started\` line (Redis and gateway connected, slash commands registered, the ` +
        `published token checked with the broker; no login), then SIGTERM; 1 warm-up run each, ` +
        `relay and \`node -e 0\` alternating. What each top-level import of the start costs ` +
        `(\`bench/import-costs.ts\`: each imported in turn, in load order, in ${quick ? 2 : 5} fresh ` +
        `processes, medians; CPU counts every thread):\n\n${formatImportCosts(result.imports)}\n`,
    );
  });

  await section('6', '`npm start`', async () => {
    const runs = quick ? 3 : 10;
    const result = await benchNpmStart({ runs, warmupRuns: 1 });
    rows.push({
      id: '6',
      benchmark: `\`npm start\` to \`relay started\` on an unchanged built checkout (n=${runs} each)`,
      measured: `\`npm start\`: median ${ms(result.npmStart.median)}, max ${ms(result.npmStart.max)}`,
      baseline: `\`node dist/main.js\`: median ${ms(result.node.median)}, max ${ms(result.node.max)}`,
      comparison: signedMs(result.addedMs),
      target: '≤ +500 ms',
      met: yes(result.addedMs <= 500),
    });
    details.push(
      `6. \`npm start\` (\`node scripts/start.js\`: the staleness check of \`dist/\`, then ` +
        `\`dist/main.js\` in the same process) and \`node dist/main.js\`, alternating, each spawned ` +
        `in a process group of its own with the same environment, timed to \`relay started\`; the ` +
        `run fails if \`npm start\` rebuilt anything.`,
    );
  });

  await section('7', 'Several accounts', async () => {
    const options: AccountsOptions = {
      accounts: 20,
      startupRuns: quick ? 3 : 10,
      idleInstances: quick ? 1 : 3,
      settleMaxMs: quick ? 3_000 : 20_000,
      // Past the 5-6 s the start's young generation takes to go back (bench 4's 5 s sits on that edge).
      idleMs: 10_000,
      answerSessions: quick ? 1 : 2,
      answerWarmupRounds: quick ? 1 : 2,
      answerRounds: quick ? 8 : 25,
      allAtOnceRounds: quick ? 2 : 5,
    };
    const { rows: accountRows, detail } = accountsReport(await benchAccounts(options, progress), options);
    rows.push(...accountRows);
    details.push(detail);
  });

  const end = os.loadavg();
  const resultsPath = fileURLToPath(new URL('bench/RESULTS.md', `file://${REPO_ROOT}`));
  // Formatted as `npm run lint` (prettier --check) wants it, which also aligns the table's columns.
  const markdown = await prettier.format(render(machine, end), {
    ...(await prettier.resolveConfig(resultsPath)),
    parser: 'markdown',
  });
  process.stdout.write(markdown);
  writeFileSync(resultsPath, markdown);
  if (failures.length > 0) process.exitCode = 1;
}

function render(machine: Machine, loadAtEnd: readonly number[]): string {
  const load = (values: readonly number[]): string => values.map((value) => fmt(value, 2)).join(' / ');
  const lines = [
    '# otp-relay benchmarks',
    '',
    `- Date: ${machine.date}${quick ? ' (BENCH_QUICK: smoke run, not stable)' : ''}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}`,
    `- Node ${machine.node}; Redis ${machine.redis} on 127.0.0.1 (maxclients ${machine.redisMaxclients}); open files limit ${machine.openFilesLimit}`,
    `- Load average (1/5/15 min): ${load(machine.loadAverage)} at start, ${load(loadAtEnd)} at end`,
    '',
    '| # | Benchmark | Measured | Baseline (same run) | Comparison | Target | Met |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.id} | ${row.benchmark} | ${row.measured} | ${row.baseline} | ${row.comparison} | ${row.target} | ${row.met} |`,
    ),
    '',
    '## How each figure is made',
    '',
    ...details,
    '',
  ];
  if (failures.length > 0) lines.push('## Failures', '', ...failures.map((failure) => `- ${failure}`), '');
  return `${lines.join('\n')}\n`;
}

async function cleanUp(): Promise<void> {
  killAllChildren();
  await Promise.allSettled([...prefixesInUse].map((prefix) => deletePrefix(prefix)));
}

process.once('SIGINT', () => {
  progress('interrupted: stopping children, deleting this run’s keys');
  void cleanUp().finally(() => process.exit(130));
});

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
