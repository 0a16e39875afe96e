import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
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
  untilOutput,
  userUrl,
  type RedisServer,
  type RenderedAcl,
} from './redis-server.js';
import { sentinelBinary } from './sentinel-cluster.js';

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

  describe('examples/ioredis-bot.mjs (ioredis)', () => {
    const SCRIPT = join(REPO_ROOT, 'examples/ioredis-bot.mjs');

    /** A changed copy of the example, with `ioredis` pointed at this repository's copy. */
    const variant = async (source: string, name: string): Promise<string> => {
      const ioredis = pathToFileURL(createRequire(import.meta.url).resolve('ioredis')).href;
      const path = join(work, name);
      await writeFile(path, source.replace(/from 'ioredis'/, `from '${ioredis}'`));
      return path;
    };

    // The file itself, run by plain `node` as a bot would run it (ioredis from this repository).
    const bot = (args: string[], password = passwords.bot, path = SCRIPT): Started =>
      start(process.execPath, [path, ...args], {
        REDIS_URL: userUrl(server!, 'bot', password),
        RELAY_KEY_PREFIX: 'otp-relay',
        RELAY_ACCOUNT: account,
      });

    it('is plain JavaScript that node runs as it is: no build step, no TypeScript syntax', async () => {
      const source = await readFile(SCRIPT, 'utf8');
      // What TypeScript would accept and Node would not: a transpile changes nothing but comments.
      const transpiled = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ESNext,
          removeComments: true,
        },
      }).outputText;
      const strip = (code: string) =>
        code
          .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
          .replace(/\s+/g, '')
          .replace(/,(?=[)\]}])/g, '');
      expect(strip(transpiled)).toBe(strip(source));
      const check = spawnSync(process.execPath, ['--check', SCRIPT], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(source).toContain('node ioredis-bot.mjs');
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

    it('--until-generation says so when none comes within --timeout, and exits 2', async () => {
      const first = await storeToken('ioredis-only');
      const run = await bot(['--until-generation', String(first.generation + 1), '--timeout', '1']).done;
      expect(run).toEqual({
        code: 2,
        stdout: `${first.generation}\n`,
        stderr: `ioredis-bot: no generation ${first.generation + 1} or newer at otp-relay:token:${account} within 1 s (generation ${first.generation})\n`,
      });
    });

    it('--report-rejected N publishes token.rejected for N, which the relay hears', async () => {
      const heard = await listenForRequests();
      const run = await bot(['--report-rejected', '42']).done;
      expect(run).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      await until(() => heard.length === 1, 'the request');
      expect(JSON.parse(heard[0]!)).toEqual({ type: 'token.rejected', generation: 42 });
    });

    it('--report-rejected says when no relay heard the report', async () => {
      const run = await bot(['--report-rejected', '42']).done;
      expect(run).toEqual({
        code: 0,
        stdout: '0\n',
        stderr: `ioredis-bot: no relay listens on otp-relay:requests:${account}: is it running, with this RELAY_KEY_PREFIX and RELAY_ACCOUNT?\n`,
      });
    });

    it('sets enableReadyCheck: false, else ioredis sends INFO on each connection, which the bot user may not', async () => {
      const source = await readFile(SCRIPT, 'utf8');
      expect(source).toMatch(/^ {2}enableReadyCheck: false,$/m);
      const withCheck = await variant(
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
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Started =>
      start('sh', [SCRIPT, ...args], {
        REDIS_URL: userUrl(server!, 'bot', passwords.bot),
        RELAY_ACCOUNT: account,
        ...env,
      });
    const withPassword = (password: string) => ({ REDIS_URL: userUrl(server!, 'bot', password) });

    it('prints nothing and exits 2 when no token is stored', async () => {
      expect(await cli(['token']).done).toEqual({ code: 2, stdout: '', stderr: '' });
      expect(await cli(['generation']).done).toEqual({ code: 2, stdout: '', stderr: '' });
    });

    it('prints the token and its generation as the relay stored them, read through REDIS_URL', async () => {
      const record = await storeToken('cli-token-for-curl');
      expect(await cli(['token']).done).toEqual({ code: 0, stdout: 'cli-token-for-curl\n', stderr: '' });
      expect(await cli(['generation']).done).toEqual({
        code: 0,
        stdout: `${record.generation}\n`,
        stderr: '',
      });
      // Percent-escapes in the user and password are decoded, and a database number is taken.
      const escaped = `redis://%62ot:${passwords.bot.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}@127.0.0.1:${server!.port}/0`;
      expect(await cli(['generation'], { REDIS_URL: escaped }).done).toEqual({
        code: 0,
        stdout: `${record.generation}\n`,
        stderr: '',
      });
    });

    it('fails on a wrong password instead of answering "no token", without showing a password', async () => {
      await storeToken('cli-token-wrong-password');
      const run = await cli(['token'], withPassword(passwords.relay)).done;
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/NOAUTH|WRONGPASS/);
      expect(run.stderr).not.toContain(passwords.relay);
    });

    it('refuses a REDIS_URL it cannot read, naming it', async () => {
      const run = await cli(['token'], { REDIS_URL: 'http://127.0.0.1:6379' }).done;
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: 'redis-cli-bot: REDIS_URL must start with redis:// or rediss://\n',
      });
    });

    it('waits for a newer generation, and says what it waits for', async () => {
      const first = await storeToken('cli-first');
      const waiting = cli(['wait', String(first.generation + 1), '20']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await storeToken('cli-second');
      expect(await waiting.done).toEqual({
        code: 0,
        stdout: `${second.generation}\n`,
        stderr: `redis-cli-bot: waiting up to 20 s for generation ${first.generation + 1} or newer at otp-relay:token:${account}\n`,
      });
    });

    it('says so when no such generation comes in time, and exits 2', async () => {
      const first = await storeToken('cli-only');
      const run = await cli(['wait', String(first.generation + 1), '1']).done;
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `redis-cli-bot: waiting up to 1 s for generation ${first.generation + 1} or newer at otp-relay:token:${account}\n` +
          `redis-cli-bot: no generation ${first.generation + 1} or newer at otp-relay:token:${account} within 1 s (generation ${first.generation})\n`,
      );
    });

    it('reports a rejected token, which the relay hears', async () => {
      const heard = await listenForRequests();
      expect(await cli(['report', '7']).done).toEqual({ code: 0, stdout: '1\n', stderr: '' });
      await until(() => heard.length === 1, 'the request');
      expect(JSON.parse(heard[0]!)).toEqual({ type: 'token.rejected', generation: 7 });
      expect((await cli(['report', '7;FLUSHALL']).done).code).toBe(64);
    });

    it('says when no relay heard the report', async () => {
      expect(await cli(['report', '7']).done).toEqual({
        code: 0,
        stdout: '0\n',
        stderr: `redis-cli-bot: no relay listens on otp-relay:requests:${account}: is it running, with this RELAY_KEY_PREFIX and RELAY_ACCOUNT?\n`,
      });
    });

    describe.skipIf(sentinelBinary() === undefined)('with REDIS_SENTINELS and REDIS_SENTINEL_MASTER', () => {
      let sentinel: ChildProcess | undefined;
      let sentinelPort: number;
      let dir: string;

      beforeAll(async () => {
        const binary = sentinelBinary()!;
        dir = await mkdtemp(join(tmpdir(), 'otp-relay-cli-sentinel-'));
        sentinelPort = await new Promise<number>((resolve, reject) => {
          const probe = createServer();
          probe.once('error', reject);
          probe.listen(0, '127.0.0.1', () => {
            const address = probe.address();
            probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
          });
        });
        const conf = join(dir, 'sentinel.conf');
        // The sentinel names the master it was told of: enough for the script, which asks it.
        await writeFile(
          conf,
          `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor examples 127.0.0.1 ${server!.port} 1\n`,
        );
        sentinel = spawn(binary.file, [conf, ...binary.args], { stdio: ['ignore', 'pipe', 'pipe'] });
        await untilOutput(sentinel, ['+monitor master'], 10_000, 'redis-sentinel');
      });

      afterAll(async () => {
        if (sentinel !== undefined && sentinel.exitCode === null) {
          const exited = new Promise((resolve) => sentinel!.once('exit', resolve));
          sentinel.kill('SIGTERM');
          await exited;
        }
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      it("asks the sentinels for the master, and logs in with REDIS_URL's user and password", async () => {
        const record = await storeToken('cli-through-sentinel');
        // REDIS_URL's host and port point at nothing: only the sentinel knows where the master is.
        const env = {
          REDIS_URL: `redis://bot:${passwords.bot}@127.0.0.1:1`,
          REDIS_SENTINELS: `127.0.0.1:1,127.0.0.1:${sentinelPort}`,
          REDIS_SENTINEL_MASTER: 'examples',
        };
        expect(await cli(['generation'], env).done).toEqual({
          code: 0,
          stdout: `${record.generation}\n`,
          stderr: '',
        });
        const unknown = await cli(['generation'], { ...env, REDIS_SENTINEL_MASTER: 'nope' }).done;
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain('knows the master nope');
        const half = await cli(['generation'], { REDIS_SENTINELS: env.REDIS_SENTINELS }).done;
        expect(half.stderr).toBe('redis-cli-bot: set REDIS_SENTINELS and REDIS_SENTINEL_MASTER together\n');
      });
    });
  });
});
