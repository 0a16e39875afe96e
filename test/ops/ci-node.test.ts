import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { REPO_ROOT, run } from './redis-server.js';

const NODE_SH = join(REPO_ROOT, '.ci/node.sh');

/**
 * .ci/node.sh without the network: a cache prepared by the test, and an `npm` first on PATH that
 * fails, so that any download attempt shows.
 */
describe('.ci/node.sh', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-ci-node-'));
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin/npm'), '#!/bin/sh\necho "npm must not run: $*" >&2\nexit 99\n');
    await chmod(join(dir, 'bin/npm'), 0o755);
    env = { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, OTP_RELAY_NODE_CACHE: join(dir, 'cache') };
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A cached "Node" of `version` for `major`, made current. */
  const cacheNode = async (major: string, version: string): Promise<string> => {
    const bin = join(dir, 'cache', `node${major}`, version, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'node'), `#!/bin/sh\necho ${version}\n`);
    await chmod(join(bin, 'node'), 0o755);
    await symlink(version, join(dir, 'cache', `node${major}`, 'current'));
    return join(bin, 'node');
  };

  it('takes 22 or 24, and says so otherwise', async () => {
    for (const args of [[], ['20'], ['23'], ['test/unit']]) {
      const result = await run('bash', [NODE_SH, ...args], { env });
      expect(result.code, args.join(' ')).toBe(64);
      expect(result.stderr).toContain('major: 22 or 24');
    }
  });

  it.each(['22', '24'])('uses the cached Node %s without downloading it again', async (major) => {
    const node = await cacheNode(major, `v${major}.99.1`);
    const result = await run('bash', [NODE_SH, major, '--which'], { env });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: `${node} v${major}.99.1\n` });
  });

  it('refuses a cached binary of another line', async () => {
    await cacheNode('22', 'v23.1.0');
    const result = await run('bash', [NODE_SH, '22', '--which'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is Node v23.1.0, not 22.x');
  });

  it('downloads when the cache is empty (here: the failing npm shows the attempt)', async () => {
    const result = await run('bash', [NODE_SH, '24', '--which'], { env });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('npm must not run: pack --silent node-linux-');
    expect(result.stderr).toContain('@24');
  });
});

describe('.ci/run', () => {
  it('runs the suite on Node 20 (npm test), the whole suite on 24, and all but e2e and ops on 22', async () => {
    const script = (await readFile(join(REPO_ROOT, '.ci/run'), 'utf8'))
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    expect(script).toMatch(/^npm test$/m);
    expect(script).toMatch(/^bash \.ci\/node\.sh 24$/m);
    expect(script).toMatch(
      /^ {2}bash \.ci\/node\.sh 22 --exclude 'test\/e2e\/\*\*' --exclude 'test\/ops\/\*\*'$/m,
    );
    expect(script).toMatch(/^ {2}bash \.ci\/node\.sh 22$/m);
  });

  it('installs what the suite needs from Debian when it is missing, promtool (package prometheus) included', async () => {
    const script = await readFile(join(REPO_ROOT, '.ci/run'), 'utf8');
    for (const [probe, pkg] of [
      ['command -v redis-server', 'redis-server'],
      ['command -v redis-sentinel', 'redis-sentinel'],
      ["/usr/bin/python3 -c 'import redis'", 'python3-redis'],
      ['command -v docker-compose', 'docker-compose'],
      ['command -v promtool', 'prometheus'],
    ]) {
      expect(script).toContain(`${probe} >/dev/null 2>&1 || missing+=(${pkg})\n`);
    }
    expect(script).toMatch(/apt-get install -y -qq "\$\{missing\[@\]\}"/);
  });
});
