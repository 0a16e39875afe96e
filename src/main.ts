/**
 * The process's entry (`node dist/main.js`): turns Node's module compile cache on, reads `.env`,
 * and hands the environment to src/relay-process.ts, which does the rest (Config, the relay, signals
 * and shutdown). The only module (with the demo) that reads `process.env`.
 *
 * The rest is loaded with `import()`, after the cache is on: static imports are hoisted, so they
 * would all be loaded and compiled before the first line here runs.
 */
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node 22.1+ keeps the compiled code of the modules on disk and reuses it at the next start
// (compiling discord.js and @redis/client is a good part of the start-up). Node 20 has no such API:
// the call is skipped there and costs nothing. Node skips a cache it cannot write (a read-only file
// system) by itself, and NODE_DISABLE_COMPILE_CACHE=1 turns it off.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// A .env file is a convenience for one machine; real environment variables win over it.
if (existsSync('.env')) process.loadEnvFile('.env');

const { runRelayProcess } = await import('./relay-process.js');
await runRelayProcess(process.env);
