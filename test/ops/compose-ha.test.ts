import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, run, testPasswords } from './redis-server.js';

// The optional `ha` profile of docker-compose.yml: a master, a replica and three sentinels.

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
        `REPLICA_REDIS_PASSWORD=${passwords.relay}r\nSENTINEL_REDIS_PASSWORD=${passwords.bot}s\n`,
    );
  });

  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  const config = (...args: string[]) =>
    run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, ...args], {
      env: { PATH: process.env.PATH },
    });

  it('is valid, and lists a master, a replica and three sentinels all in the profile', async () => {
    const result = await config('--profile', 'ha', 'config', '-q');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const withHa = (await config('--profile', 'ha', 'config', '--services')).stdout
      .split('\n')
      .filter(Boolean);
    expect(withHa.sort()).toEqual(
      ['redis', 'redis-ha-1', 'redis-ha-2', 'relay', 'sentinel-1', 'sentinel-2', 'sentinel-3'].sort(),
    );
    // Off by default: each of them is in the profile (docker-compose 1.x lists every service anyway).
    const text = await readFile(COMPOSE_FILE, 'utf8');
    for (const name of ['redis-ha-1', 'redis-ha-2', 'sentinel-1', 'sentinel-2', 'sentinel-3']) {
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
});
