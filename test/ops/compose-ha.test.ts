import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_FILE, hasDockerCompose, service } from './compose-file.js';
import { REPO_ROOT, run } from './redis-server.js';

// The optional `ha` profile of docker-compose.yml: a master, a replica and three sentinels.

const NODES = ['redis-ha-1', 'redis-ha-2'];
const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
const NODE_SECRETS = [
  'relay_redis_password',
  'bot_redis_password',
  'replica_redis_password',
  'sentinel_redis_password',
];

describe('docker-compose.yml, profile ha', () => {
  let text: string;

  beforeAll(async () => {
    text = await readFile(COMPOSE_FILE, 'utf8');
  });

  it('puts a master, a replica and three sentinels in the profile', () => {
    // Off by default: each of them is in the profile (docker-compose 1.x lists every service anyway).
    for (const name of [...NODES, ...SENTINELS]) {
      expect(text).toContain(`  ${name}:\n    profiles: ['ha']\n`);
    }
  });

  it('gives every node and sentinel its passwords as secret files, never in its environment', () => {
    for (const name of NODES) {
      const node = service(text, name);
      expect(node).toMatch(/^ {4}image: redis:\d+\.\d+\.\d+-alpine$/m);
      expect(/^ {4}secrets:(?: \*[\w-]+| &[\w-]+\n((?: {6}- .*\n)+))/m.test(`${node}\n`)).toBe(true);
      for (const secret of NODE_SECRETS) {
        const variable = `${secret.toUpperCase()}_FILE`;
        expect(text, name).toContain(`      ${variable}: /run/secrets/${secret}\n`);
        expect(text, name).toContain(`      - ${secret}\n`);
      }
    }
    for (const name of SENTINELS) {
      expect(service(text, name)).toMatch(
        /^ {4}secrets: (?:\*sentinel-secrets|&sentinel-secrets\n {6}- sentinel_redis_password)$/m,
      );
    }
    // The replication and sentinel passwords are read from their files when the files are written.
    expect(text).toContain(`masterauth %s\\n' "$$(cat /run/secrets/replica_redis_password)"`);
    expect(text).toContain('sentinel auth-pass otp-relay $$(cat /run/secrets/sentinel_redis_password)\n');
    expect(text).not.toMatch(/\$\$[A-Z_]*PASSWORD\b/);
  });

  describe.skipIf(!hasDockerCompose())(
    'docker-compose config (skipped: docker-compose is not installed)',
    () => {
      let project: string;

      beforeAll(async () => {
        project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-ha-'));
        await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
      });

      afterAll(async () => {
        await rm(project, { recursive: true, force: true });
      });

      const compose = (...args: string[]) =>
        run('docker-compose', ['-f', COMPOSE_FILE, '--project-directory', project, ...args], {
          env: { PATH: process.env.PATH },
        });

      it('is valid, and lists the nodes and sentinels with the rest', async () => {
        const result = await compose('--profile', 'ha', 'config', '-q');
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        const withHa = (await compose('--profile', 'ha', 'config', '--services')).stdout
          .split('\n')
          .filter(Boolean);
        expect(withHa).toEqual(expect.arrayContaining(['redis', 'relay', ...NODES, ...SENTINELS]));
      });

      it('gives every node the HA users and the replication login, the sentinels their own, and no password', async () => {
        const resolved = (await compose('--profile', 'ha', 'config')).stdout;
        expect(resolved).toContain('/etc/otp-relay/ha-users.acl.template');
        expect(resolved).toContain('masteruser replica');
        expect(resolved).toContain('sentinel auth-user otp-relay sentinel');
        expect(resolved).toMatch(/--replicaof\n\s+- redis-ha-1/);
        for (const name of NODES) {
          const node = service(resolved, name);
          for (const secret of NODE_SECRETS) expect(node).toContain(`- source: ${secret}\n`);
        }
        for (const name of SENTINELS) {
          expect(service(resolved, name)).toContain('- source: sentinel_redis_password');
          expect(service(resolved, name)).not.toMatch(/^ {4}environment:/m);
        }
        expect(resolved).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
      });
    },
  );
});
