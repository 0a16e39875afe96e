#!/usr/bin/env node
// `npm start` and `npm run demo` run this first: it compiles only when dist/ is missing or older
// than the sources (DESIGN.md, "Running"), so an unchanged checkout starts as fast as
// `node dist/main.js`, and two relays started at once do not both run tsc for nothing.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = join(root, 'dist', 'main.js');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time (ms) under `path`, a file or a folder. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted or renamed source changes its folder's time
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const sources = Math.max(...INPUTS.map((input) => newest(join(root, input))));
if (built >= sources) process.exit(0);

process.stderr.write(
  built === 0 ? 'otp-relay: building (no dist/)\n' : 'otp-relay: sources changed; building\n',
);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--noEmitOnError'],
  { stdio: 'inherit' },
);
if (result.status !== 0) process.exit(result.status ?? 1);
