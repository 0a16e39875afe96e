import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const DEMO = fileURLToPath(new URL('../../dist/demo.js', import.meta.url));

/** Runs `npm run demo`'s program, answering its prompt like a person at the terminal would. */
async function runDemo(
  env: Record<string, string>,
  answer: (code: string) => string[],
): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, [DEMO], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: tmpdir(),
  });
  let out = '';
  let answered = false;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (out += chunk));
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    const sms = /verification code: (\d{6})/.exec(out);
    // Answer once the prompt itself is out, as a person reading the screen would.
    if (sms !== null && !answered && out.includes('type the code')) {
      answered = true;
      for (const line of answer(sms[1]!)) child.stdin.write(`${line}\n`);
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { out, code };
}

describe('npm run demo', () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    const redis = await connectRedis();
    for (const prefix of prefixes.splice(0)) await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('runs the whole flow with no accounts and shows the token as a bot reads it', async () => {
    const { out, code } = await runDemo({}, (sms) => ['not a code', `${sms.slice(0, 3)}-${sms.slice(3)}`]);
    expect(code).toBe(0);
    expect(out).toContain('store: in-process');
    expect(out).toContain('That is not clearly one code');
    const seen = /A trading bot reading otp-relay:token:demo now sees:\n {2}(\{.*\})\n/.exec(out);
    expect(seen).not.toBeNull();
    const record = JSON.parse(seen![1]!) as {
      token: string;
      account: string;
      generation: number;
      obtainedAt: string;
    };
    expect(record.token).not.toBe('');
    expect(Object.keys(record).slice(0, 3)).toEqual(['token', 'account', 'generation']);
    expect(record.account).toBe('demo');
    // The first token of a store with no counter takes the unix seconds of its obtainedAt.
    expect(record.generation).toBe(Math.floor(Date.parse(record.obtainedAt) / 1000));
    expect(out).toContain(
      `[event on otp-relay:events:demo] {"type":"token.updated","generation":${record.generation},`,
    );
  });

  it('publishes to Redis when REDIS_URL is set, in the envelope bots read', async () => {
    const prefix = uniquePrefix('demo');
    prefixes.push(prefix);
    const { out, code } = await runDemo({ REDIS_URL: TEST_REDIS_URL, RELAY_KEY_PREFIX: prefix }, (sms) => [
      sms,
    ]);
    expect(code).toBe(0);
    const redis = await connectRedis();
    const raw = await redis.get(`${prefix}:token:demo`);
    await redis.quit();
    const envelope = JSON.parse(raw!) as {
      value: { token: string; generation: number; obtainedAt: string };
      expires: number;
    };
    // The first token of a deployment: the unix seconds of its obtainedAt.
    expect(envelope.value.generation).toBe(Math.floor(Date.parse(envelope.value.obtainedAt) / 1000));
    expect(out).toContain(`GET ${prefix}:token:demo -> ${raw}`);
  });
});
