/**
 * Benchmark 5, "start-up": from spawning `node dist/main.js` to its `relay started` log line (Redis
 * and the Discord gateway connected, slash commands registered, the published token checked with
 * the broker), with a valid token already published so that no login starts; against spawning
 * `node -e 0` until it exits. Also what each top-level import of the start costs
 * (bench/import-costs.ts), measured in fresh processes of their own.
 */
import { benchScript, RELAY_MAIN, RELAY_NODE_ARGS, spawnNode } from './lib/child.js';
import type { ImportCostRun } from './import-costs.js';
import { fmt, summarize, type Summary } from './lib/stats.js';
import { publishValidToken, startBenchWorld } from './lib/world.js';

export interface StartupOptions {
  runs: number;
  warmupRuns: number;
  /** Fresh processes that measure the imports (median per row); 0 leaves them out. Default 5. */
  importRuns?: number;
  /** Print the import table to stderr as soon as it is measured. Default true. */
  printImports?: boolean;
}

/** What one top-level import of the start adds, over `importRuns` fresh processes. */
export interface ImportCost {
  /** The module under dist/, in the order the start loads them. */
  readonly module: string;
  /** From `import()` to its settling, ms. */
  readonly wallMs: Summary;
  /** CPU time meanwhile (user + system, every thread, so a background compile counts too), ms. */
  readonly cpuMs: Summary;
  /** CommonJS packages this import is the first to load (from the first process). */
  readonly packages: readonly string[];
}

export interface StartupResult {
  readonly relay: Summary;
  readonly bare: Summary;
  /** From spawn to the relay's first log line (module loading and configuration, mostly). */
  readonly firstLine: Summary;
  /** What each top-level import of the start costs, in load order (empty with `importRuns: 0`). */
  readonly imports: readonly ImportCost[];
}

/**
 * Runs bench/import-costs.ts in `runs` fresh processes (after one unmeasured, which warms the file
 * cache) against the relay build of bench 5, and takes the median of each row.
 */
export async function measureImportCosts(runs: number): Promise<ImportCost[]> {
  const samples: ImportCostRun[] = [];
  for (let run = 0; run < runs + 1; run += 1) {
    const child = spawnNode(benchScript('import-costs'), {
      // The build bench 5 starts (BENCH_RELAY_MAIN, else the repository's dist/).
      env: { PATH: process.env.PATH ?? '', BENCH_RELAY_MAIN: RELAY_MAIN },
      nodeArgs: [],
    });
    const code = await child.exited;
    const line = child.lines.find((text) => text.startsWith('{"rows"'));
    if (code !== 0 || line === undefined) {
      throw new Error(`import-costs exited with ${code}:\n${child.lines.slice(-12).join('\n')}`);
    }
    if (run > 0) samples.push(JSON.parse(line) as ImportCostRun);
  }
  return samples[0]!.rows.map((row, index) => ({
    module: row.module,
    packages: row.packages,
    wallMs: summarize(samples.map((sample) => sample.rows[index]!.wallMs)),
    cpuMs: summarize(samples.map((sample) => sample.rows[index]!.cpuMs)),
  }));
}

/** The import costs as a markdown table (median wall and CPU time per row, and the total). */
export function formatImportCosts(imports: readonly ImportCost[]): string {
  const total = (pick: (cost: ImportCost) => number): string =>
    fmt(imports.reduce((sum, cost) => sum + pick(cost), 0));
  return [
    '| Import (dist/, load order) | Wall ms (median) | CPU ms (median) | Packages it loads first |',
    '|---|---|---|---|',
    ...imports.map(
      (cost) =>
        `| ${cost.module} | ${fmt(cost.wallMs.median)} | ${fmt(cost.cpuMs.median)} | ${cost.packages.join(', ')} |`,
    ),
    `| **all** | ${total((cost) => cost.wallMs.median)} | ${total((cost) => cost.cpuMs.median)} | |`,
  ].join('\n');
}

export async function benchStartup(options: StartupOptions): Promise<StartupResult> {
  const imports = await measureImportCosts(options.importRuns ?? 5);
  if ((options.printImports ?? true) && imports.length > 0) {
    process.stderr.write(`bench: what each import of the start costs:\n${formatImportCosts(imports)}\n`);
  }
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
    return { relay: summarize(relay), bare: summarize(bare), firstLine: summarize(firstLine), imports };
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
