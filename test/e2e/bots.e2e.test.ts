import { InteractionResponseType } from 'discord-api-types/v10';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenClient, type TokenClient } from '../../src/client/index.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { startWorld, type World, PROMPT_LINE } from './harness.js';

const PYTHON_BOT = fileURLToPath(new URL('../../examples/python_bot.py', import.meta.url));
/** Debian's python3 first: CI's `apt-get install python3-redis` puts redis-py there. */
const PYTHON = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import redis'], { stdio: 'ignore' }).status === 0,
);

let world: World | undefined;
let client: TokenClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await world?.close();
  world = undefined;
});

describe('bots reading the relay process (client library and the Python example)', () => {
  it('both see the new generation after the relay publishes token.updated', async () => {
    const w = (world = await startWorld());
    const [alice] = w.operators;
    w.spawnRelay();
    const promptCount = () => w.discord.dmsTo(alice).filter((m) => PROMPT_LINE.test(m.content)).length;
    await w.discord.waitFor(() => promptCount() === 1, { timeoutMs: 15_000 });
    w.discord.sendDm(alice, w.etna.lastCode!);

    client = await createTokenClient({ redisUrl: TEST_REDIS_URL, prefix: w.prefix, account: w.account });
    const first = await client.waitForToken({ signal: AbortSignal.timeout(10_000) });
    // The first token of a deployment takes the unix seconds of its obtainedAt
    // (docs/contract.md#the-token: the generation never goes back, also after Redis lost its data);
    // the next one is one more.
    expect(first.generation).toBe(Math.floor(first.obtainedAt.getTime() / 1000));
    expect(first.token).toBe(w.etna.lastToken);
    const next = first.generation + 1;

    // The Python bot waits for the next generation while an operator logs in again.
    const python =
      PYTHON === undefined
        ? undefined
        : spawn(PYTHON, [PYTHON_BOT, '--until-generation', String(next)], {
            env: {
              PATH: process.env.PATH ?? '',
              REDIS_URL: TEST_REDIS_URL,
              RELAY_KEY_PREFIX: w.prefix,
              RELAY_ACCOUNT: w.account,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    let pythonOut = '';
    python?.stdout.setEncoding('utf8').on('data', (chunk: string) => (pythonOut += chunk));
    const pythonExit = python === undefined ? undefined : once(python, 'exit');

    const seen: number[] = [];
    client.onTokenChange((token) => token !== undefined && seen.push(token.generation));
    const callback = await w.discord.runCommand(alice, 'login');
    expect(callback.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    await w.discord.waitFor(() => promptCount() === 2, { timeoutMs: 15_000 });
    w.discord.sendDm(alice, w.etna.lastCode!);

    const second = await client.waitForToken({ minGeneration: next, signal: AbortSignal.timeout(10_000) });
    expect(second.token).toBe(w.etna.lastToken);
    expect(client.getToken()?.generation).toBe(next);
    expect(seen).toEqual([next]);
    if (pythonExit !== undefined) {
      const [code] = (await pythonExit) as [number | null];
      expect(code).toBe(0);
      expect(pythonOut.trim()).toBe(String(next));
      expect(pythonOut).not.toContain(second.token); // the example never prints the token
    } else {
      console.warn('Python part skipped: no python3 here can `import redis` (install python3-redis).');
    }
  });
});
