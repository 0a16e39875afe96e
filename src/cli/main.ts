#!/usr/bin/env node
/**
 * `otp-relay code <CODE> [--account NAME]` (docs/contract.md#running): the entry of the `otp-relay`
 * command (package.json's `bin`, through scripts/otp-relay.js; `/usr/local/bin/otp-relay` in the
 * image). Reads `.env` and the environment as the relay does (real variables win), and only the
 * relay's Redis settings; the rest is cli/run.ts and cli/code.ts. Like src/main.ts, it reads `process.env`.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { cliUserName } from '../contract/cli-message.js';
import { EXIT } from './code.js';
import { runCli } from './run.js';

async function main(): Promise<number> {
  return runCli({
    argv: process.argv.slice(2),
    env: () => {
      // A .env file is a convenience for one machine; real environment variables win over it.
      if (existsSync('.env')) process.loadEnvFile('.env');
      return process.env;
    },
    user: osUser(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

/** Who runs the CLI, for the audit trail: the OS user's name, or what the environment says. */
function osUser(): string {
  try {
    return cliUserName(userInfo().username);
  } catch {
    // A uid with no entry in /etc/passwd (a container run as an arbitrary uid).
    return cliUserName(process.env.USER ?? process.env.LOGNAME ?? `uid-${process.getuid?.() ?? 'unknown'}`);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  // The name and message only: a stack could carry what was sent.
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`otp-relay: ${name}: ${message}\n`);
  process.exitCode = EXIT.refused;
}
// Every connection is closed by now; a handle left open must not keep the command waiting.
setTimeout(() => process.exit(), 2_000).unref();
