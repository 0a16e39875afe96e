import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir, userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cliUserName } from '../../src/contract/cli-message.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { findLeaks } from '../helpers/secret-scan.js';
import { eventually, spawnRelayProcess, type RelayProcess } from './harness.js';

/**
 * Issue 20, item 3: `otp-relay code <CODE>`, the way in when Discord is down, against the real relay
 * process (`SANDBOX=true`: the terminal is its operators' channel, the sandbox broker prints each
 * SMS): the CLI is `node dist/cli/main.js`, run as a process of its own with the relay's Redis
 * settings, and talks to the relay through Redis only.
 */

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `node dist/cli/main.js …args` with exactly `env`, from a scratch folder (no .env of the repo). */
async function runCli(env: Record<string, string>, args: readonly string[]): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [status] = (await once(child, 'exit')) as [number | null];
  return { status, stdout, stderr, ms: Date.now() - started };
}

const relays: RelayProcess[] = [];
const prefixes: string[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
  const redis = await connectRedis();
  for (const prefix of prefixes.splice(0)) await deletePrefix(redis, prefix);
  await redis.quit();
});

/** The relay's environment, which the CLI is run with too. */
function relayEnv(prefix: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', REDIS_URL: TEST_REDIS_URL, RELAY_KEY_PREFIX: prefix };
}

/** The code of the last sandbox SMS the relay printed. */
function lastSms(relay: RelayProcess): string | undefined {
  const line = relay.lines.findLast((text) => text.includes('verification code:'));
  return line === undefined ? undefined : /verification code: (\d+)/.exec(line)?.[1];
}

/** Another code of the same length: the last digit changed. */
function wrong(code: string): string {
  return `${code.slice(0, -1)}${(Number(code.at(-1)) + 1) % 10}`;
}

describe('otp-relay code <CODE>', () => {
  it('enters a code as an operator would: a wrong one refused, the right one logs in, a second finds no login; the code printed nowhere', async () => {
    const prefix = uniquePrefix('cli');
    prefixes.push(prefix);
    const env = relayEnv(prefix);
    const relay = spawnRelayProcess({ ...env, SANDBOX: 'true', HTTP_PORT: '0' }, { stdin: 'pipe' });
    relays.push(relay);
    const code = await eventually(async () => lastSms(relay), 'the sandbox SMS');
    await eventually(async () => relay.lines.some((line) => line.includes('type the code')), 'the prompt');

    const refused = await runCli(env, ['code', wrong(code)]);
    expect(refused).toMatchObject({ status: 1, stderr: '' });
    expect(refused.stdout).toContain('A relay received the code.');
    expect(refused.stdout).toContain(
      'The broker refused that code. If it was mistyped, send the code from the SMS again (2 attempts left).',
    );

    const taken = await runCli(env, ['code', code, '--timeout', '30s']);
    expect(taken).toMatchObject({ status: 0, stderr: '' });
    expect(taken.stdout).toMatch(
      /^A relay received the code\.\nLogged in: account "default" has a new token, good until .* UTC\.\n$/,
    );
    const redis = await connectRedis();
    const raw = await redis.get(`${prefix}:token:default`);
    expect(JSON.parse(raw ?? 'null')?.value.token).toMatch(/^final-/);

    const again = await runCli(env, ['code', code]);
    expect(again).toMatchObject({ status: 1, stderr: '' });
    expect(again.stdout).toContain(
      'No login is waiting for a code right now, so nothing was sent to the broker.',
    );

    // The operators' channel (the terminal) names who answered; the audit trail too.
    const user = cliUserName(userInfo().username);
    expect(relay.lines.join('\n')).toContain(`Logged in with the code from ${user} (command line).`);
    const entries = await eventually(async () => {
      const found = await redis.xRevRange(`${prefix}:audit:default`, '+', '-', { COUNT: 1 });
      return found.length > 0 ? found : undefined;
    }, 'the audit entry');
    expect(entries[0]!.message).toMatchObject({
      outcome: 'succeeded',
      operator: expect.stringMatching(`^cli:${user}:cli-`),
    });
    await redis.quit();

    expect(await relay.stop()).toBe(0);
    // The sandbox prints its SMS: the code appears there, and nowhere else.
    const relayOutput = relay.lines.filter((line) => !line.includes('verification code:'));
    expect(findLeaks(relayOutput, [code, wrong(code)])).toEqual([]);
    for (const run of [refused, taken, again]) {
      expect(findLeaks([run.stdout, run.stderr], [code, wrong(code)])).toEqual([]);
    }
  });

  it('says at once that no relay answered when none listens (exit 3), and sends nothing', async () => {
    const prefix = uniquePrefix('cli-none');
    const run = await runCli(relayEnv(prefix), ['code', '123456']);
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^otp-relay: no relay answered/);
    expect(run.stderr).toContain(`none listens on ${prefix}:cli:default`);
    expect(run.stderr).not.toContain('123456');
    expect(run.ms).toBeLessThan(5_000);
  });

  it('refuses a usage or configuration error with status 2, before anything is sent', async () => {
    const prefix = uniquePrefix('cli-usage');
    const notACode = await runCli(relayEnv(prefix), ['code', '12']);
    expect(notACode.status).toBe(2);
    expect(notACode.stderr).toContain('that is not clearly one code (4 to 8 digits, CODE_DIGITS)');
    const badUrl = await runCli({ ...relayEnv(prefix), REDIS_URL: 'http://user:hunter2@redis' }, [
      'code',
      '123456',
    ]);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toContain('REDIS_URL: does not start with redis://');
    expect(badUrl.stderr).not.toMatch(/hunter2|123456/);
    const noCode = await runCli(relayEnv(prefix), ['code']);
    expect(noCode.status).toBe(2);
    expect(noCode.stderr).toContain('Usage: otp-relay code <CODE>');
  });
});
