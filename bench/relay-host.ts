/**
 * The relay for the memory benchmarks (4, and 7's idle RSS of 20 accounts): the production
 * composition (`startRelay` of src/app.ts, as `node dist/main.js` runs it, with the real Discord
 * channel, Redis store and undici broker), configured from the environment by `loadConfig`, with two
 * guards lifted so that 1,000 logins fit in a bench run:
 *
 * - `MAX_LOGINS_PER_HOUR` (1–60 in the configuration) is set past 1,000 on each of the parsed Config's
 *   accounts;
 * - discord.js' client-side global REST limit (50 requests a second, Discord's own) is raised: each
 *   login makes about 7 REST calls (2 prompts, 2 "checking" and 2 "logged in" edits, 1 notice).
 *
 * Neither changes what a login keeps in memory; both only let logins come faster. Runs with
 * --expose-gc and answers `measure` on its IPC channel (see lib/memory-probe.ts).
 */
import { createRequire } from 'node:module';
import { startRelay } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/shared/log.js';
import { serveMemoryProbe } from './lib/memory-probe.js';

// discord.js is CommonJS: its REST is the CommonJS @discordjs/rest, whose defaults every REST takes.
const requireFromDiscord = createRequire(createRequire(import.meta.url).resolve('discord.js'));
const rest = requireFromDiscord('@discordjs/rest') as {
  DefaultRestOptions: { globalRequestsPerSecond: number };
};
rest.DefaultRestOptions.globalRequestsPerSecond = 100_000;

const config = loadConfig(process.env);
const maxLoginsPerHour = Number(process.env.BENCH_MAX_LOGINS_PER_HOUR ?? 100_000);
// Every account's (RELAY_ACCOUNTS: benchmark 7 runs 20 of them), not only the first's.
const lift = <A extends { maxLoginsPerHour: number }>([first, ...rest]: readonly [A, ...A[]]): [
  A,
  ...A[],
] => [{ ...first, maxLoginsPerHour }, ...rest.map((account) => ({ ...account, maxLoginsPerHour }))];
const relay = await startRelay(
  config.sandbox
    ? { ...config, accounts: lift(config.accounts) }
    : { ...config, accounts: lift(config.accounts) },
  createLogger({ level: config.logLevel }),
);
serveMemoryProbe(() => relay.stop());
process.send?.({ type: 'ready', httpUrl: relay.httpUrl });
