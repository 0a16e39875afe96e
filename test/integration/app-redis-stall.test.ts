import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/shared/log.js';
import { startEtnaServer } from '../../src/sandbox/etna-server.js';
import { startDiscordEmulator } from '../fakes/discord/index.js';
import { startRedisServer } from '../ops/redis-server.js';

/**
 * Issue 18, item 1, end to end: a Redis that stops answering (SIGSTOP: it keeps its connections) is
 * seen by /readyz (503, `redis: "stalled"` then `disconnected` while the connection is replaced), an
 * operator's code sent meanwhile gets an answer instead of silence, and the relay is back once Redis
 * is. Before, `isReady` stayed true, /readyz said 200 and the code waited for ever.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Each step bounded: a step that hangs (a relay stopping on a Redis that never answers) must not
  // keep the next ones, which stop the processes, from running.
  for (const cleanup of cleanups.splice(0).reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise((resolve) => (timer = setTimeout(resolve, 10_000)));
    await Promise.race([cleanup().catch(() => undefined), bound]);
    clearTimeout(timer);
  }
}, 60_000);

/** Bounds a loaded machine still meets; the relay's own deadline is 5 s (REDIS_DEFAULTS). */
const BOUND_MS = 30_000;

async function readyz(url: string): Promise<{ status: number; redis: string }> {
  const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { redis: string };
  return { status: response.status, redis: body.redis };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = BOUND_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the relay on a Redis that stops answering', () => {
  it(
    'says 503 on /readyz, answers the operator, and comes back with Redis',
    { timeout: 120_000 },
    async () => {
      const emulator = await startDiscordEmulator({ interactionTimeoutMs: 1_500 });
      cleanups.push(() => emulator.close());
      const sandbox = await startEtnaServer({ codeLength: 6 });
      cleanups.push(() => sandbox.close());
      const redis = await startRedisServer();
      cleanups.push(() => redis.stop());
      const operator = emulator.createUser('alice');
      const config = loadConfig({
        ETNA_API_URL: sandbox.url.href,
        ETNA_APP_KEY: sandbox.settings.appKey,
        ETNA_USERNAME: sandbox.settings.username,
        ETNA_PASSWORD: sandbox.settings.password,
        DISCORD_TOKEN: emulator.botToken,
        DISCORD_OPERATOR_IDS: operator,
        DISCORD_API_URL: emulator.apiUrl,
        REDIS_URL: redis.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
      });
      const running: RunningRelay = await startRelay(config, createLogger({ level: 'silent' }), {
        returnStartMemory: false,
      });
      cleanups.push(() => running.stop());
      // Runs first: Redis answers again before the relay stops, whatever the test left it in.
      cleanups.push(async () => redis.resume());
      await emulator.waitFor(() => emulator.dmsTo(operator).length > 0, {
        what: 'the prompt',
        timeoutMs: 20_000,
      });
      expect((await readyz(running.httpUrl)).redis).toBe('connected');

      redis.pause();
      const pausedAt = Date.now();
      // The operator's code, sent right after Redis stopped answering (its claim goes out on the
      // stalled connection): an answer comes within the deadline, not silence.
      const before = emulator.dmsTo(operator).length;
      emulator.sendDm(operator, sandbox.lastCode ?? '123456');
      const answer = await until('an answer to the code', async () => {
        const dms = emulator.dmsTo(operator);
        return dms.length > before ? dms[dms.length - 1] : undefined;
      });
      expect(answer?.content).toMatch(/Redis/);
      console.info(`the operator was answered ${Date.now() - pausedAt} ms after sending the code`);
      expect(sandbox.counts.step2Calls).toBe(0);

      const stalled = await until('/readyz to see the stall', async () => {
        const report = await readyz(running.httpUrl);
        return report.redis === 'connected' ? undefined : report;
      });
      expect(stalled.status).toBe(503);
      expect(['stalled', 'disconnected']).toContain(stalled.redis);
      console.info(`/readyz said ${stalled.redis} ${Date.now() - pausedAt} ms after SIGSTOP`);

      redis.resume();
      await until('/readyz to see Redis again', async () =>
        (await readyz(running.httpUrl)).redis === 'connected' ? true : undefined,
      );
    },
  );
});
