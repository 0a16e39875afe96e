import { execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  renderAcl,
  run,
  startRedisServer,
  testPasswords,
  type RedisServer,
  type RenderedAcl,
} from './redis-server.js';

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const DOCKER_COMPOSE = hasDockerCompose();

/**
 * The lines of one service of the compose file (no YAML parser among the dependencies: the file
 * is ours and indented by prettier, so its layout is known).
 */
function service(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start < 0) throw new Error(`no service ${name} in docker-compose.yml`);
  const end = lines.findIndex((line, index) => index > start && /^ {0,2}\S/.test(line));
  return lines
    .slice(start, end < 0 ? undefined : end)
    .filter((line) => !/^\s*#/.test(line))
    .join('\n');
}

describe('docker-compose.yml', () => {
  let text: string;
  let redis: string;
  let relay: string;

  beforeAll(async () => {
    text = await readFile(COMPOSE_FILE, 'utf8');
    redis = service(text, 'redis');
    relay = service(text, 'relay');
  });

  describe.skipIf(!DOCKER_COMPOSE)('docker-compose config (skipped: docker-compose is not installed)', () => {
    let project: string;

    beforeAll(async () => {
      // A project directory of its own: .env is read from there, and the repository's own .env,
      // if a developer has one, is neither needed nor touched.
      project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-'));
    });

    afterAll(async () => {
      await rm(project, { recursive: true, force: true });
    });

    const config = (...args: string[]) =>
      run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, 'config', ...args], {
        env: { PATH: process.env.PATH },
      });

    it('is valid with .env.example and the two compose-only passwords', async () => {
      const passwords = testPasswords();
      await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
      await writeFile(
        join(project, '.env'),
        `${await readFile(join(project, '.env'), 'utf8')}\nRELAY_REDIS_PASSWORD=${passwords.relay}\nBOT_REDIS_PASSWORD=${passwords.bot}\n`,
      );
      const result = await config('-q');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const resolved = await config();
      expect(resolved.stdout).toContain(`REDIS_URL: redis://relay:${passwords.relay}@redis:6379`);
    });

    it('refuses to start without the Redis passwords, and says which one is missing', async () => {
      await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
      const result = await config('-q');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/set (RELAY|BOT)_REDIS_PASSWORD in \.env/);
    });
  });

  it('runs Redis 7 with the rendered ACL file and the append-only file in a named volume', () => {
    expect(redis).toMatch(/image: redis:7[.\d]*-alpine/);
    expect(redis).toContain('/etc/otp-relay/render-acl.sh');
    expect(redis).toMatch(/- \/etc\/otp-relay\/users\.acl\.template\n\s+- \/run\/otp-relay\/users\.acl\n/);
    expect(redis).toMatch(/command:.*'--aclfile', '\/run\/otp-relay\/users\.acl'/);
    expect(redis).toMatch(/command:.*'--appendonly', 'yes'/);
    expect(redis).not.toMatch(/'--appendonly', 'no'/);
    // The image's working directory, where redis-server keeps its files by default.
    expect(redis).toMatch(/^\s+- redis-data:\/data$/m);
    expect(text).toMatch(/^volumes:\n(?:\s+#.*\n)*\s+redis-data:\s*$/m);
    expect(redis).toContain('- /run/otp-relay');
  });

  it("keeps what Redis holds across a restart, with the compose file's own arguments", async () => {
    const words = [...(/command: \[(.*)\]/.exec(redis)?.[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    expect(words[0]).toBe('redis-server');
    // Everything but the ACL file (rendered in the container), on a socket in a directory of its own.
    const aclAt = words.indexOf('--aclfile');
    const args = words.slice(1).filter((_, index) => index + 1 !== aclAt && index + 1 !== aclAt + 1);
    const dir = await mkdtemp(join(tmpdir(), 'otp-relay-aof-'));
    const socket = join(dir, 'redis.sock');
    const cli = async (...command: string[]) =>
      (await run('redis-cli', ['-s', socket, ...command])).stdout.trim();
    const start = async (): Promise<() => Promise<void>> => {
      const child = spawn(
        'redis-server',
        [...args, '--port', '0', '--unixsocket', socket, '--dir', dir, '--logfile', ''],
        { stdio: 'ignore' },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 10_000;
      while ((await cli('PING').catch(() => '')) !== 'PONG') {
        if (Date.now() > deadline) throw new Error('redis-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return async () => {
        child.kill('SIGTERM');
        await exited;
      };
    };
    try {
      let stop = await start();
      expect(await cli('SET', 'otp-relay:generation:default', '1760000042')).toBe('OK');
      await stop();
      stop = await start();
      try {
        expect(await cli('GET', 'otp-relay:generation:default')).toBe('1760000042');
      } finally {
        await stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('mounts the ACL template and the render script from deploy/redis, read-only', async () => {
    for (const file of ['users.acl.template', 'render-acl.sh']) {
      expect(redis).toContain(`- ./deploy/redis/${file}:/etc/otp-relay/${file}:ro`);
      expect((await stat(join(REPO_ROOT, 'deploy/redis', file))).isFile()).toBe(true);
    }
  });

  it('takes both passwords from .env, required', () => {
    expect(redis).toContain('RELAY_REDIS_PASSWORD: ${RELAY_REDIS_PASSWORD:?');
    expect(redis).toContain('BOT_REDIS_PASSWORD: ${BOT_REDIS_PASSWORD:?');
    expect(redis).toContain('REDISCLI_AUTH: ${RELAY_REDIS_PASSWORD}');
  });

  it('publishes ports on loopback only', () => {
    const ports = [...text.matchAll(/^\s+- ['"]?([\d.:]+)['"]?$/gm)].map((match) => match[1]!);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(relay).toContain("- '127.0.0.1:8080:8080'");
  });

  it('starts the relay from the Dockerfile, once Redis is healthy, as the relay user', () => {
    expect(relay).toMatch(/^\s+build: \.$/m);
    expect(relay).toMatch(/^\s+env_file: \.env$/m);
    expect(relay).toContain('REDIS_URL: redis://relay:${RELAY_REDIS_PASSWORD}@redis:6379');
    expect(relay).toMatch(/depends_on:\n\s+redis:\n\s+condition: service_healthy/);
    expect(relay).toMatch(/^\s+restart: on-failure$/m);
    expect(relay).toContain("HTTP_PORT: '8080'");
  });

  describe('the Redis healthcheck', () => {
    let passwords: { relay: string; bot: string };
    let acl: RenderedAcl | undefined;
    let server: RedisServer | undefined;
    let healthcheck: string;

    beforeAll(async () => {
      const match = /test: \['CMD-SHELL', '([^']+)'\]/.exec(redis);
      if (match === null) throw new Error('no CMD-SHELL healthcheck in the redis service');
      healthcheck = match[1]!;
      passwords = testPasswords();
      acl = await renderAcl(passwords);
      server = await startRedisServer({ aclFile: acl.path });
    });

    afterAll(async () => {
      await server?.stop();
      await acl?.remove();
    });

    // The same command, pointed at this test's server instead of the container's default port.
    const check = (password: string) =>
      run('sh', ['-c', healthcheck.replace(/^redis-cli /, `redis-cli -p ${server!.port} `)], {
        env: { PATH: process.env.PATH, REDISCLI_AUTH: password },
      });

    it('logs in as the relay user, with no password on its command line', () => {
      expect(healthcheck).toMatch(/^redis-cli --no-auth-warning --user relay ping \| grep -q PONG$/);
    });

    it('passes with the relay password', async () => {
      const result = await check(passwords.relay);
      expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('fails with a wrong password, although redis-cli itself exits 0', async () => {
      expect((await check(passwords.bot)).code).not.toBe(0);
      expect((await check('')).code).not.toBe(0);
    });
  });
});
