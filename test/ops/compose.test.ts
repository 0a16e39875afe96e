import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, SECRET_FILE_VARIABLES } from '../../src/config/index.js';
import { COMPOSE_FILE, hasDockerCompose, service, serviceNames } from './compose-file.js';
import {
  ACL_TEMPLATE,
  REPO_ROOT,
  RENDER_ACL,
  renderAcl,
  run,
  startRedisServer,
  testPasswords,
  type RedisServer,
  type RenderedAcl,
} from './redis-server.js';

const DOCKER_COMPOSE = hasDockerCompose();

/** The Redis passwords, each a secret file mounted into the Redis services only. */
const REDIS_PASSWORD_SECRETS = ['relay_redis_password', 'bot_redis_password'];

/** Host ports of .env, with the defaults they had when they were fixed. */
const HOST_PORTS = [
  { variable: 'REDIS_HOST_PORT', service: 'redis', host: 6379, container: 6379 },
  { variable: 'RELAY_HTTP_HOST_PORT', service: 'relay', host: 8080, container: 8080 },
  { variable: 'PROMETHEUS_HOST_PORT', service: 'prometheus', host: 9090, container: 9090 },
  { variable: 'GRAFANA_HOST_PORT', service: 'grafana', host: 3000, container: 3000 },
];

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

    const compose = (...args: string[]) =>
      run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, ...args], {
        env: { PATH: process.env.PATH },
      });
    const config = (...args: string[]) => compose('config', ...args);

    it('is valid with .env.example as it is, and no service gets a password in its environment', async () => {
      await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
      const result = await config('-q');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const resolved = await config();
      // The relay service, as docker-compose resolved it: no password of .env reaches it.
      const relayResolved = service(resolved.stdout, 'relay');
      expect(relayResolved).toContain('REDIS_URL_FILE: /run/secrets/redis_url');
      expect(relayResolved).not.toMatch(/REDIS_PASSWORD/);
      // .env.example's secrets (ETNA_PASSWORD=your-password, ...) stay in .env too.
      for (const variable of CONFIG_VARIABLES.filter((v) => v.secret)) {
        expect(relayResolved).not.toMatch(new RegExp(`^\\s+${variable.name}:`, 'm'));
      }
      expect(relayResolved).not.toContain('your-password');
      // Redis gets the paths of its password files, and nothing else.
      const redisResolved = service(resolved.stdout, 'redis');
      expect(/^ {4}environment:\n((?: {6}.*\n)+)/m.exec(`${redisResolved}\n`)?.[1]).toBe(
        '      BOT_REDIS_PASSWORD_FILE: /run/secrets/bot_redis_password\n' +
          '      RELAY_REDIS_PASSWORD_FILE: /run/secrets/relay_redis_password\n',
      );
      // No service anywhere has a password variable (only *_FILE paths) or REDISCLI_AUTH.
      expect(resolved.stdout).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
      expect(resolved.stdout).not.toMatch(/^\s+REDISCLI_AUTH:/m);
      // The secret files, resolved against the project directory.
      const secretNames = [
        ...SECRET_FILE_VARIABLES.map(({ secret }) => secret.toLowerCase()),
        ...REDIS_PASSWORD_SECRETS,
      ];
      for (const name of secretNames) {
        expect(resolved.stdout).toContain(`  ${name}:\n    file: ${join(project, 'secrets', name)}\n`);
      }
    });

    it("publishes each service on the host port .env gives, today's by default, on loopback", async () => {
      const published = async (env: string) => {
        await writeFile(join(project, '.env'), env);
        const resolved = await compose('--profile', 'monitoring', 'config');
        expect(resolved.code).toBe(0);
        return Object.fromEntries(
          HOST_PORTS.map(({ service: name }) => [
            name,
            [...service(resolved.stdout, name).matchAll(/^ {4}- (\S+)$/gm)]
              .map((match) => match[1]!)
              .filter((entry) => /^[\d.]+:\d+:\d+/.test(entry)),
          ]),
        );
      };
      const example = await readFile(join(REPO_ROOT, '.env.example'), 'utf8');
      expect(await published(example)).toEqual(
        Object.fromEntries(HOST_PORTS.map((p) => [p.service, [`127.0.0.1:${p.host}:${p.container}/tcp`]])),
      );
      const moved = HOST_PORTS.map((p, index) => `${p.variable}=${16379 + index}`).join('\n');
      expect(await published(`${example}\n${moved}\n`)).toEqual(
        Object.fromEntries(
          HOST_PORTS.map((p, index) => [p.service, [`127.0.0.1:${16379 + index}:${p.container}/tcp`]]),
        ),
      );
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

  it('reads the Redis passwords from secret files, never from its environment', () => {
    expect(redis).toContain('RELAY_REDIS_PASSWORD_FILE: /run/secrets/relay_redis_password\n');
    expect(redis).toContain('BOT_REDIS_PASSWORD_FILE: /run/secrets/bot_redis_password\n');
    expect(/^ {4}secrets:\n((?: {6}- .*\n)+)/m.exec(`${redis}\n`)?.[1]).toBe(
      REDIS_PASSWORD_SECRETS.map((name) => `      - ${name}\n`).join(''),
    );
    const topLevel = /^secrets:\n((?: {2,}.*\n?)+)/m.exec(text.replace(/^\s*#.*\n/gm, ''))?.[1] ?? '';
    for (const name of REDIS_PASSWORD_SECRETS) {
      expect(topLevel).toContain(`  ${name}:\n    file: ./secrets/${name}\n`);
      // Not the relay's: it has its own password in secrets/redis_url, and never the bots'.
      expect(relay).not.toContain(name);
    }
    // No password variable, no interpolation of one, in any service of the file.
    expect(text).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
    expect(text).not.toMatch(/\$\{[A-Z_]*PASSWORD/);
    expect(text).not.toMatch(/^\s+REDISCLI_AUTH:/m);
  });

  it('renders the ACL from the password files as the container starts, and hands redis-server no password', async () => {
    // The entrypoint's words, and the environment; the container's /run/secrets is a directory here.
    const entrypoint = [
      ...(/entrypoint:\n((?: {6}- .*\n)+)/.exec(redis)?.[1] ?? '').matchAll(/- (\S+)/g),
    ].map((match) => match[1]!);
    expect(entrypoint).toEqual([
      '/bin/sh',
      '/etc/otp-relay/render-acl.sh',
      '/etc/otp-relay/users.acl.template',
      '/run/otp-relay/users.acl',
      'docker-entrypoint.sh',
    ]);
    const dir = await mkdtemp(join(tmpdir(), 'otp-relay-compose-secrets-'));
    try {
      const passwords = testPasswords();
      await mkdir(join(dir, 'secrets'));
      await writeFile(join(dir, 'secrets/relay_redis_password'), `${passwords.relay}\n`);
      await writeFile(join(dir, 'secrets/bot_redis_password'), `${passwords.bot}\n`);
      const env: Record<string, string> = {};
      for (const [, name, path] of redis.matchAll(/^ {6}([A-Z_]+): (\/run\/secrets\/\S+)$/gm)) {
        env[name!] = path!.replace('/run/secrets/', `${join(dir, 'secrets')}/`);
      }
      expect(Object.keys(env).sort()).toEqual(['BOT_REDIS_PASSWORD_FILE', 'RELAY_REDIS_PASSWORD_FILE']);
      const output = join(dir, 'users.acl');
      // `env` stands in for docker-entrypoint.sh: it shows what redis-server would get.
      const result = await run('sh', [RENDER_ACL, ACL_TEMPLATE, output, 'env'], {
        env: { PATH: process.env.PATH, ...env },
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
      const acl = await readFile(output, 'utf8');
      expect(acl).toContain(`#${sha256(passwords.relay)} `);
      expect(acl).toContain(`#${sha256(passwords.bot)} `);
      expect(result.stdout).not.toContain(passwords.relay);
      expect(result.stdout).not.toContain(passwords.bot);
      expect(result.stdout).not.toMatch(/REDIS_PASSWORD/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('publishes every port on loopback only, from a host port of .env with a default', () => {
    const ports = [...text.matchAll(/^ {4}ports:\n((?: {6}- .*\n)+)/gm)].flatMap((match) =>
      [...match[1]!.matchAll(/- '([^']*)'/g)].map((entry) => entry[1]!),
    );
    expect(ports.sort()).toEqual(
      HOST_PORTS.map((p) => `127.0.0.1:\${${p.variable}:-${p.host}}:${p.container}`).sort(),
    );
    // No other way to publish a port.
    expect(text.match(/^ {4}ports:$/gm)).toHaveLength(HOST_PORTS.length);
    expect(text).not.toMatch(/network_mode: host|^ {4}expose:/m);
    for (const p of HOST_PORTS) {
      expect(service(text, p.service), p.variable).toContain(`- '127.0.0.1:\${${p.variable}:-${p.host}}:`);
    }
  });

  it('pins every image to an exact version', () => {
    const images = [...text.matchAll(/^ {4}image: (\S+)$/gm)].map((match) => match[1]!);
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) {
      // name:1.2.3, name:v1.2.3 or name:1.2.3-alpine; or a digest.
      expect(image).toMatch(/^[a-z0-9./-]+(:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?|@sha256:[0-9a-f]{64})$/);
    }
  });

  it('restarts every service unless it was stopped, the relay included (it exits 0 on SIGTERM)', () => {
    const names = serviceNames(text);
    expect(names).toEqual(expect.arrayContaining(['redis', 'relay', 'prometheus', 'grafana']));
    for (const name of names) {
      expect(service(text, name), name).toMatch(/^ {4}restart: unless-stopped$/m);
    }
    expect(text).not.toMatch(/restart: (on-failure|no|always)/);
  });

  it('starts the relay from the Dockerfile, once Redis is healthy, as the relay user', () => {
    expect(relay).toMatch(/^\s+build: \.$/m);
    expect(relay).toMatch(/depends_on:\n\s+redis:\n\s+condition: service_healthy/);
    expect(relay).toMatch(/^\s+restart: unless-stopped$/m);
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
    let secrets: string | undefined;

    beforeAll(async () => {
      const match = /test:\s*\[\s*'CMD-SHELL',\s*'([^']+)',?\s*\]/.exec(redis);
      if (match === null) throw new Error('no CMD-SHELL healthcheck in the redis service');
      // Compose turns $$ into $.
      healthcheck = match[1]!.replaceAll('$$', '$');
      passwords = testPasswords();
      acl = await renderAcl(passwords);
      server = await startRedisServer({ aclFile: acl.path });
      secrets = await mkdtemp(join(tmpdir(), 'otp-relay-healthcheck-'));
    });

    afterAll(async () => {
      await server?.stop();
      await acl?.remove();
      if (secrets !== undefined) await rm(secrets, { recursive: true, force: true });
    });

    // The same command, pointed at this test's server and secret directory instead of the
    // container's default port and /run/secrets.
    const check = async (password: string) => {
      await writeFile(join(secrets!, 'relay_redis_password'), `${password}\n`);
      const command = healthcheck
        .replaceAll('/run/secrets/', `${secrets}/`)
        .replace(/ redis-cli /, ` redis-cli -p ${server!.port} `);
      return run('sh', ['-c', command], { env: { PATH: process.env.PATH } });
    };

    it('logs in as the relay user with the password file, with no password on a command line', () => {
      expect(healthcheck).toBe(
        'REDISCLI_AUTH="$(cat /run/secrets/relay_redis_password)" redis-cli --no-auth-warning --user relay ping | grep -q PONG',
      );
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
