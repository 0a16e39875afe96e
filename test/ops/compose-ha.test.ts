import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, run, testPasswords } from './redis-server.js';
import { sentinelAclLines } from './sentinel-cluster.js';

// The optional `ha` profile of docker-compose.yml: a master, two replicas and three sentinels.

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasDockerCompose())('docker-compose.yml, profile ha', () => {
  let project: string;

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-ha-'));
    const passwords = testPasswords();
    await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
    await writeFile(
      join(project, '.env'),
      `${await readFile(join(project, '.env'), 'utf8')}\nRELAY_REDIS_PASSWORD=${passwords.relay}\nBOT_REDIS_PASSWORD=${passwords.bot}\n` +
        `REPLICA_REDIS_PASSWORD=${passwords.relay}r\nSENTINEL_REDIS_PASSWORD=${passwords.bot}s\n` +
        `SENTINEL_ADMIN_PASSWORD=${passwords.relay}a\nSENTINEL_CLIENT_PASSWORD=${passwords.bot}c\n`,
    );
  });

  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  const config = (...args: string[]) =>
    run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, ...args], {
      env: { PATH: process.env.PATH },
    });

  it('is valid, and lists a master, two replicas and three sentinels all in the profile', async () => {
    const result = await config('--profile', 'ha', 'config', '-q');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const withHa = (await config('--profile', 'ha', 'config', '--services')).stdout
      .split('\n')
      .filter(Boolean);
    expect(withHa.sort()).toEqual(
      [
        'redis',
        'redis-ha-1',
        'redis-ha-2',
        'redis-ha-3',
        'relay',
        'sentinel-1',
        'sentinel-2',
        'sentinel-3',
      ].sort(),
    );
    // Off by default: each of them is in the profile (docker-compose 1.x lists every service anyway).
    const text = await readFile(COMPOSE_FILE, 'utf8');
    for (const name of ['redis-ha-1', 'redis-ha-2', 'redis-ha-3', 'sentinel-1', 'sentinel-2', 'sentinel-3']) {
      expect(text).toContain(`  ${name}:\n    profiles: ['ha']\n`);
    }
  });

  it('gives every node the HA users and the replication login, and the sentinels their own', async () => {
    const resolved = (await config('--profile', 'ha', 'config')).stdout;
    expect(resolved).toContain('/etc/otp-relay/ha-users.acl.template');
    expect(resolved).toContain('masteruser replica');
    expect(resolved).toContain('sentinel auth-user otp-relay sentinel');
    expect(resolved).toMatch(/--replicaof\n\s+- redis-ha-1/);
  });

  it('makes every node refuse writes without a replica at most 10 s behind (both replicas follow the master)', async () => {
    const resolved = (await config('--profile', 'ha', 'config')).stdout;
    for (const name of ['redis-ha-1', 'redis-ha-2', 'redis-ha-3']) {
      const node = serviceOf(resolved, name);
      expect(node, name).toMatch(
        /- --min-replicas-to-write\n\s+- '1'\n\s+- --min-replicas-max-lag\n\s+- '10'/,
      );
    }
    for (const name of ['redis-ha-2', 'redis-ha-3']) {
      expect(serviceOf(resolved, name), name).toMatch(/--replicaof\n\s+- redis-ha-1\n\s+- '6379'/);
    }
  });

  it('gives the sentinels passwords: default off, admin among themselves, client for the relay and the bots (read-only)', async () => {
    const resolved = (await config('--profile', 'ha', 'config')).stdout;
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      const sentinel = serviceOf(resolved, name);
      expect(sentinel, name).toContain('user default off');
      expect(sentinel, name).toContain('user admin on >$$SENTINEL_ADMIN_PASSWORD +@all');
      expect(sentinel, name).toMatch(
        /user client on >\$\$SENTINEL_CLIENT_PASSWORD -@all \+sentinel\|master /,
      );
      expect(sentinel, name).not.toMatch(/user client .*\+sentinel\|(monitor|remove|set|failover|reset)/);
      expect(sentinel, name).toContain('sentinel sentinel-user admin');
      expect(sentinel, name).toContain('sentinel sentinel-pass $$SENTINEL_ADMIN_PASSWORD');
      expect(sentinel, name).toContain('set SENTINEL_CLIENT_PASSWORD in .env');
    }
    // The relay logs in to the sentinels with a Docker secret, not a variable of its environment.
    const relay = serviceOf(resolved, 'relay');
    expect(relay).toContain('REDIS_SENTINEL_PASSWORD_FILE: /run/secrets/redis_sentinel_password');
    expect(relay).not.toContain('SENTINEL_CLIENT_PASSWORD');
  });

  it("gives the sentinels the ACL lines test/ops/sentinel-cluster.ts's sentinels are tested with", async () => {
    const text = await readFile(COMPOSE_FILE, 'utf8');
    const lines = sentinelAclLines({ admin: 'ADMIN', client: 'CLIENT' }).map((line) =>
      line
        .replace('>ADMIN', '>$$$$SENTINEL_ADMIN_PASSWORD')
        .replace('>CLIENT', '>$$$$SENTINEL_CLIENT_PASSWORD')
        .replace(/ ADMIN$/, ' $$$$SENTINEL_ADMIN_PASSWORD'),
    );
    for (const line of lines) expect(text).toContain(`        ${line}\n`);
  });
});

/** One service's block of a resolved compose file. */
function serviceOf(resolved: string, name: string): string {
  const start = resolved.indexOf(`\n  ${name}:\n`);
  expect(start, name).toBeGreaterThan(0);
  const next = resolved.slice(start + 1).search(/\n {2}[a-z0-9-]+:\n/);
  return next < 0 ? resolved.slice(start) : resolved.slice(start, start + 1 + next);
}
