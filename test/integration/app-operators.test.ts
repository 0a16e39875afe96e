import { Cron } from 'croner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { relayKeys } from '../../src/contract/keys.js';
import { METRIC_NAMES } from '../../src/metrics/index.js';
import { createLogger } from '../../src/shared/log.js';
import { startEtnaServer, type EtnaServer } from '../../src/sandbox/etna-server.js';
import { startDiscordEmulator, type DiscordEmulator } from '../fakes/discord/index.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { find, parseSamples, valueOf } from '../metrics/prometheus-text.js';

/**
 * Issue 12, items 2 and 9, as `startRelay` wires them: an operator whose DMs are closed shows in the
 * others' prompt, in `/readyz`, in `/metrics` and in `/status`; `/metrics` has Node's default metrics
 * under their standard names, and counts the bots' requests.
 */

const cleanups: (() => Promise<void>)[] = [];
let emulator: DiscordEmulator;
let running: RunningRelay;
let alice: string;
let closed: string;
let prefix: string;
let redis: Awaited<ReturnType<typeof connectRedis>>;

beforeAll(async () => {
  emulator = await startDiscordEmulator();
  cleanups.push(() => emulator.close());
  const sandbox: EtnaServer = await startEtnaServer({});
  cleanups.push(() => sandbox.close());
  redis = await connectRedis();
  prefix = uniquePrefix('app-operators');
  cleanups.push(async () => {
    await deletePrefix(redis, prefix);
    await redis.close();
  });
  alice = emulator.createUser('alice');
  closed = emulator.createUser('closed', { dmsOpen: false });
  const config = loadConfig({
    ETNA_API_URL: sandbox.url.href,
    ETNA_APP_KEY: sandbox.settings.appKey,
    ETNA_USERNAME: sandbox.settings.username,
    ETNA_PASSWORD: sandbox.settings.password,
    DISCORD_TOKEN: emulator.botToken,
    DISCORD_OPERATOR_IDS: `${alice},${closed}`,
    DISCORD_API_URL: emulator.apiUrl,
    REDIS_URL: TEST_REDIS_URL,
    RELAY_KEY_PREFIX: prefix,
    // With no token, a schedule has the keep-alive plan its next login: /metrics shows when.
    LOGIN_SCHEDULE: '30 8 * * 1-5',
    LOGIN_SCHEDULE_TZ: 'America/New_York',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  running = await startRelay(config, createLogger({ level: 'silent' }));
  cleanups.push(() => running.stop());
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function metricsNow() {
  return parseSamples(await (await fetch(`${running.httpUrl}/metrics`)).text());
}

describe('startRelay with an operator whose DMs are closed', () => {
  it("names them at the end of the other operator's prompt", async () => {
    const prompt = await emulator.waitFor(() =>
      emulator
        .dmsTo(alice)
        .find((message) => message.content.includes('Could not reach: closed (DMs closed).')),
    );
    expect(prompt.content.split('\n')[0]).toContain('SMS code needed for account `default`');
    expect(emulator.dmsTo(closed)).toHaveLength(0);
  });

  it('lists them in /readyz', async () => {
    const body = (await (await fetch(`${running.httpUrl}/readyz`)).json()) as {
      operators: { unreachable: { operatorId: string; reason: string; since: string }[] };
    };
    expect(body.operators.unreachable).toEqual([
      { operatorId: closed, reason: 'dms-closed', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
  });

  it('counts their failed DMs in /metrics, by operator', async () => {
    const samples = await metricsNow();
    expect(
      valueOf(samples, METRIC_NAMES.dmFailures, { operator: closed, reason: 'dms-closed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, METRIC_NAMES.dmFailures, { operator: alice, reason: 'dms-closed' })).toBe(0);
  });

  it('/status lists whom the last prompt reached, and whom it could not', async () => {
    const callback = await emulator.runCommand(alice, 'status');
    const reply = await emulator.waitFor(() => {
      const message = emulator.interactionReply(callback.interactionId);
      return message !== undefined && message.editCount > 0 ? message : undefined;
    });
    expect(reply.content).toMatch(
      /Last prompt, <t:\d+:f> \(<t:\d+:R>\): sent to alice; could not reach closed \(DMs closed\)\./,
    );
  });
});

describe('/metrics', () => {
  it("has Node's default metrics under their standard names", async () => {
    const samples = await metricsNow();
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(find(samples, 'nodejs_heap_size_used_bytes')).toHaveLength(1);
    expect(samples.filter((sample) => sample.name.startsWith('otp_relay_process_'))).toEqual([]);
  });

  it("shows the relay's state: the next planned login, no halt, and no failed login while one waits for a code", async () => {
    const samples = await metricsNow();
    const next = valueOf(samples, METRIC_NAMES.nextLogin);
    const planned = new Cron('30 8 * * 1-5', { paused: true, timezone: 'America/New_York' }).nextRun();
    expect(next).toBe(planned!.getTime() / 1_000);
    expect(valueOf(samples, METRIC_NAMES.halted)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.lastLoginFailed)).toBe(0);
  });

  it('counts the requests the bots publish', async () => {
    expect(valueOf(await metricsNow(), METRIC_NAMES.botRequests, { type: 'token.rejected' })).toBe(0);
    const keys = relayKeys({ prefix, account: 'default' });
    await redis.publish(keys.requests, JSON.stringify({ type: 'token.rejected', generation: 0 }));
    let counted = 0;
    for (let tries = 0; tries < 100 && counted === 0; tries += 1) {
      counted = valueOf(await metricsNow(), METRIC_NAMES.botRequests, { type: 'token.rejected' });
      if (counted === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(counted).toBe(1);
  });
});
