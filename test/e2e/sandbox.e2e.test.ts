import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { findLeaks } from '../helpers/secret-scan.js';
import { eventually, spawnRelayProcess, type RelayProcess } from './harness.js';

/**
 * Issue 20, item 4: `npm start` with `SANDBOX=true` runs the real relay process (Redis, the HTTP
 * server with /readyz and /metrics, keep-alive) against the built-in sandbox broker, with the
 * terminal (standard input) as the operators' channel: no broker account, no Discord bot.
 */

interface Envelope {
  value: { token: string; account: string; generation: number };
  expires: number;
}

const relays: RelayProcess[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  const redis = await connectRedis();
  for (const prefix of prefixes.splice(0)) await deletePrefix(redis, prefix);
  await redis.quit();
});

/** A sandbox relay: only SANDBOX, Redis, its own key prefix and a free HTTP port. No ETNA_*, no DISCORD_*. */
function spawnSandbox(prefix: string, extra: Record<string, string> = {}): RelayProcess {
  const relay = spawnRelayProcess(
    {
      PATH: process.env.PATH ?? '',
      SANDBOX: 'true',
      REDIS_URL: TEST_REDIS_URL,
      RELAY_KEY_PREFIX: prefix,
      HTTP_PORT: '0',
      ...extra,
    },
    { stdin: 'pipe' },
  );
  relays.push(relay);
  return relay;
}

/** The exit status, or `'still running'` after `ms`: a start that should stop must stop soon. */
async function exitWithin(relay: RelayProcess, ms = 15_000): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => (timer = setTimeout(resolve, ms, 'still running')));
  try {
    return await Promise.race([relay.exited(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The code of the last sandbox SMS the relay printed. */
function lastSms(relay: RelayProcess): string | undefined {
  const line = relay.lines.findLast((text) => text.includes('verification code:'));
  return line === undefined ? undefined : /verification code: (\d+)/.exec(line)?.[1];
}

describe('SANDBOX=true npm start', () => {
  it('serves /readyz and /metrics, takes the code typed at the terminal, and publishes the token for the bots', async () => {
    const prefix = uniquePrefix('sandbox');
    prefixes.push(prefix);
    const relay = spawnSandbox(prefix);
    const url = await relay.httpUrl();

    const code = await eventually(async () => lastSms(relay), 'the sandbox SMS');
    await eventually(async () => relay.lines.some((line) => line.includes('type the code')), 'the prompt');
    const waiting = await fetch(`${url}/readyz`);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toMatchObject({
      ready: false,
      redis: 'connected',
      token: null,
      login: { state: 'awaiting-code' },
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    relay.child.stdin!.write(`${code}\n`);
    const redis = await connectRedis();
    const raw = await eventually(() => redis.get(`${prefix}:token:default`), 'the token in Redis');
    await redis.quit();
    const envelope = JSON.parse(raw) as Envelope;
    expect(envelope.value).toMatchObject({ account: 'default' });
    expect(envelope.value.token).toMatch(/^final-/);

    const ready = await eventually(async () => {
      const answer = await fetch(`${url}/readyz`);
      return answer.status === 200 ? ((await answer.json()) as Record<string, unknown>) : undefined;
    }, '/readyz ready');
    expect(ready).toMatchObject({
      ready: true,
      token: { generation: envelope.value.generation, valid: true },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(`otp_relay_token_generation{account="default"} ${envelope.value.generation}`);
    expect(metrics).toMatch(/otp_relay_logins_total\{[^}]*result="succeeded"[^}]*\} 1/);

    expect(relay.lines.join('\n')).toContain('Logged in: account "default" has a new token');
    expect(await relay.stop()).toBe(0);
    expect(findLeaks(relay.lines, [envelope.value.token])).toEqual([]);
  });

  it('is what a relay without its configuration points to', async () => {
    const relay = spawnRelayProcess({ PATH: process.env.PATH ?? '', HTTP_PORT: '0' });
    relays.push(relay);
    expect(await exitWithin(relay)).toBe(2);
    expect(relay.lines.join('\n')).toContain(
      '(For a try-out with no accounts: npm run demo, or SANDBOX=true npm start)',
    );
  });

  it('refuses a broker URL: the sandbox never talks to another broker', async () => {
    const prefix = uniquePrefix('sandbox-url');
    prefixes.push(prefix);
    const relay = spawnSandbox(prefix, { ETNA_API_URL: 'https://pub-api-et-demo-prod.etnasoft.us/api/' });
    expect(await exitWithin(relay)).toBe(2);
    const output = relay.lines.join('\n');
    expect(output).toContain(
      'ETNA_API_URL: is set, but SANDBOX=true runs against the built-in sandbox broker',
    );
    // Nothing else is asked for: no ETNA_* credentials, no Discord.
    expect(output).not.toMatch(/ETNA_APP_KEY|DISCORD_TOKEN/);
  });

  it('refuses a store that holds a token no sandbox issued, and leaves that token alone', async () => {
    const prefix = uniquePrefix('sandbox-foreign');
    prefixes.push(prefix);
    const record = {
      token: 'a-real-relays-token',
      account: 'default',
      generation: 7,
      obtainedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const stored = JSON.stringify({ value: record, expires: Date.parse(record.expiresAt) });
    const redis = await connectRedis();
    await redis.set(`${prefix}:token:default`, stored, { PX: 3_600_000 });
    const relay = spawnSandbox(prefix);
    expect(await exitWithin(relay)).toBe(1);
    expect(relay.lines.join('\n')).toContain(
      `${prefix}:token:default holds a token the sandbox did not issue`,
    );
    expect(await redis.get(`${prefix}:token:default`)).toBe(stored);
    await redis.quit();
    expect(findLeaks(relay.lines, [record.token])).toEqual([]);
  });
});
