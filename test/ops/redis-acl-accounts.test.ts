import { createClient, type RedisClientType } from '@redis/client';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenClient } from '../../src/client/token-client.js';
import { TokenClientAuthError } from '../../src/client/errors.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis } from '../../src/redis/connect.js';
import { Secret } from '../../src/shared/secret.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import { captureLog } from '../store/log-capture.js';
import { COMPOSE_FILE, hasDockerCompose, service } from './compose-file.js';
import {
  REPO_ROOT,
  renderAcl,
  run,
  startRedisServer,
  testPasswords,
  userUrl,
  type RedisServer,
} from './redis-server.js';

// Bots limited to some accounts (several accounts, issue 19): deploy/redis/account-bots.acl.template
// on top of users.acl.template, rendered by the redis entrypoint of
// deploy/redis/account-bots.compose.yml, run here with stand-ins for what only the container has.

const OVERRIDE = join(REPO_ROOT, 'deploy/redis/account-bots.compose.yml');
const live = relayKeys({ prefix: 'otp-relay', account: 'live' });
const paper = relayKeys({ prefix: 'otp-relay', account: 'paper' });

/** The redis service's `/bin/sh -c` script in the override, as the container's shell gets it. */
function entrypointScript(text: string): string {
  const block = /^ {6}- \|\n((?: {8}.*\n| *\n)+)/m.exec(`${service(text, 'redis')}\n`)?.[1];
  if (block === undefined) throw new Error("no `- |` script in the override's redis entrypoint");
  // YAML strips the block's indentation; compose turns $$ into $.
  return block
    .split('\n')
    .map((line) => line.slice(8))
    .join('\n')
    .replaceAll('$$', '$');
}

/** `NAME_FILE: /run/secrets/name` lines of a redis service: the password files render-acl.sh reads. */
function passwordFiles(serviceText: string): Record<string, string> {
  return Object.fromEntries(
    [...serviceText.matchAll(/^ {6}([A-Z_]+_FILE): \/run\/secrets\/(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

/** Every `+command` of a user's line in a rendered file, selectors included. */
function grantedCommands(aclText: string, user: string): string[] {
  const line = aclText.split('\n').find((candidate) => candidate.startsWith(`user ${user} `));
  if (line === undefined) throw new Error(`no user ${user} in the rendered ACL file`);
  return [...line.matchAll(/(?:^|[\s(])\+([a-z|-]+)/g)].map((match) => match[1]!).sort();
}

/** A node-redis client that fails instead of reconnecting, for checks that expect a refusal. */
async function connectAs(url: string): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('deploy/redis/account-bots.acl.template, through account-bots.compose.yml', () => {
  let dir: string;
  let passwords: Record<string, string>;
  let aclText: string;
  let server: RedisServer | undefined;
  const clients: RedisClientType[] = [];

  const url = (user: string): string => userUrl(server!, user, passwords[user]!);
  async function as(user: string): Promise<RedisClientType> {
    const client = await connectAs(url(user));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-acl-accounts-'));
    const { relay, bot } = testPasswords();
    const more = testPasswords();
    passwords = { relay, bot, 'bot-live': more.relay, 'bot-desk': more.bot };
    const byFile: Record<string, string> = {
      relay_redis_password: passwords.relay!,
      bot_redis_password: passwords.bot!,
      bot_live_redis_password: passwords['bot-live']!,
      bot_desk_redis_password: passwords['bot-desk']!,
    };
    // The container's files: the templates and the script where the compose files mount them, the
    // secrets, and the image's entrypoint (here: nothing to start).
    await mkdir(join(dir, 'etc'));
    await mkdir(join(dir, 'secrets'));
    await mkdir(join(dir, 'bin'));
    for (const file of ['users.acl.template', 'account-bots.acl.template', 'render-acl.sh']) {
      await copyFile(join(REPO_ROOT, 'deploy/redis', file), join(dir, 'etc', file));
    }
    for (const [name, value] of Object.entries(byFile))
      await writeFile(join(dir, 'secrets', name), `${value}\n`);
    await writeFile(join(dir, 'bin/docker-entrypoint.sh'), '#!/bin/sh\nexit 0\n');
    await chmod(join(dir, 'bin/docker-entrypoint.sh'), 0o755);
    const override = await readFile(OVERRIDE, 'utf8');
    const env: Record<string, string> = {};
    const files = {
      ...passwordFiles(service(await readFile(COMPOSE_FILE, 'utf8'), 'redis')),
      ...passwordFiles(service(override, 'redis')),
    };
    for (const [variable, secret] of Object.entries(files)) env[variable] = join(dir, 'secrets', secret);
    // The scratch path first: the others are replaced by paths under the test's own /tmp folder.
    const script = entrypointScript(override)
      .replaceAll('/tmp/all-users.acl.template', join(dir, 'all-users.acl.template'))
      .replaceAll('/etc/otp-relay/', `${join(dir, 'etc')}/`)
      .replaceAll('/run/otp-relay/', `${dir}/`);
    const result = await run('sh', ['-c', script, 'render', 'redis-server'], {
      env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, ...env },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    aclText = await readFile(join(dir, 'users.acl'), 'utf8');
    server = await startRedisServer({ aclFile: join(dir, 'users.acl') });
    // The relay publishes a token for each account.
    const relayClient = await connectRedis({ url: new Secret(url('relay')), name: 'otp-relay:accounts' });
    for (const keys of [live, paper]) {
      const account = keys === live ? 'live' : 'paper';
      await new RedisTokenStore({ client: relayClient, keys, account }).publish({
        token: new Secret(`token-of-${account}`),
        obtainedAt: new Date(),
        expiresAt: new Date(Date.now() + 600_000),
      });
    }
    await relayClient.close();
  });

  afterAll(async () => {
    for (const client of clients) if (client.isOpen) await client.close().catch(() => client.destroy());
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tokenOf = (envelope: string | null): string =>
    (JSON.parse(envelope ?? 'null') as { value: { token: string } }).value.token;

  it('bot-live reads P:token:live, not P:token:paper, and cannot subscribe to P:cli:live', async () => {
    const bot = await as('bot-live');
    expect(tokenOf(await bot.get(live.token))).toBe('token-of-live');
    await expect(bot.get(paper.token)).rejects.toThrow(/NOPERM/);
    const subscriber = await as('bot-live');
    await expect(subscriber.subscribe('otp-relay:cli:live', () => undefined)).rejects.toThrow(/NOPERM/);
  });

  it.each([
    ['SUBSCRIBE', paper.events],
    ['SUBSCRIBE', live.requests],
    ['SUBSCRIBE', 'otp-relay:cli-replies:live:cli-0123456789abcdef'],
    ['PSUBSCRIBE', 'otp-relay:events:*'],
    ['PUBLISH', paper.requests, '{}'],
    ['PUBLISH', live.events, '{}'],
    ['PUBLISH', 'otp-relay:cli:live', '{}'],
    ['SET', live.token, 'forged'],
    ['DEL', live.token],
    ['GET', live.pending],
    ['GET', live.generation],
    ['GET', 'otp-relay:token:other'],
    ['KEYS', '*'],
    ['SCAN', '0'],
    ['EVAL', 'return 1', '0'],
  ])('bot-live cannot %s %s', async (...command) => {
    const bot = await as('bot-live');
    await expect(bot.sendCommand(command)).rejects.toThrow(/NOPERM/);
  });

  it('bot-live is all otp-relay/client needs for account live; account paper is refused at start', async () => {
    const log = captureLog();
    const tokens = new TokenClient({ redisUrl: url('bot-live'), account: 'live', logger: log.logger });
    try {
      await tokens.start({ signal: AbortSignal.timeout(10_000) });
      const token = tokens.getToken();
      expect(token?.token).toBe('token-of-live');
      expect(await tokens.reportRejected(token!.generation)).toBe(0);
    } finally {
      await tokens.close();
    }
    expect(log.lines().filter((line) => typeof line.level === 'number' && line.level >= 40)).toEqual([]);

    const other = new TokenClient({ redisUrl: url('bot-live'), account: 'paper', shareConnections: false });
    try {
      await expect(other.start({ signal: AbortSignal.timeout(10_000) })).rejects.toBeInstanceOf(
        TokenClientAuthError,
      );
    } finally {
      await other.close();
    }
  });

  it('bot-desk reads and hears live and paper, and nothing else', async () => {
    const bot = await as('bot-desk');
    expect(tokenOf(await bot.get(live.token))).toBe('token-of-live');
    expect(tokenOf(await bot.get(paper.token))).toBe('token-of-paper');
    await expect(bot.get('otp-relay:token:other')).rejects.toThrow(/NOPERM/);
    const subscriber = await as('bot-desk');
    await subscriber.subscribe([live.events, paper.events], () => undefined);
    const refused = await as('bot-desk');
    await expect(refused.subscribe('otp-relay:cli:paper', () => undefined)).rejects.toThrow(/NOPERM/);
    expect(await bot.publish(paper.requests, '{"type":"token.rejected","generation":1}')).toBe(0);
    await expect(bot.publish('otp-relay:requests:other', '{}')).rejects.toThrow(/NOPERM/);
  });

  it("gives each account's bot exactly the bot user's commands, and leaves relay and bot as they were", async () => {
    for (const user of ['bot-live', 'bot-desk']) {
      expect(grantedCommands(aclText, user)).toEqual(grantedCommands(aclText, 'bot'));
    }
    const alone = await renderAcl({ relay: passwords.relay!, bot: passwords.bot! });
    try {
      expect(aclText.startsWith(alone.text)).toBe(true);
    } finally {
      await alone.remove();
    }
  });

  describe.skipIf(!hasDockerCompose())(
    'docker-compose config (skipped: docker-compose is not installed)',
    () => {
      it('is valid with docker-compose.yml, and gives Redis the password files, never a password', async () => {
        const project = await mkdtemp(join(tmpdir(), 'otp-relay-compose-accounts-'));
        try {
          await copyFile(join(REPO_ROOT, '.env.example'), join(project, '.env'));
          const args = ['-f', COMPOSE_FILE, '-f', OVERRIDE, '--project-directory', project, 'config'];
          const valid = await run('docker-compose', [...args, '-q'], { env: { PATH: process.env.PATH } });
          expect(valid).toMatchObject({ code: 0, stderr: '' });
          const resolved = (await run('docker-compose', args, { env: { PATH: process.env.PATH } })).stdout;
          const redis = service(resolved, 'redis');
          expect(passwordFiles(redis)).toEqual({
            BOT_DESK_REDIS_PASSWORD_FILE: 'bot_desk_redis_password',
            BOT_LIVE_REDIS_PASSWORD_FILE: 'bot_live_redis_password',
            BOT_REDIS_PASSWORD_FILE: 'bot_redis_password',
            RELAY_REDIS_PASSWORD_FILE: 'relay_redis_password',
          });
          for (const name of ['bot_live_redis_password', 'bot_desk_redis_password']) {
            expect(redis).toContain(`- source: ${name}`);
            expect(resolved).toContain(`  ${name}:\n    file: ${join(project, 'secrets', name)}\n`);
            expect(service(resolved, 'relay')).not.toContain(name);
          }
          expect(resolved).not.toMatch(/^\s+[A-Z_]*PASSWORD:/m);
        } finally {
          await rm(project, { recursive: true, force: true });
        }
      });
    },
  );
});
