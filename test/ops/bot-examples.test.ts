import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import ts from 'typescript';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { relayKeys } from '../../src/contract/keys.js';
import type { RelayKeys, TokenRecord } from '../../src/contract/types.js';
import { Secret } from '../../src/shared/secret.js';
import { connectRedis, type RedisClient } from '../../src/redis/connect.js';
import { RedisEventPublisher } from '../../src/store/redis-events.js';
import { RedisTokenStore } from '../../src/store/redis-token-store.js';
import {
  REPO_ROOT,
  renderAcl,
  startRedisServer,
  testPasswords,
  userUrl,
  type RedisServer,
  type RenderedAcl,
} from './redis-server.js';

const HAS_JQ = spawnSync('jq', ['--version'], { stdio: 'ignore' }).status === 0;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process, its output so far, and its end. */
interface Started {
  output(): string;
  stderr(): string;
  readonly done: Promise<Run>;
}

function start(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { output: () => stdout, stderr: () => stderr, done };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The bot examples that use no otp-relay code, against redis-server with deploy/redis's ACL file:
 * the relay writes as the `relay` user with its real adapters, each example runs as `bot`.
 */
describe('bot examples without otp-relay/client, as the bot ACL user', () => {
  let passwords: { relay: string; bot: string };
  let acl: RenderedAcl | undefined;
  let server: RedisServer | undefined;
  let relayRedis: RedisClient | undefined;
  let subscriber: RedisClient | undefined;
  let work: string;
  let account: string;
  let keys: RelayKeys;
  let store: RedisTokenStore;
  let events: RedisEventPublisher;

  beforeAll(async () => {
    passwords = testPasswords();
    acl = await renderAcl(passwords);
    server = await startRedisServer({ aclFile: acl.path });
    relayRedis = await connectRedis({
      url: new Secret(userUrl(server, 'relay', passwords.relay)),
      name: 'otp-relay-examples-test',
    });
    subscriber = relayRedis.duplicate();
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    work = await mkdtemp(join(tmpdir(), 'otp-relay-bot-examples-'));
  });

  afterAll(async () => {
    if (subscriber?.isOpen) await subscriber.close();
    if (relayRedis?.isOpen) await relayRedis.close();
    await server?.stop();
    await acl?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    // An account of its own per test: the ACL allows otp-relay:* only, so the prefix stays.
    account = `examples-${randomUUID().slice(0, 8)}`;
    keys = relayKeys({ prefix: 'otp-relay', account });
    store = new RedisTokenStore({ client: relayRedis!, keys, account });
    events = new RedisEventPublisher({ client: relayRedis!, keys });
  });

  const storeToken = (token: string): Promise<TokenRecord> =>
    store.publish({
      token: new Secret(token),
      obtainedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    });

  const publishToken = async (token: string): Promise<TokenRecord> => {
    const record = await storeToken(token);
    await events.publish({
      type: 'token.updated',
      generation: record.generation,
      expiresAt: record.expiresAt,
    });
    return record;
  };

  /** Collects what bots publish on P:requests:A. */
  const listenForRequests = async (): Promise<string[]> => {
    const heard: string[] = [];
    await subscriber!.subscribe(keys.requests, (message) => heard.push(message));
    return heard;
  };

  describe('examples/ioredis-bot.ts (ioredis)', () => {
    let script: string;

    /** The example compiled as it is, with `ioredis` pointed at this repository's copy. */
    const compile = async (source: string, name: string): Promise<string> => {
      const ioredis = pathToFileURL(createRequire(import.meta.url).resolve('ioredis')).href;
      const js = ts
        .transpileModule(source, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        })
        .outputText.replace(/from 'ioredis'/, `from '${ioredis}'`);
      const path = join(work, name);
      await writeFile(path, js);
      return path;
    };

    beforeAll(async () => {
      script = await compile(
        await readFile(join(REPO_ROOT, 'examples/ioredis-bot.ts'), 'utf8'),
        'ioredis-bot.mjs',
      );
    });

    const bot = (args: string[], password = passwords.bot, path = script): Started =>
      start(process.execPath, [path, ...args], {
        REDIS_URL: userUrl(server!, 'bot', password),
        RELAY_KEY_PREFIX: 'otp-relay',
        RELAY_ACCOUNT: account,
      });

    it('--once prints "none" and exits 2 when no token is stored', async () => {
      const run = await bot(['--once']).done;
      expect(run).toEqual({ code: 2, stdout: 'none\n', stderr: '' });
    });

    it('--once prints the generation the relay stored, never the token, with no Redis error', async () => {
      const record = await storeToken('ioredis-secret-token');
      const run = await bot(['--once']).done;
      expect(run).toEqual({ code: 0, stdout: `${record.generation}\n`, stderr: '' });
    });

    it('follows token.updated to a newer generation', async () => {
      const first = await storeToken('ioredis-first');
      const following = bot(['--until-generation', String(first.generation + 1), '--timeout', '20']);
      // It prints the generation it read once it is subscribed (it subscribes first).
      await until(() => following.output().includes(String(first.generation)), 'the first generation');
      const second = await publishToken('ioredis-second');
      const run = await following.done;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${first.generation}\n${second.generation}\n`);
      expect(run.stdout).not.toContain('ioredis-');
    });

    it('--report-rejected N publishes token.rejected for N, which the relay hears', async () => {
      const heard = await listenForRequests();
      const run = await bot(['--report-rejected', '42']).done;
      expect(run).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      await until(() => heard.length === 1, 'the request');
      expect(JSON.parse(heard[0]!)).toEqual({ type: 'token.rejected', generation: 42 });
    });

    it('sets enableReadyCheck: false, else ioredis sends INFO on each connection, which the bot user may not', async () => {
      const source = await readFile(join(REPO_ROOT, 'examples/ioredis-bot.ts'), 'utf8');
      expect(source).toMatch(/^ {2}enableReadyCheck: false,$/m);
      const withCheck = await compile(
        source.replace(/^ {2}enableReadyCheck: false,$/m, '  enableReadyCheck: true,'),
        'ioredis-bot-ready-check.mjs',
      );
      // Following the token, so that the connections stay up until ioredis has INFO's answer.
      const first = await storeToken('ioredis-ready-check-first');
      const following = bot(['--until-generation', String(first.generation + 1)], passwords.bot, withCheck);
      await until(() => following.output().includes(String(first.generation)), 'the first generation');
      // ioredis 6 goes on without the check, but complains on every connection.
      const run = await (async () => {
        const deadline = Date.now() + 5_000;
        while (Date.now() < deadline && !/NOPERM/.test(following.stderr())) {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await publishToken('ioredis-ready-check-second');
        return following.done;
      })();
      expect(run.stderr).toMatch(/ready check.*NOPERM.*'info'/i);
    });
  });

  describe.skipIf(!HAS_JQ)('examples/redis-cli-bot.sh (redis-cli and jq)', () => {
    const SCRIPT = join(REPO_ROOT, 'examples/redis-cli-bot.sh');
    const cli = (args: string[], password = passwords.bot): Started =>
      start('sh', [SCRIPT, ...args], {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(server!.port),
        REDIS_USER: 'bot',
        REDISCLI_AUTH: password,
        RELAY_ACCOUNT: account,
      });

    it('prints nothing and exits 2 when no token is stored', async () => {
      expect(await cli(['token']).done).toEqual({ code: 2, stdout: '', stderr: '' });
      expect(await cli(['generation']).done).toEqual({ code: 2, stdout: '', stderr: '' });
    });

    it('prints the token and its generation as the relay stored them', async () => {
      const record = await storeToken('cli-token-for-curl');
      expect(await cli(['token']).done).toEqual({ code: 0, stdout: 'cli-token-for-curl\n', stderr: '' });
      expect(await cli(['generation']).done).toEqual({
        code: 0,
        stdout: `${record.generation}\n`,
        stderr: '',
      });
    });

    it('fails on a wrong password instead of answering "no token", without showing a password', async () => {
      await storeToken('cli-token-wrong-password');
      const run = await cli(['token'], passwords.relay).done;
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/NOAUTH|WRONGPASS/);
      expect(run.stderr).not.toContain(passwords.relay);
    });

    it('waits for a newer generation', async () => {
      const first = await storeToken('cli-first');
      const waiting = cli(['wait', String(first.generation + 1), '20']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await storeToken('cli-second');
      expect(await waiting.done).toEqual({ code: 0, stdout: `${second.generation}\n`, stderr: '' });
    });

    it('reports a rejected token, which the relay hears', async () => {
      const heard = await listenForRequests();
      expect(await cli(['report', '7']).done).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      await until(() => heard.length === 1, 'the request');
      expect(JSON.parse(heard[0]!)).toEqual({ type: 'token.rejected', generation: 7 });
      expect((await cli(['report', '7;FLUSHALL']).done).code).toBe(64);
    });
  });
});
