/**
 * `npm start` against `node dist/main.js` on an unchanged built checkout: from spawning each to the
 * relay's `relay started` log line (as bench 5, startup.ts, with a valid token published so that no
 * login starts), alternating. `npm start` runs npm, then a shell, then node (scripts/start.js, whose
 * staleness check must find dist/ up to date and not compile); the difference is what `npm start`
 * costs on top of the relay's own start.
 *
 * Both run from the repository (npm needs its package.json), so a `.env` there would be read by
 * both: the bench refuses to run with one rather than measure a relay configured by it. Each is
 * spawned in a process group of its own, and the whole group is stopped (SIGTERM, then SIGKILL) and
 * awaited before the next run: npm, its shell and the relay alike, whichever of them outlives the
 * others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, RELAY_MAIN, sleep } from './lib/child.js';
import { summarize, type Summary } from './lib/stats.js';
import { publishValidToken, startBenchWorld, type BenchWorld } from './lib/world.js';

export interface NpmStartOptions {
  runs: number;
  warmupRuns: number;
}

export interface NpmStartResult {
  /** Spawn of `npm start` to `relay started`, in ms. */
  readonly npmStart: Summary;
  /** Spawn of `node dist/main.js` to `relay started`, in ms (same runs, alternating). */
  readonly node: Summary;
  /** `npmStart.median - node.median`, in ms (the target: under 500). */
  readonly addedMs: number;
}

/** How long a run may take to reach `relay started`. */
const READY_TIMEOUT_MS = 30_000;
/** How long a stopped group has to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;

export async function benchNpmStart(options: NpmStartOptions): Promise<NpmStartResult> {
  if (existsSync(join(REPO_ROOT, '.env'))) {
    throw new Error('a .env file in the repository would configure the relays under test: move it away');
  }
  const mainJs = join(REPO_ROOT, 'dist', 'main.js');
  if (RELAY_MAIN !== mainJs) throw new Error('BENCH_RELAY_MAIN does not apply to `npm start`: unset it');
  // The checkout must be built and unchanged (`npm run bench` builds first): `npm start` must not compile.
  const builtAt = statSync(mainJs).mtimeMs;
  const world = await startBenchWorld('npm-start');
  try {
    await publishValidToken(world);
    const npmStart: number[] = [];
    const node: number[] = [];
    for (let run = 0; run < options.warmupRuns + options.runs; run += 1) {
      const timed = run >= options.warmupRuns;
      // Alternate which goes first, so neither always runs on the heels of the other.
      const order = run % 2 === 0 ? (['npm', 'node'] as const) : (['node', 'npm'] as const);
      for (const kind of order) {
        const readyMs = await startAndStop(world, kind);
        if (timed) (kind === 'npm' ? npmStart : node).push(readyMs);
      }
    }
    if (statSync(mainJs).mtimeMs !== builtAt) throw new Error('`npm start` rebuilt an unchanged checkout');
    const result = { npmStart: summarize(npmStart), node: summarize(node) };
    return { ...result, addedMs: result.npmStart.median - result.node.median };
  } finally {
    await world.close();
  }
}

/** Starts the relay one way, resolves with the ms from spawn to `relay started`, stops it. */
async function startAndStop(world: BenchWorld, kind: 'npm' | 'node'): Promise<number> {
  const [command, args] =
    kind === 'npm' ? ['npm', ['start', '--silent']] : [process.execPath, [join('dist', 'main.js')]];
  const startedAt = performance.now();
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    // npm needs HOME (its cache and configuration); the relay reads neither.
    env: { ...world.env(), HOME: process.env.HOME ?? '/tmp', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so that npm, its shell and the relay are stopped together.
    detached: true,
  });
  try {
    const readyAt = await readyLine(child);
    return readyAt - startedAt;
  } finally {
    await stopGroup(child);
  }
}

/** Resolves with performance.now() at the relay's `relay started` line; rejects on exit or time-out. */
function readyLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buffer = '';
    const timer = setTimeout(() => fail('no `relay started` line in time'), READY_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${why}; last lines:\n${lines.slice(-12).join('\n')}`));
    };
    const onData = (chunk: string): void => {
      const at = performance.now();
      buffer += chunk;
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line.startsWith('{') && line.includes('"msg":"relay started"')) {
          clearTimeout(timer);
          resolve(at);
        }
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', onData);
    }
    child.once('error', (error) => fail(`could not spawn: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it was ready`));
  });
}

/** Whether any process of the group led by `pid` is still alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group, SIGKILL after the grace period; resolves once no process of it is left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-pid, name);
    } catch {
      // The group is gone already.
    }
  };
  signal('SIGTERM');
  const deadline = performance.now() + STOP_GRACE_MS;
  while (groupAlive(pid) && performance.now() < deadline) await sleep(20);
  if (groupAlive(pid)) signal('SIGKILL');
  while (groupAlive(pid)) await sleep(20);
}
