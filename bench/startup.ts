/**
 * Benchmark 5, "start-up": from spawning `node dist/main.js` to its `relay started` log line (Redis
 * and the Discord gateway connected, slash commands registered, the published token checked with
 * the broker), with a valid token already published so that no login starts; against spawning
 * `node -e 0` until it exits.
 */
import { RELAY_MAIN, RELAY_NODE_ARGS, spawnNode } from './lib/child.js';
import { summarize, type Summary } from './lib/stats.js';
import { publishValidToken, startBenchWorld } from './lib/world.js';

export interface StartupOptions {
  runs: number;
  warmupRuns: number;
}

export interface StartupResult {
  readonly relay: Summary;
  readonly bare: Summary;
  /** From spawn to the relay's first log line (module loading and configuration, mostly). */
  readonly firstLine: Summary;
}

export async function benchStartup(options: StartupOptions): Promise<StartupResult> {
  const world = await startBenchWorld('startup');
  try {
    await publishValidToken(world);
    const relay: number[] = [];
    const bare: number[] = [];
    const firstLine: number[] = [];
    for (let run = 0; run < options.warmupRuns + options.runs; run += 1) {
      const timed = run >= options.warmupRuns;
      // Alternate which goes first, so neither always runs on the heels of the other.
      const order = run % 2 === 0 ? [startRelay, startBare] : [startBare, startRelay];
      for (const start of order) {
        const result = await start();
        if (!timed) continue;
        if (start === startRelay) {
          relay.push(result.readyMs);
          firstLine.push(result.firstLineMs);
        } else {
          bare.push(result.readyMs);
        }
      }
    }
    return { relay: summarize(relay), bare: summarize(bare), firstLine: summarize(firstLine) };
  } finally {
    await world.close();
  }

  async function startRelay(): Promise<{ readyMs: number; firstLineMs: number }> {
    const startedAt = performance.now();
    const child = spawnNode(RELAY_MAIN, { env: world.env(), nodeArgs: RELAY_NODE_ARGS });
    let result: { readyMs: number; firstLineMs: number };
    try {
      const first = await child.waitForLine(() => true);
      const ready = await child.waitForLine((line) => line.msg === 'relay started');
      if (!child.lines.some((line) => line.includes('"msg":"published token kept"'))) {
        throw new Error('the relay did not keep the published token');
      }
      result = { readyMs: ready.at - startedAt, firstLineMs: first.at - startedAt };
    } catch (error) {
      await child.stop();
      throw error;
    }
    const code = await child.stop();
    if (code !== 0) throw new Error(`the relay exited with ${code} after SIGTERM`);
    return result;
  }

  async function startBare(): Promise<{ readyMs: number; firstLineMs: number }> {
    const startedAt = performance.now();
    // `node -e 0`, spawned the same way as the relay (same pipes, same scratch folder).
    const child = spawnNode('0', { env: { PATH: process.env.PATH ?? '' }, nodeArgs: ['-e'] });
    const code = await child.exited;
    const readyMs = performance.now() - startedAt;
    if (code !== 0) throw new Error(`node -e 0 exited with ${code}`);
    return { readyMs, firstLineMs: readyMs };
  }
}
