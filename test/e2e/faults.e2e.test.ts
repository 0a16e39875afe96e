import { afterEach, describe, expect, it } from 'vitest';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis } from '../helpers/redis.js';
import { startRedisServer, type RedisServer } from '../ops/redis-server.js';
import { eventually, startWorld, type RelayProcess, type World, PROMPT_LINE } from './harness.js';

// Fault injection against the relay as a process: outcomes are asserted (step-1 calls, DMs per
// operator, step-2 calls, the published token), never timings.

let world: World | undefined;
let ownRedis: RedisServer | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
  await ownRedis?.stop();
  ownRedis = undefined;
});

type Record = { token: string; generation: number; obtainedAt: string };

/**
 * Whether `record` is the first token of this world's Redis keys: with no generation counter yet,
 * the store takes the unix seconds of `obtainedAt` (docs/contract.md#the-token: generations never go
 * back, also after Redis lost its data); a second publish would take one more than the first.
 */
function isFirstToken(record: Record | undefined): record is Record {
  return record !== undefined && record.generation === Math.floor(Date.parse(record.obtainedAt) / 1000);
}

async function readToken(w: World, url?: string): Promise<Record | undefined> {
  const redis = url === undefined ? await connectRedis() : await connectTo(url);
  const raw = await redis.get(relayKeys({ prefix: w.prefix, account: w.account }).token);
  await redis.quit();
  return raw === null ? undefined : (JSON.parse(raw) as { value: Record }).value;
}

async function connectTo(url: string) {
  const { createClient } = await import('@redis/client');
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Prompt messages (one per login) in an operator's DMs. */
function prompts(w: World, operatorId: string) {
  return w.discord.dmsTo(operatorId).filter((m) => PROMPT_LINE.test(m.content));
}

async function promptsOut(w: World, count = 1): Promise<void> {
  for (const operatorId of w.operators) {
    await w.discord.waitFor(() => prompts(w, operatorId).length >= count, {
      what: `prompt ${count} to ${operatorId}`,
      timeoutMs: 20_000,
    });
  }
}

function killHard(relay: RelayProcess): Promise<number | null> {
  relay.child.kill('SIGKILL');
  return relay.exited();
}

describe('kill -9 at each step of a login, then a restart', () => {
  it('before step 1: the restarted relay makes the one step-1 call and one DM per operator', async () => {
    const w = (world = await startWorld());
    await killHard(w.spawnRelay());
    w.spawnRelay();
    await promptsOut(w);
    // The first process may have got as far as the lock: the restart waits it out, then logs in.
    expect(w.etna.counts.step1Calls).toBe(1);
    for (const operatorId of w.operators) expect(prompts(w, operatorId)).toHaveLength(1);
  });

  it('after the DMs: the restarted relay takes the answer, with no new SMS and no new DM', async () => {
    const w = (world = await startWorld());
    const first = w.spawnRelay();
    await promptsOut(w);
    // Killed once the prompt messages are recorded as shared (a kill between the DMs and that write,
    // a few milliseconds, would leave the restarted relay sending fresh prompts: see
    // docs/operations.md#replicas-and-restarts).
    await first.waitForLog((line) => line.msg === 'prompt messages shared');
    await killHard(first);
    const second = w.spawnRelay();
    await second.waitForLog((line) => line.msg === 'pending login taken over');
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    await eventually(async () => isFirstToken(await readToken(w)), 'the token');
    expect(w.etna.counts.step1Calls).toBe(1);
    expect(w.etna.counts.step2Calls).toBe(1);
    for (const operatorId of w.operators) {
      expect(prompts(w, operatorId)).toHaveLength(1);
      // The restarted relay edited the first one's prompt.
      await w.discord.waitFor(() => prompts(w, operatorId)[0]!.content.includes('Logged in with the code'));
    }
  });

  it('after the answer reached the broker: the code is never sent again; the login ends at its deadline', async () => {
    const w = (world = await startWorld());
    const first = w.spawnRelay({ CODE_TIMEOUT: '6s' });
    await promptsOut(w);
    w.etna.settings.delayMs = 60_000; // step 2 reaches the broker and hangs there
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    await eventually(async () => w.etna.counts.step2Calls === 1, 'step 2 at the broker');
    await killHard(first);
    w.etna.settings.delayMs = 0;

    const second = w.spawnRelay({ CODE_TIMEOUT: '6s' });
    // The relay that took the code may still get the broker's answer up to a broker call's time-out
    // (15 s) after the deadline: the exchange is called dead only after that and a margin (30 s).
    await second.waitForLog(
      (line) => line.msg === 'the relay checking a code stopped; the login is over',
      50_000,
    );
    expect(w.etna.counts.step2Calls).toBe(1);
    expect(w.etna.counts.step1Calls).toBe(1);
    expect(await readToken(w)).toBeUndefined();
    const [alice] = w.operators;
    const prompt = await w.discord.waitFor(() =>
      prompts(w, alice).find((m) => m.buttons.some((b) => b.label === 'Send a new code')),
    );
    // An operator asks for a new code: one new SMS, and the login completes.
    await w.discord.clickButton(
      alice,
      prompt.id,
      prompt.buttons.find((b) => b.label === 'Send a new code')!.customId!,
    );
    await promptsOut(w, 2);
    w.discord.sendDm(alice, w.etna.lastCode!);
    await eventually(async () => isFirstToken(await readToken(w)), 'the token');
    expect(w.etna.counts.step1Calls).toBe(2);
    expect(w.etna.counts.step2Calls).toBe(2);
  }, 120_000);

  it('after the token write: the restarted relay keeps the token; no login, no DM', async () => {
    const w = (world = await startWorld());
    const first = w.spawnRelay();
    await promptsOut(w);
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    const published = await eventually(async () => {
      const record = await readToken(w);
      return isFirstToken(record) ? record : undefined;
    }, 'the token');
    await killHard(first);
    const second = w.spawnRelay();
    await second.waitForLog((line) => line.msg === 'relay started');
    expect(w.etna.counts.step1Calls).toBe(1);
    expect(w.etna.counts.step2Calls).toBe(1);
    for (const operatorId of w.operators) expect(prompts(w, operatorId)).toHaveLength(1);
    expect(await readToken(w)).toEqual(published);
  });

  it('a halt for bad credentials survives the restart: no new step 1', async () => {
    const w = (world = await startWorld());
    const first = w.spawnRelay({ ETNA_PASSWORD: 'wrong-password-value' });
    await first.waitForLog((line) => line.msg === 'login failed; logins halted until an operator acts');
    await killHard(first);
    const second = w.spawnRelay({ ETNA_PASSWORD: 'wrong-password-value' });
    await second.waitForLog((line) => line.msg === 'relay started');
    await second.waitForLog((line) => line.msg === 'login not started: logins are halted');
    expect(w.etna.counts.step1Calls).toBe(1);
  });
});

describe('replicas', () => {
  it.each([2, 3])('%i relays started at once: one step 1, one DM per operator, one step 2', async (count) => {
    const w = (world = await startWorld());
    const relays = Array.from({ length: count }, () => w.spawnRelay());
    await promptsOut(w);
    await Promise.all(
      relays.map((relay) => relay.waitForLog((line) => line.msg === 'relay started', 20_000)),
    );
    expect(w.etna.counts.step1Calls).toBe(1);
    // Every relay receives the DM through its own gateway connection; one acts on it.
    w.discord.sendDm(w.operators[1], w.etna.lastCode!);
    await eventually(async () => isFirstToken(await readToken(w)), 'the token');
    await w.discord.waitFor(() =>
      w.discord.dmsTo(w.operators[1]).find((m) => m.content.startsWith('Logged in')),
    );
    expect(w.etna.counts.step2Calls).toBe(1);
    for (const operatorId of w.operators) expect(prompts(w, operatorId)).toHaveLength(1);
    expect(w.discord.dmsTo(w.operators[1]).filter((m) => m.content.startsWith('Logged in'))).toHaveLength(1);
  });
});

describe('Redis, the broker and Discord failing', () => {
  it('Redis restarted empty: the relay stays up, reports not ready, then writes its token back', async () => {
    ownRedis = await startRedisServer();
    const w = (world = await startWorld());
    const relay = w.spawnRelay({ REDIS_URL: ownRedis.url });
    await promptsOut(w);
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    const before = await eventually(async () => {
      const record = await readToken(w, ownRedis!.url);
      return isFirstToken(record) ? record : undefined;
    }, 'the token');
    const url = await relay.httpUrl();

    const port = ownRedis.port;
    await ownRedis.stop();
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 503, 'not ready');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    ownRedis = await startRedisServer({ port });
    await eventually(
      async () => (await readToken(w, ownRedis!.url))?.generation === before.generation,
      'the token back',
      20_000,
    );
    expect(await readToken(w, ownRedis.url)).toEqual(before);
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 'ready again');
    expect(w.etna.counts.step1Calls).toBe(1);
  });

  it('Redis paused: the relay waits it out and goes on', async () => {
    ownRedis = await startRedisServer();
    const w = (world = await startWorld());
    const relay = w.spawnRelay({ REDIS_URL: ownRedis.url });
    await promptsOut(w);
    const admin = await connectTo(ownRedis.url);
    await admin.sendCommand(['CLIENT', 'PAUSE', '2000', 'ALL']);
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    expect((await fetch(`${await relay.httpUrl()}/healthz`)).status).toBe(200);
    await eventually(async () => isFirstToken(await readToken(w, ownRedis!.url)), 'the token', 20_000);
    await admin.quit();
    expect(w.etna.counts.step2Calls).toBe(1);
  });

  it('the broker failing twice at step 1, then answering: one login, one DM per operator', async () => {
    const w = (world = await startWorld());
    w.etna.failNext(2, { status: 503 });
    w.spawnRelay();
    await promptsOut(w);
    expect(w.etna.counts.step1Calls).toBe(3);
    for (const operatorId of w.operators) expect(prompts(w, operatorId)).toHaveLength(1);
  });

  it('the gateway connection dropped mid-login: the answer still gets through', async () => {
    const w = (world = await startWorld());
    w.spawnRelay();
    await promptsOut(w);
    await w.discord.closeGateway();
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    await eventually(async () => isFirstToken(await readToken(w)), 'the token', 20_000);
    expect(w.etna.counts.step2Calls).toBe(1);
  });

  it('SIGTERM during a pending login: exits 0, releases the lock, leaves the login for a restart', async () => {
    const w = (world = await startWorld());
    const first = w.spawnRelay();
    await promptsOut(w);
    expect(await first.stop()).toBe(0);
    const keys = relayKeys({ prefix: w.prefix, account: w.account });
    const redis = await connectRedis();
    expect(await redis.exists(keys.lock)).toBe(0);
    expect(await redis.exists(keys.pending)).toBe(1);
    await redis.quit();

    const second = w.spawnRelay();
    await second.waitForLog((line) => line.msg === 'relay started');
    w.discord.sendDm(w.operators[0], w.etna.lastCode!);
    await eventually(async () => isFirstToken(await readToken(w)), 'the token');
    expect(w.etna.counts.step1Calls).toBe(1);
  });
});
