import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@redis/client';
import { relayKeys } from '../../src/contract/keys.js';
import { startRedisServer, type RedisServer } from '../ops/redis-server.js';
import { eventually, startWorld, type World } from './harness.js';

// The contract (docs/contract.md#the-token): `generation` never goes back, also after Redis lost its
// data. Bots (the client library, the Python example) ignore an older generation, so a generation
// that went back after a Redis restart without persistence would leave every running bot on the old
// token.

let world: World | undefined;
let ownRedis: RedisServer | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  await ownRedis?.stop();
  ownRedis = undefined;
});

type Record = { token: string; generation: number; obtainedAt: string; expiresAt: string };

async function admin(url: string) {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function readToken(w: World, url: string): Promise<Record | undefined> {
  const redis = await admin(url);
  const raw = await redis.get(relayKeys({ prefix: w.prefix, account: w.account }).token);
  await redis.quit();
  return raw === null ? undefined : (JSON.parse(raw) as { value: Record }).value;
}

/** Waits for the prompt, answers it with the SMS code, and resolves with the new token's record. */
async function answer(w: World, url: string, above: number): Promise<Record> {
  const [alice] = w.operators;
  await w.discord.waitFor(() => w.etna.lastCode !== undefined, { what: 'an SMS code' });
  w.discord.sendDm(alice, w.etna.lastCode!);
  return eventually(async () => {
    const record = await readToken(w, url);
    return record !== undefined && record.generation > above ? record : undefined;
  }, `a token above generation ${above}`);
}

describe('generations across a Redis that lost its data', () => {
  it('a token of generation 7, the relay stopped, FLUSHALL, the relay started: the new login is above 7', async () => {
    ownRedis = await startRedisServer();
    const w = (world = await startWorld());
    const keys = relayKeys({ prefix: w.prefix, account: w.account });
    const redis = await admin(ownRedis.url);
    const expiresAt = Date.now() + 3_600_000;
    const record = {
      token: 'token-of-generation-7',
      account: w.account,
      generation: 7,
      obtainedAt: new Date().toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    };
    await redis.set(keys.token, JSON.stringify({ value: record, expires: expiresAt }));
    await redis.set(keys.generation, '7');
    await redis.flushAll();
    await redis.quit();

    w.spawnRelay({ REDIS_URL: ownRedis.url });
    const next = await answer(w, ownRedis.url, 7);
    expect(next.generation).toBeGreaterThan(7);
  });

  it('the relay running through a FLUSHALL: it writes its token back, and the next login is above it', async () => {
    ownRedis = await startRedisServer();
    const w = (world = await startWorld());
    const relay = w.spawnRelay({ REDIS_URL: ownRedis.url, VALIDATE_EVERY: '1s' });
    const first = await answer(w, ownRedis.url, 0);
    const redis = await admin(ownRedis.url);
    await redis.flushAll();

    // The relay notices at its next validation and writes the same token back.
    await eventually(
      async () => (await readToken(w, ownRedis!.url))?.generation === first.generation,
      'the token back',
    );
    expect(await readToken(w, ownRedis.url)).toEqual(first);

    // Redis lost the counter too: the next login still goes above what bots saw.
    await redis.flushAll();
    const [alice] = w.operators;
    const lastCode = w.etna.lastCode;
    await w.discord.runCommand(alice, 'login');
    await w.discord.waitFor(() => w.etna.lastCode !== lastCode, { what: 'a new SMS code' });
    const next = await answer(w, ownRedis.url, first.generation);
    expect(next.generation).toBeGreaterThan(first.generation);
    await redis.quit();
    expect(await relay.stop()).toBe(0);
  });
});
