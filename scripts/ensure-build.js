#!/usr/bin/env node
// Compiles only when dist/ is missing or older than the sources (docs/contract.md#running), so that an
// unchanged checkout starts as fast as `node dist/main.js`, and two relays started at once do not both
// run tsc for nothing. `npm start` runs it in the relay's own process (scripts/start.js); `npm run
// demo` runs it as a step of its own (`predemo`).
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsc writes every output file at each build (none is skipped as unchanged), main.js included.
const STAMP = join(root, 'dist', 'main.js');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/**
 * Whether anything under `path` (a file or a folder) was modified after `since` (ms). Stops at the
 * first such entry: an unchanged checkout is the case to make cheap, and it is a stat per file.
 */
function changedSince(path, since) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return false;
  // A folder's time changes when a file in it is added, deleted or renamed.
  if (stat.mtimeMs > since) return true;
  if (!stat.isDirectory()) return false;
  return readdirSync(path).some((entry) => changedSince(join(path, entry), since));
}

/**
 * Builds dist/ with tsc when it is missing or older than one of the inputs; returns once it is up
 * to date. Exits the process with tsc's status when the build fails.
 */
export function ensureBuilt() {
  const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs;
  if (built !== undefined && !INPUTS.some((input) => changedSince(join(root, input), built))) return;
  process.stderr.write(
    built === undefined ? 'otp-relay: building (no dist/)\n' : 'otp-relay: sources changed; building\n',
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', join(root, 'tsconfig.build.json'), '--noEmitOnError'],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) ensureBuilt();
