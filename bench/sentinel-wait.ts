/**
 * What high availability costs a token write and a read (issue 13), each against its baseline in
 * the same run, on this machine:
 *
 * - a token write (`RedisTokenStore.publish`) with `WAIT 1 <ms>` after it (the default) against the
 *   same write without (`replicaWaitMs: 0`), on a master with one replica;
 * - a `GET` through the Sentinel proxy (redis/sentinel-proxy.ts) against the same `GET` straight
 *   to the master.
 *
 * Starts its own redis-server (master, replica) and one sentinel on free ports of 127.0.0.1, and
 * stops them at the end. Run: `npm run build --silent; npx tsc -p tsconfig.bench.json;
 * node .bench-build/bench/sentinel-wait.js` (BENCH_ROUNDS=N to change the 300 rounds).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../src/shared/secret.js';
import { relayKeys } from '../src/contract/keys.js';
import { connectRedis } from '../src/redis/connect.js';
import { RedisTokenStore } from '../src/store/redis-token-store.js';
import { fmt, summarize } from './lib/stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function start(file: string, args: string[], ready: string): Promise<void> {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start:\n${output}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`${file} exited:\n${output}`)));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'otp-relay-bench-ha-'));
  try {
    const [master, replica, sentinel] = [await freePort(), await freePort(), await freePort()];
    const node = (port: number) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      dir,
    ];
    await start('redis-server', [...node(master), '--dbfilename', `m.rdb`], 'Ready to accept connections');
    await start(
      'redis-server',
      [...node(replica), '--dbfilename', 'r.rdb', '--replicaof', '127.0.0.1', String(master)],
      'MASTER <-> REPLICA sync: Finished with success',
    );
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinel}\nbind 127.0.0.1\nsentinel monitor bench 127.0.0.1 ${master} 1\n`);
    await start('redis-server', [conf, '--sentinel'], '+monitor master');

    const keys = relayKeys({ prefix: 'otp-relay', account: 'bench' });
    const direct = await connectRedis({
      url: new Secret(`redis://127.0.0.1:${master}`),
      name: 'bench-direct',
    });
    const proxied = await connectRedis({
      url: new Secret('redis://127.0.0.1:1'),
      sentinel: { sentinels: [{ host: '127.0.0.1', port: sentinel }], masterName: 'bench' },
      name: 'bench-proxied',
    });
    const withWait = new RedisTokenStore({ client: direct, keys, account: 'bench' });
    const without = new RedisTokenStore({ client: direct, keys, account: 'bench', replicaWaitMs: 0 });
    const publish = (store: RedisTokenStore) => {
      const now = Date.now();
      return store.publish({
        token: new Secret('bench-token'),
        obtainedAt: new Date(now),
        expiresAt: new Date(now + 60_000),
      });
    };

    const writes = { wait: [] as number[], none: [] as number[] };
    const reads = { proxy: [] as number[], direct: [] as number[] };
    for (let round = 0; round < ROUNDS + 20; round += 1) {
      // Interleaved, so that both sides see the same machine; the first 20 rounds warm up.
      for (const [name, store] of [
        ['wait', withWait],
        ['none', without],
      ] as const) {
        const started = process.hrtime.bigint();
        await publish(store);
        if (round >= 20) writes[name].push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      for (const [name, client] of [
        ['proxy', proxied],
        ['direct', direct],
      ] as const) {
        const started = process.hrtime.bigint();
        await client.get(keys.token);
        if (round >= 20) reads[name].push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    const row = (label: string, samples: number[], base: number[]) => {
      const a = summarize(samples);
      const b = summarize(base);
      return `| ${label} | ${fmt(a.median)} ms | ${fmt(a.p99)} ms | ${fmt(b.median)} ms | ${fmt(b.p99)} ms | ${fmt(a.median / b.median)} |`;
    };
    console.log(`${ROUNDS} rounds, master + 1 replica on 127.0.0.1`);
    console.log('| measured | median | p99 | baseline median | baseline p99 | ratio (median) |');
    console.log('|---|---|---|---|---|---|');
    console.log(row('token write + WAIT 1 (baseline: no WAIT)', writes.wait, writes.none));
    console.log(row('GET through the Sentinel proxy (baseline: direct)', reads.proxy, reads.direct));
    await direct.del([keys.token, keys.generation]);
    await Promise.all([direct.close(), proxied.close()]);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exitCode = 1;
});
