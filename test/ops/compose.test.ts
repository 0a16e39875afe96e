import { execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, SECRET_FILE_VARIABLES } from '../../src/config/index.js';
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
      // The relay service, as docker-compose resolved it: no password of .env reaches it.
      const relayResolved = service(resolved.stdout, 'relay');
      expect(relayResolved).toContain('REDIS_URL_FILE: /run/secrets/redis_url');
      expect(relayResolved).not.toContain(passwords.relay);
      expect(relayResolved).not.toContain(passwords.bot);
      expect(relayResolved).not.toMatch(/REDIS_PASSWORD/);
      // .env.example's secrets (ETNA_PASSWORD=your-password, ...) stay in .env too.
      for (const variable of CONFIG_VARIABLES.filter((v) => v.secret)) {
        expect(relayResolved).not.toMatch(new RegExp(`^\\s+${variable.name}:`, 'm'));
      }
      expect(relayResolved).not.toContain('your-password');
      // The secret files, resolved against the project directory.
      for (const { secret } of SECRET_FILE_VARIABLES) {
        const name = secret.toLowerCase();
        expect(resolved.stdout).toContain(`  ${name}:\n    file: ${join(project, 'secrets', name)}\n`);
      }
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
    expect(relay).toMatch(/depends_on:\n\s+redis:\n\s+condition: service_healthy/);
    expect(relay).toMatch(/^\s+restart: on-failure$/m);
    expect(relay).toContain("HTTP_PORT: '8080'");
  });

  it('passes the relay each setting of .env by name, and nothing else of it', () => {
    // Not env_file: that would hand the relay every line of .env, the bots' Redis password included.
    expect(relay).not.toMatch(/env_file/);
    expect(relay).not.toMatch(/REDIS_PASSWORD/);
    for (const variable of CONFIG_VARIABLES) {
      if (variable.secret) continue;
      if (variable.name === 'HTTP_HOST' || variable.name === 'HTTP_PORT') continue;
      // A try-out at a terminal, never the deployment: a SANDBOX=true left in .env must not turn
      // the compose relay, which has no terminal, into one (docs/operations.md).
      if (variable.name === 'SANDBOX') continue;
      expect(relay, variable.name).toContain(`      ${variable.name}: \${${variable.name}:-}\n`);
    }
    expect(relay).toContain('HTTP_HOST: 0.0.0.0');
    expect(relay).not.toContain('SANDBOX');
  });

  it("gives the relay every secret as a Docker secret file, and no secret's value", () => {
    const topLevel = /^secrets:\n((?: {2,}.*\n?)+)/m.exec(text.replace(/^\s*#.*\n/gm, ''))?.[1] ?? '';
    const mounted = /^ {4}secrets:\n((?: {6}- .*\n)+)/m.exec(relay)?.[1] ?? '';
    for (const { name: fileVariable, secret } of SECRET_FILE_VARIABLES) {
      const name = secret.toLowerCase();
      expect(relay, secret).not.toMatch(new RegExp(`^\\s+${secret}:`, 'm'));
      expect(relay).toContain(`      ${fileVariable}: /run/secrets/${name}\n`);
      expect(mounted).toContain(`      - ${name}\n`);
      expect(topLevel).toContain(`  ${name}:\n    file: ./secrets/${name}\n`);
    }
  });

  it('keeps the secret files out of git and out of the image', async () => {
    expect(await readFile(join(REPO_ROOT, '.gitignore'), 'utf8')).toMatch(/^\/?secrets\/$/m);
    // .dockerignore is an allow-list: secrets/ is not on it.
    const dockerignore = await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8');
    expect(dockerignore).toMatch(/^\*$/m);
    expect(dockerignore).not.toMatch(/^!secrets/m);
  });

  it('runs the relay on a read-only root file system, without capabilities or a way to gain any', () => {
    expect(relay).toMatch(/^ {4}read_only: true$/m);
    expect(relay).toMatch(/^ {4}tmpfs:\n {6}- \/tmp$/m);
    expect(relay).toMatch(/^ {4}cap_drop:\n {6}- ALL$/m);
    expect(relay).toMatch(/^ {4}security_opt:\n {6}- no-new-privileges:true$/m);
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
