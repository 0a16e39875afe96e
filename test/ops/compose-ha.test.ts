import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_FILE, hasDockerCompose, service, serviceNames } from './compose-file.js';
import { REPO_ROOT, run, testPasswords } from './redis-server.js';
import { SENTINEL_CLIENT_COMMANDS, sentinelAclLines } from './sentinel-cluster.js';

// The optional `ha` profile of docker-compose.yml: a master, two replicas and three sentinels.

const NODES = ['redis-ha-1', 'redis-ha-2', 'redis-ha-3'];
const REPLICAS = ['redis-ha-2', 'redis-ha-3'];
const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
const NODE_SECRETS = [
  'relay_redis_password',
  'bot_redis_password',
  'replica_redis_password',
  'sentinel_redis_password',
];
const SENTINEL_SECRETS = ['sentinel_redis_password', 'sentinel_admin_password', 'sentinel_client_password'];

/** Commands that reconfigure a sentinel or force a failover: never the `client` user's. */
const RECONFIGURING = /\+sentinel\|(monitor|remove|set|failover|reset|config|flushconfig|debug)\b|\+@all/;

/** The items of a `secrets:` list in the file: written out, or behind an anchor defined elsewhere. */
function secretsOf(text: string, name: string): string[] {
  const own = service(text, name);
  const alias = /^ {4}secrets: \*([\w-]+)$/m.exec(own)?.[1];
  const source =
    alias === undefined
      ? own
      : (new RegExp(`^ {4}secrets: &${alias}\\n((?: {6}- .*\\n)+)`, 'm').exec(text)?.[0] ?? '');
  const list = /^ {4}secrets:(?: &[\w-]+)?\n((?: {6}- .*\n)+)/m.exec(`${source}\n`)?.[1] ?? '';
  return [...list.matchAll(/^ {6}- (\S+)$/gm)].map((match) => match[1]!);
}

/** The script of sentinel-1's `/bin/sh -c` entrypoint, as the container's shell gets it. */
function sentinelScript(text: string): string {
  const block = /^ {6}- \|\n((?: {8}.*\n| *\n)+)/m.exec(`${service(text, 'sentinel-1')}\n`)?.[1];
  if (block === undefined) throw new Error("no `- |` script in sentinel-1's entrypoint");
  // YAML strips the block's indentation; compose turns $$ into $.
  return block
    .split('\n')
    .map((line) => line.slice(8))
    .join('\n')
    .replaceAll('$$', '$');
}

describe('docker-compose.yml, profile ha', () => {
  let text: string;

  beforeAll(async () => {
    text = await readFile(COMPOSE_FILE, 'utf8');
  });

  it('puts a master, two replicas and three sentinels in the profile, and no other HA service', () => {
    // Off by default: each of them is in the profile (docker-compose 1.x lists every service anyway).
    for (const name of [...NODES, ...SENTINELS]) {
      expect(text).toContain(`  ${name}:\n    profiles: ['ha']\n`);
    }
    expect(serviceNames(text).filter((name) => /^(redis-ha-|sentinel-)/.test(name))).toEqual([
      ...NODES,
      ...SENTINELS,
    ]);
    // Each node keeps its own data: a volume of its own.
    for (const name of NODES) {
      expect(service(text, name), name).toContain(`      - ${name}-data:/data\n`);
      expect(text).toMatch(new RegExp(`^ {2}${name}-data:$`, 'm'));
    }
  });

  it('gives every node and sentinel its passwords as secret files, never in its environment', () => {
    for (const name of NODES) {
      const node = service(text, name);
      expect(node, name).toMatch(/^ {4}image: redis:\d+\.\d+\.\d+-alpine$/m);
      expect(node, name).toMatch(/^ {4}restart: unless-stopped$/m);
      expect(secretsOf(text, name).sort(), name).toEqual([...NODE_SECRETS].sort());
      for (const secret of NODE_SECRETS) {
        const variable = `${secret.toUpperCase()}_FILE`;
        expect(text, name).toContain(`      ${variable}: /run/secrets/${secret}\n`);
      }
    }
    for (const name of SENTINELS) {
      const sentinel = service(text, name);
      expect(sentinel, name).toMatch(/^ {4}image: redis:\d+\.\d+\.\d+-alpine$/m);
      expect(sentinel, name).toMatch(/^ {4}restart: unless-stopped$/m);
      expect(secretsOf(text, name).sort(), name).toEqual([...SENTINEL_SECRETS].sort());
      expect(sentinel, name).not.toMatch(/^ {4}environment:/m);
    }
    const topLevel = /^secrets:\n((?: {2,}.*\n?)+)/m.exec(text.replace(/^\s*#.*\n/gm, ''))?.[1] ?? '';
    for (const secret of new Set([...NODE_SECRETS, ...SENTINEL_SECRETS])) {
      expect(topLevel).toContain(`  ${secret}:\n    file: ./secrets/${secret}\n`);
    }
    // The replication and sentinel passwords are read from their files when the files are written.
    expect(text).toContain(`masterauth %s\\n' "$$(cat /run/secrets/replica_redis_password)"`);
    expect(text).toContain('sentinel auth-pass otp-relay $$(cat /run/secrets/sentinel_redis_password)\n');
    // No password variable, nor an interpolation of one, anywhere in the file.
    expect(text).not.toMatch(/\$\$\{?[A-Z_]*PASSWORD\b/);
    expect(text).not.toMatch(/\$\{[A-Z_]*PASSWORD/);
    expect(text).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
  });

  it("gives the sentinels the ACL lines test/ops/sentinel-cluster.ts's sentinels are tested with, passwords from the files", () => {
    // In the file, each password is the output of `cat` on its secret file ($$: compose's $).
    const fromFile = (name: string) => () => `$$(cat /run/secrets/${name})`;
    const lines = sentinelAclLines({ admin: 'ADMIN', client: 'CLIENT' }).map((line) =>
      line
        .replaceAll('ADMIN', fromFile('sentinel_admin_password'))
        .replaceAll('CLIENT', fromFile('sentinel_client_password')),
    );
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(service(text, 'sentinel-1')).toContain(`        ${line}\n`);
    // The `client` user asks where the master is, and nothing that reconfigures a sentinel.
    const client = /^ {8}user client .*$/m.exec(service(text, 'sentinel-1'))?.[0] ?? '';
    expect(client).toContain('-@all');
    expect(client).not.toMatch(RECONFIGURING);
    expect(SENTINEL_CLIENT_COMMANDS.some((command) => RECONFIGURING.test(`+${command}`))).toBe(false);
    // The other two run the same entrypoint.
    for (const name of ['sentinel-2', 'sentinel-3']) {
      expect(service(text, name), name).toMatch(/^ {4}entrypoint: \*sentinel-entrypoint$/m);
    }
    expect(service(text, 'sentinel-1')).toMatch(/^ {4}entrypoint: &sentinel-entrypoint$/m);
  });

  describe("sentinel-1's entrypoint, run with its secret files", () => {
    let dir: string;
    let passwords: { redis: string; admin: string; client: string };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'otp-relay-compose-sentinel-'));
      const { relay, bot } = testPasswords();
      passwords = { redis: `${relay}s`, admin: `${relay}a`, client: `${bot}c` };
      // Stand-ins for what only the container has: the redis user, and the image's entrypoint,
      // which here prints its arguments and its environment instead of starting a sentinel.
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin/chown'), '#!/bin/sh\nexit 0\n');
      await writeFile(join(dir, 'bin/docker-entrypoint.sh'), '#!/bin/sh\necho "ARGS $*"\nexec env\n');
      await chmod(join(dir, 'bin/chown'), 0o755);
      await chmod(join(dir, 'bin/docker-entrypoint.sh'), 0o755);
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** Runs the script with the secret files given (a missing one: not written), in a run directory of its own. */
    const start = async (files: Partial<Record<string, string>>) => {
      const home = await mkdtemp(join(dir, 'run-'));
      await mkdir(join(home, 'secrets'));
      for (const [name, value] of Object.entries(files)) {
        if (value !== undefined) await writeFile(join(home, 'secrets', name), `${value}\n`);
      }
      const script = sentinelScript(text)
        .replaceAll('/run/secrets/', `${join(home, 'secrets')}/`)
        .replaceAll('/run/sentinel', join(home, 'sentinel'));
      const result = await run('sh', ['-c', script], {
        env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}` },
      });
      const conf = join(home, 'sentinel/sentinel.conf');
      const written = await readFile(conf, 'utf8').catch(() => undefined);
      const mode = written === undefined ? undefined : (await stat(conf)).mode & 0o777;
      return { ...result, conf: written, mode };
    };
    const allFiles = () => ({
      sentinel_redis_password: passwords.redis,
      sentinel_admin_password: passwords.admin,
      sentinel_client_password: passwords.client,
    });

    it('writes sentinel.conf with the passwords of the files, readable by its owner only, and starts the sentinel without them', async () => {
      const result = await start(allFiles());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.mode).toBe(0o600);
      const lines = result.conf!.split('\n');
      expect(lines).toContain('sentinel monitor otp-relay redis-ha-1 6379 2');
      expect(lines).toContain('sentinel auth-user otp-relay sentinel');
      expect(lines).toContain(`sentinel auth-pass otp-relay ${passwords.redis}`);
      for (const line of sentinelAclLines({ admin: passwords.admin, client: passwords.client })) {
        expect(lines).toContain(line);
      }
      expect(result.stdout).toMatch(/^ARGS redis-server \S+\/sentinel\.conf --sentinel$/m);
      for (const password of Object.values(passwords)) expect(result.stdout).not.toContain(password);
    });

    it('refuses to start on a missing, empty, short or unsafe password file, or with the admin password as the client one', async () => {
      const refused = [
        { ...allFiles(), sentinel_admin_password: undefined },
        { ...allFiles(), sentinel_client_password: '' },
        { ...allFiles(), sentinel_redis_password: 'short-password' },
        { ...allFiles(), sentinel_client_password: `${passwords.client} +@all` },
        { ...allFiles(), sentinel_client_password: passwords.admin },
      ];
      for (const files of refused) {
        const result = await start(files);
        expect(result.code, JSON.stringify(files)).not.toBe(0);
        expect(result.conf, JSON.stringify(files)).toBeUndefined();
        expect(result.stderr).not.toContain(passwords.admin);
        expect(result.stderr).not.toContain(passwords.client);
      }
    });
  });

  it("gives the relay the sentinels' settings by name and the `client` password as a secret file, never the `admin` one", () => {
    const relay = service(text, 'relay');
    expect(relay).toContain('      REDIS_SENTINELS: ${REDIS_SENTINELS:-}\n');
    expect(relay).toContain('      REDIS_SENTINEL_MASTER: ${REDIS_SENTINEL_MASTER:-}\n');
    expect(relay).toContain('      REDIS_SENTINEL_USERNAME: ${REDIS_SENTINEL_USERNAME:-}\n');
    expect(relay).toContain('      REDIS_SENTINEL_TLS: ${REDIS_SENTINEL_TLS:-}\n');
    expect(relay).toContain('      REDIS_SENTINEL_PASSWORD_FILE: /run/secrets/redis_sentinel_password\n');
    expect(secretsOf(text, 'relay')).toContain('redis_sentinel_password');
    for (const secret of NODE_SECRETS.concat(SENTINEL_SECRETS)) expect(relay).not.toContain(secret);
    // The header comment lists the file, and says what it holds with and without the profile.
    expect(text).toMatch(/^# {3}secrets\/redis_sentinel_password .*`client` password/m);
    expect(text).toContain('an empty file without the ha profile');
  });

  describe.skipIf(!hasDockerCompose())(
    'docker-compose config (skipped: docker-compose is not installed)',
    () => {
      let project: string;
      /** The relay's sentinel settings, as the comment above the ha profile gives them for .env. */
      let documented: Record<string, string>;
      let resolved: string;

      const compose = (...args: string[]) =>
        run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, ...args], {
          env: { PATH: process.env.PATH },
        });

      beforeAll(async () => {
        project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-ha-'));
        documented = Object.fromEntries(
          [...text.matchAll(/^ {2}# {3}(REDIS_SENTINEL[A-Z_]*)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
        );
        await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
        const lines = Object.entries(documented).map(([name, value]) => `${name}=${value}\n`);
        await writeFile(
          join(project, '.env'),
          `${await readFile(join(project, '.env'), 'utf8')}\n${lines.join('')}`,
        );
        resolved = (await compose('--profile', 'ha', 'config')).stdout;
      });

      afterAll(async () => {
        await rm(project, { recursive: true, force: true });
      });

      it('is valid, and lists the three nodes and three sentinels with the rest', async () => {
        const result = await compose('--profile', 'ha', 'config', '-q');
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        const withHa = (await compose('--profile', 'ha', 'config', '--services')).stdout
          .split('\n')
          .filter(Boolean);
        expect(withHa).toEqual(expect.arrayContaining(['redis', 'relay']));
        expect(withHa.filter((name) => /^(redis-ha-|sentinel-)/.test(name)).sort()).toEqual(
          [...NODES, ...SENTINELS].sort(),
        );
      });

      it('gives every node the HA users and the replication login, the sentinels their files, and no password', () => {
        expect(resolved).toContain('/etc/otp-relay/ha-users.acl.template');
        expect(resolved).toContain('masteruser replica');
        for (const name of NODES) {
          const node = service(resolved, name);
          for (const secret of NODE_SECRETS) expect(node, name).toContain(`- source: ${secret}\n`);
        }
        for (const name of SENTINELS) {
          const sentinel = service(resolved, name);
          for (const secret of SENTINEL_SECRETS) expect(sentinel, name).toContain(`- source: ${secret}\n`);
          expect(sentinel, name).not.toMatch(/^ {4}environment:/m);
        }
        expect(resolved).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
        expect(resolved).not.toMatch(/^\s+REDISCLI_AUTH:/m);
      });

      it('makes every node refuse writes without a replica at most 10 s behind (both replicas follow the master)', () => {
        for (const name of NODES) {
          expect(service(resolved, name), name).toMatch(
            /- --min-replicas-to-write\n\s+- '1'\n\s+- --min-replicas-max-lag\n\s+- '10'\n/,
          );
        }
        expect(service(resolved, 'redis-ha-1')).not.toContain('--replicaof');
        for (const name of REPLICAS) {
          expect(service(resolved, name), name).toMatch(/- --replicaof\n\s+- redis-ha-1\n\s+- '6379'\n/);
        }
      });

      it("points the relay at the sentinels with the comment's settings, their password from its file", () => {
        expect(Object.keys(documented).sort()).toEqual([
          'REDIS_SENTINELS',
          'REDIS_SENTINEL_MASTER',
          'REDIS_SENTINEL_USERNAME',
        ]);
        // The sentinels named are the profile's, on their port; the master group is theirs; the user
        // is the one they grant the sentinel questions to.
        expect(documented.REDIS_SENTINELS!.split(',')).toEqual(SENTINELS.map((name) => `${name}:26379`));
        expect(text).toContain(
          `        sentinel monitor ${documented.REDIS_SENTINEL_MASTER} redis-ha-1 6379 2\n`,
        );
        expect(text).toMatch(
          new RegExp(
            `^ {8}user ${documented.REDIS_SENTINEL_USERNAME} on >.* -@all \\+sentinel\\|master `,
            'm',
          ),
        );
        const relay = service(resolved, 'relay');
        for (const [name, value] of Object.entries(documented))
          expect(relay).toContain(`      ${name}: ${value}\n`);
        expect(relay).toContain('      REDIS_SENTINEL_PASSWORD_FILE: /run/secrets/redis_sentinel_password\n');
        expect(relay).toContain('- source: redis_sentinel_password\n');
        expect(relay).not.toMatch(/sentinel_(admin|client|redis)_password/);
      });
    },
  );
});
