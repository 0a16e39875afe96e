import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_REDIS_URL } from '../helpers/redis.js';
import { ACCOUNT, relaySide, type RelaySide } from './support.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

/**
 * The client as a bot gets it: `npm run pack:client`'s tarball (from the build `npm test` makes),
 * installed into an empty project with npm, used from outside this repository against real Redis.
 */
describe('the client package (npm run pack:client)', () => {
  let work: string;
  let tarball: string;
  let bot: string;
  let relay: RelaySide;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'otp-relay-client-package-'));
    const packed = await run(process.execPath, ['scripts/pack-client.js', '--out', work], { cwd: REPO_ROOT });
    tarball = packed.stdout.trim();
    bot = join(work, 'bot');
    await run('mkdir', [bot]);
    await writeFile(
      join(bot, 'package.json'),
      JSON.stringify({ name: 'a-trading-bot', private: true, type: 'module' }),
    );
    // From npm's cache when it holds @redis/client (it does after `npm ci`), else from the registry.
    await run(
      'npm',
      ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
      {
        cwd: bot,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
    );
    relay = await relaySide('client-package');
  }, 120_000);

  afterAll(async () => {
    await relay?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds the client, the contract, redis and shared modules it imports, its README, and nothing else', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').sort();
    for (const file of files) {
      expect(file).toMatch(
        /^package\/((client|contract|redis|shared)\/[\w-]+\.(js|d\.ts)|package\.json|README\.md)$/,
      );
    }
    expect(files).toContain('package/client/index.js');
    expect(files).toContain('package/client/index.d.ts');
    expect(files).toContain('package/contract/keys.js');
    // The relay's own modules never come along.
    expect(files.some((f) => /\/(relay|store|operators|broker|config)\//.test(f))).toBe(false);
    expect(files.some((f) => f.endsWith('.map') || f.endsWith('.ts.map'))).toBe(false);
  });

  it('depends on @redis/client alone, and installs nothing of the relay', async () => {
    const manifest = JSON.parse(await readFile(join(bot, 'node_modules/otp-relay/package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['@redis/client']);
    expect(manifest.type).toBe('module');
    expect(manifest.exports['./client']).toEqual({
      types: './client/index.d.ts',
      default: './client/index.js',
    });
    const installed = await readdir(join(bot, 'node_modules'));
    for (const name of ['discord.js', 'pino', 'keyv', 'undici', 'prom-client', 'croner']) {
      expect(installed).not.toContain(name);
    }
    expect(await readFile(join(bot, 'node_modules/otp-relay/README.md'), 'utf8')).toContain(
      "import { createTokenClient, TokenClientTimeoutError } from 'otp-relay/client'",
    );
  });

  it('reads the token the relay published, and closes with Symbol.asyncDispose', async () => {
    // Node 24 has the `await using` syntax; older Nodes call the method it calls.
    const DISPOSE =
      Number(process.versions.node.split('.')[0]) >= 24
        ? '{ await using scoped = tokens; void scoped; }'
        : 'await tokens[Symbol.asyncDispose]();';
    const record = await relay.publishToken('token-for-the-installed-client');
    await writeFile(
      join(bot, 'bot.js'),
      `import { createTokenClient } from 'otp-relay/client';
const tokens = await createTokenClient(
  { redisUrl: process.env.REDIS_URL, prefix: process.env.PREFIX, account: process.env.ACCOUNT },
  { signal: AbortSignal.timeout(10_000) },
);
const token = await tokens.waitForToken({ timeoutMs: 10_000 });
const read = { generation: token.generation, same: token.token === process.env.EXPECTED, shown: JSON.stringify(token) };
${DISPOSE}
// No process.exit: the process ends only if the dispose closed every connection.
console.log(JSON.stringify({ ...read, afterDispose: tokens.getToken() ?? null, connected: tokens.connected }));
`,
    );
    const { stdout } = await run(process.execPath, ['bot.js'], {
      cwd: bot,
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        REDIS_URL: TEST_REDIS_URL,
        PREFIX: relay.prefix,
        ACCOUNT,
        EXPECTED: 'token-for-the-installed-client',
      },
    });
    const result = JSON.parse(stdout);
    expect(result).toEqual({
      generation: record.generation,
      same: true,
      shown: expect.not.stringContaining('token-for-the-installed-client'),
      afterDispose: null,
      connected: false,
    });
  }, 40_000);

  it('gives TypeScript its types, `await using` included', async () => {
    await writeFile(
      join(bot, 'check.ts'),
      `import { createTokenClient, TokenClientTimeoutError, type TokenInfo } from 'otp-relay/client';
export async function read(): Promise<number> {
  await using tokens = await createTokenClient({ redisUrl: 'redis://127.0.0.1:6379' });
  const token: TokenInfo = await tokens.waitForToken({ timeoutMs: 1000 });
  // @ts-expect-error the token is a string: this fails if the types are missing (any)
  const wrong: number = token.token;
  void wrong;
  void TokenClientTimeoutError;
  return token.generation;
}
`,
    );
    await writeFile(
      join(bot, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'ESNext.Disposable'],
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: bot }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    expect(result.stdout).toBe('');
  }, 60_000);

  it('runs examples/ts-bot.ts with it, sending Et-App-Key with the token', async () => {
    await relay.publishToken('token-for-the-example-bot');
    // A broker that answers as ETNA does: 403 without the application key, 401 without the token.
    const seen: IncomingHttpHeaders[] = [];
    const broker = createServer((request, response) => {
      seen.push(request.headers);
      const status =
        request.headers['et-app-key'] !== 'app-key-of-the-team'
          ? 403
          : request.headers.authorization !== 'Bearer token-for-the-example-bot'
            ? 401
            : 200;
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
    broker.listen(0, '127.0.0.1');
    await once(broker, 'listening');
    const { port } = broker.address() as AddressInfo;
    try {
      const source = await readFile(join(REPO_ROOT, 'examples/ts-bot.ts'), 'utf8');
      const compiled = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      await writeFile(join(bot, 'ts-bot.js'), compiled.outputText);
      const child = spawn(process.execPath, ['ts-bot.js'], {
        cwd: bot,
        env: {
          PATH: process.env.PATH,
          REDIS_URL: TEST_REDIS_URL,
          RELAY_KEY_PREFIX: relay.prefix,
          RELAY_ACCOUNT: ACCOUNT,
          ETNA_API_URL: `http://127.0.0.1:${port}/api/`,
          ETNA_APP_KEY: 'app-key-of-the-team',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
      child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
      const exited = once(child, 'exit');
      const deadline = Date.now() + 20_000;
      while (!/broker answered \d+/.test(output) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill('SIGINT');
      const [code] = await exited;
      expect(output).toContain('broker answered 200');
      expect(output).not.toContain('token-for-the-example-bot');
      expect(code).toBe(0);
      expect(seen[0]).toMatchObject({
        authorization: 'Bearer token-for-the-example-bot',
        'et-app-key': 'app-key-of-the-team',
      });
    } finally {
      broker.close();
    }
  }, 40_000);
});
