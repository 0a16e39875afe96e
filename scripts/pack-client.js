#!/usr/bin/env node
/**
 * Packs the client library (`otp-relay/client`) into a tarball bots install on their own:
 *
 *   npm run pack:client                    build, then dist/otp-relay-client-<version>.tgz
 *   node scripts/pack-client.js --out DIR  from the existing build, into DIR
 *
 * The package holds dist/client and exactly the contract/, redis/ and shared/ modules it imports (followed
 * from dist/client/index.js, in the compiled JavaScript and its .d.ts), with src/client/README.md
 * as its README. Its one dependency is @redis/client: any other import fails the pack, so that
 * nothing of the relay (discord.js, pino, ...) can slip in. Prints the tarball's path on stdout.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const DIST = join(ROOT, 'dist');
const ENTRY = 'client/index.js';
/** The only packages the client may import; `node:` built-ins are always allowed. */
const ALLOWED_PACKAGES = new Set(['@redis/client']);

const { values } = parseArgs({ options: { out: { type: 'string', default: DIST } } });
const outDir = resolve(values.out);

function fail(message) {
  process.stderr.write(`pack-client: ${message}\n`);
  process.exit(1);
}

/** Every import specifier of a compiled module or declaration file (static and dynamic). */
function specifiersOf(text) {
  const found = new Set();
  for (const match of text.matchAll(/(?:^|[\s;}])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g))
    found.add(match[1]);
  for (const match of text.matchAll(/(?:^|[\s;])import\s*\(?\s*['"]([^'"]+)['"]/g)) found.add(match[1]);
  return found;
}

/** The modules (paths relative to dist/, `.js`) reachable from the entry, and the packages they use. */
function closure() {
  const modules = new Set();
  const packages = new Set();
  const queue = [ENTRY];
  while (queue.length > 0) {
    const module = queue.pop();
    if (modules.has(module)) continue;
    modules.add(module);
    for (const file of [module, module.replace(/\.js$/, '.d.ts')]) {
      const path = join(DIST, file);
      if (!existsSync(path)) fail(`${relative(ROOT, path)} is missing: run npm run build first`);
      for (const specifier of specifiersOf(readFileSync(path, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = relative(DIST, resolve(dirname(path), specifier)).replace(/\.d\.ts$/, '.js');
          if (target.startsWith('..')) fail(`${file} imports ${specifier}, outside dist/`);
          queue.push(target);
        } else if (!specifier.startsWith('node:')) {
          packages.add(specifier);
        }
      }
    }
  }
  return { modules: [...modules].sort(), packages };
}

const { modules, packages } = closure();
const forbidden = [...packages].filter((name) => !ALLOWED_PACKAGES.has(name));
if (forbidden.length > 0) fail(`the client imports ${forbidden.join(', ')}: only @redis/client is allowed`);
const outside = modules.filter((m) => !/^(client|contract|redis|shared)\//.test(m));
if (outside.length > 0)
  fail(`the client reaches ${outside.join(', ')}: only client/, contract/, redis/ and shared/`);

const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const redisVersion = root.dependencies?.['@redis/client'];
if (!redisVersion) fail('package.json has no @redis/client dependency');

const work = mkdtempSync(join(tmpdir(), 'otp-relay-pack-client-'));
try {
  const staging = join(work, 'package');
  for (const module of modules) {
    for (const file of [module, module.replace(/\.js$/, '.d.ts')]) {
      mkdirSync(dirname(join(staging, file)), { recursive: true });
      // Without the source map comment: the maps point at sources the package does not hold.
      const text = readFileSync(join(DIST, file), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
      writeFileSync(join(staging, file), text);
    }
  }
  copyFileSync(join(ROOT, 'src/client/README.md'), join(staging, 'README.md'));
  const manifest = {
    name: 'otp-relay',
    version: root.version,
    description: 'Client library for trading bots: reads the token otp-relay publishes in Redis',
    type: 'module',
    engines: root.engines,
    exports: {
      './client': { types: './client/index.d.ts', default: './client/index.js' },
      './package.json': './package.json',
    },
    // A range, so that a bot's own @redis/client 5 is shared rather than installed twice.
    dependencies: { '@redis/client': `^${redisVersion.replace(/^[^0-9]*/, '')}` },
    sideEffects: false,
  };
  writeFileSync(join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  mkdirSync(outDir, { recursive: true });
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: staging,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  )[0];
  const target = join(outDir, `otp-relay-client-${root.version}.tgz`);
  rmSync(target, { force: true });
  try {
    renameSync(join(work, packed.filename), target);
  } catch {
    copyFileSync(join(work, packed.filename), target);
  }
  process.stderr.write(
    `pack-client: ${packed.entryCount} files, ${statSync(target).size} bytes packed (${packed.unpackedSize} unpacked)\n`,
  );
  process.stdout.write(`${target}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
