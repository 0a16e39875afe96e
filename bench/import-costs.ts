/**
 * What each top-level import of the relay's start costs: run by bench 5 (startup.ts) in fresh
 * processes, `node .bench-build/bench/import-costs.js [dist/main.js]` (default: BENCH_RELAY_MAIN,
 * else the repository's); prints one JSON line, {@link ImportCostRun}.
 *
 * The rows are the modules the start loads, in the order it loads them: from `main.js`, the modules
 * it imports with `import()` (`relay-process.js`, then `app.js`), each preceded by its static
 * relative imports not listed yet. `main.js` itself is never imported (it would start a relay). Each
 * row is `await import()`ed after the ones above it in the same process, so its cost is what it adds:
 * its own code and whatever packages it is the first to load, which the row names (CommonJS
 * packages, from `require.cache`; an ES-module package such as keyv counts in its row unnamed).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RELAY_MAIN } from './lib/child.js';

/** One row as measured in one process. */
export interface ImportCostSample {
  /** The module, relative to dist/ (`app.js`, `operators/discord-channel.js`). */
  readonly module: string;
  /** From the `import()` call to its settling, in ms. */
  readonly wallMs: number;
  /** CPU time (user + system, all threads) spent meanwhile, in ms. */
  readonly cpuMs: number;
  /** CommonJS packages first loaded by this row, in load order. */
  readonly packages: readonly string[];
}

/** What the child prints. */
export interface ImportCostRun {
  readonly rows: readonly ImportCostSample[];
}

const STATIC_IMPORT = /(?:^|[\n;])\s*(?:import|export)\s+[\w*\s{},$]*?\s*from\s*['"](\.[^'"]+)['"]/g;
const SIDE_EFFECT_IMPORT = /(?:^|[\n;])\s*import\s*['"](\.[^'"]+)['"]/g;
const DYNAMIC_IMPORT = /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function importsOf(file: string): { readonly static: string[]; readonly dynamic: string[] } {
  const source = readFileSync(file, 'utf8');
  const resolve = (specifier: string): string => join(dirname(file), specifier);
  const matches = (pattern: RegExp): string[] =>
    [...source.matchAll(pattern)].map((match) => resolve(match[1]!));
  return {
    static: [...matches(STATIC_IMPORT), ...matches(SIDE_EFFECT_IMPORT)],
    dynamic: matches(DYNAMIC_IMPORT),
  };
}

/**
 * The modules `main` loads on its way to the relay, in order (see the file's comment). `app.js` next
 * to `main` is always one of the chain, whether `main` (or `relay-process.js`) imports it statically
 * or not, so that an older build's rows compare with a newer one's.
 */
export function startRows(main: string): string[] {
  const app = join(dirname(main), 'app.js');
  const rows: string[] = [];
  const listed = new Set<string>([main]);
  const add = (file: string): void => {
    if (listed.has(file)) return;
    listed.add(file);
    rows.push(file);
  };
  const chain = (file: string): void => {
    const imports = importsOf(file);
    const next = [...imports.dynamic, ...imports.static.filter((target) => target === app)];
    for (const target of imports.static) if (target !== app) add(target);
    if (file !== main) add(file);
    for (const target of next) if (!listed.has(target)) chain(target);
  };
  chain(main);
  if (!listed.has(app)) chain(app);
  return rows;
}

function packagesIn(cache: Iterable<string>): string[] {
  const names: string[] = [];
  for (const file of cache) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(file);
    if (match !== null && !names.includes(match[1]!)) names.push(match[1]!);
  }
  return names;
}

async function main(): Promise<void> {
  const relayMain = process.argv[2] ?? RELAY_MAIN;
  const distDir = dirname(relayMain);
  const cache = createRequire(relayMain).cache;
  const rows: ImportCostSample[] = [];
  for (const file of startRows(relayMain)) {
    const before = new Set(packagesIn(Object.keys(cache)));
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await import(pathToFileURL(file).href);
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    rows.push({
      module: file.slice(distDir.length + 1),
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      packages: packagesIn(Object.keys(cache)).filter((name) => !before.has(name)),
    });
  }
  process.stdout.write(`${JSON.stringify({ rows } satisfies ImportCostRun)}\n`);
  // Some modules leave handles (pino's worker, timers): the measurement is over.
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
