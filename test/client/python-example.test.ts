import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseBotRequest } from '../../src/contract/bot-request.js';
import type { TokenRecord } from '../../src/relay/ports/token-store.js';
import { connectRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { ACCOUNT, relaySide, type RelaySide } from './support.js';

const SCRIPT = fileURLToPath(new URL('../../examples/python_bot.py', import.meta.url));

/**
 * Debian's python3 (where CI's `apt-get install python3-redis` puts redis-py) first: the `python3`
 * on PATH may be another interpreter (pyenv) without it.
 */
function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import redis'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

const PYTHON = findPython();
if (PYTHON === undefined) {
  console.warn(
    'Skipping the Python example tests: no python3 here can `import redis` (install python3-redis).',
  );
}

interface PythonRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(PYTHON === undefined)('examples/python_bot.py (redis-py)', () => {
  let relay: RelaySide;
  let plain: Awaited<ReturnType<typeof connectRedis>>;
  const running = new Set<ReturnType<typeof spawn>>();

  /** Runs the example with the test's prefix; resolves when it exits. */
  function runBot(args: string[]): { done: Promise<PythonRun> } {
    const child = spawn(PYTHON!, [SCRIPT, ...args], {
      env: {
        ...process.env,
        REDIS_URL: TEST_REDIS_URL,
        RELAY_KEY_PREFIX: relay.prefix,
        RELAY_ACCOUNT: ACCOUNT,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONIOENCODING: 'utf-8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const done = new Promise<PythonRun>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        running.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { done };
  }

  beforeEach(async () => {
    relay = await relaySide('python');
    plain = await connectRedis();
  });

  afterEach(async () => {
    // Only the processes this file started, by their handle.
    for (const child of running) child.kill('SIGKILL');
    running.clear();
    await relay.cleanup();
    if (plain.isOpen) await plain.close();
  });

  it('--once prints the generation RedisTokenStore wrote, never the token', async () => {
    await relay.storeToken('py-first');
    const second = await relay.storeToken(':py-colon-token');

    const run = await runBot(['--once']).done;

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(String(second.generation));
    expect(run.stdout + run.stderr).not.toContain('py-colon-token');
  });

  it('--once prints "none" and exits 2 when no token is stored', async () => {
    const run = await runBot(['--once']).done;
    expect(run.code).toBe(2);
    expect(run.stdout.trim()).toBe('none');
  });

  it('follows token.updated: sees the new generation after it is published', async () => {
    const first = await relay.storeToken('py-before');
    const bot = runBot(['--until-generation', String(first.generation + 1), '--timeout', '15']);

    // Published once the bot listens, so the new token reaches it through the event.
    await vi.waitFor(
      async () => {
        const counts = (await plain.pubSubNumSub(relay.keys.events)) as Record<string, number>;
        expect(counts[relay.keys.events]).toBe(1);
      },
      { timeout: 10_000, interval: 25 },
    );
    const second = await relay.publishToken('py-after');

    const run = await bot.done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(String(second.generation));
  });

  describe('--report-rejected N --wait: the relay answers the report', () => {
    let listener: ReturnType<typeof plain.duplicate>;

    /** Plays the relay: answers each report it hears with `answer` (nothing when it returns undefined). */
    async function answerReports(answer: (generation: number) => Promise<void> | undefined): Promise<void> {
      listener = plain.duplicate();
      await listener.connect();
      await listener.subscribe(relay.keys.requests, (message) => {
        const parsed = parseBotRequest(message);
        if (parsed.ok) void answer(parsed.request.generation);
      });
    }

    afterEach(async () => {
      if (listener?.isOpen) await listener.close();
    });

    it('prints the same generation once the relay answers token.checked valid for it', async () => {
      const record = await relay.storeToken('py-still-good');
      await answerReports(async (generation) => {
        // A "valid" answer for another generation, and a "dead" one, first: neither ends the wait.
        await relay.publishEvent({ type: 'token.checked', generation: generation - 1, valid: true });
        await relay.publishEvent({ type: 'token.checked', generation, valid: false });
        await relay.publishEvent({ type: 'token.checked', generation, valid: true });
      });

      const run = await runBot(['--report-rejected', String(record.generation), '--wait', '--timeout', '15'])
        .done;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual(['1', String(record.generation)]);
      expect(run.stdout).not.toContain('py-still-good');
    });

    it('prints the newer generation when the relay finds the token dead and replaces it', async () => {
      const record = await relay.storeToken('py-dead');
      let replacement: Promise<TokenRecord> | undefined;
      await answerReports((generation) => {
        replacement = (async () => {
          await relay.publishEvent({ type: 'token.checked', generation, valid: false });
          await relay.invalidate(generation);
          return relay.publishToken('py-replacement');
        })();
        return undefined;
      });

      const run = await runBot(['--report-rejected', String(record.generation), '--wait', '--timeout', '15'])
        .done;
      const next = await replacement!;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(next.generation).toBeGreaterThan(record.generation);
      expect(run.stdout.trim().split('\n')).toEqual(['1', String(next.generation)]);
    });

    it('prints "none", says why and exits 2 when no answer comes within --timeout', async () => {
      const record = await relay.storeToken('py-unanswered');
      await answerReports(() => undefined);
      const started = Date.now();
      const run = await runBot(['--report-rejected', String(record.generation), '--wait', '--timeout', '1'])
        .done;
      expect(run.code).toBe(2);
      expect(run.stdout.trim().split('\n')).toEqual(['1', 'none']);
      expect(run.stderr).toBe(
        `python_bot: no newer token than ${record.generation}, and no answer that it is still valid, within 1 s\n`,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('says that no relay listens when nobody heard the report, and that no answer came', async () => {
      const record = await relay.storeToken('py-nobody-listens');
      const run = await runBot(['--report-rejected', String(record.generation), '--wait', '--timeout', '1'])
        .done;
      expect(run.code).toBe(2);
      expect(run.stdout.trim().split('\n')).toEqual(['0', 'none']);
      expect(run.stderr).toBe(
        `python_bot: no relay listens on ${relay.keys.requests}: is it running, with this RELAY_KEY_PREFIX and RELAY_ACCOUNT? Waiting up to 1 s for a newer token anyway.\n` +
          `python_bot: no newer token than ${record.generation}, and no answer that it is still valid, within 1 s\n`,
      );
    });
  });

  it('--report-rejected lands on P:requests:A as the exact JSON the relay reads', async () => {
    const listener = plain.duplicate();
    await listener.connect();
    const received: string[] = [];
    await listener.subscribe(relay.keys.requests, (message) => received.push(message));
    try {
      const run = await runBot(['--report-rejected', '42']).done;
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe('1');
      expect(run.stderr).toBe('');
      await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 5_000, interval: 20 });
      expect(received[0]).toBe('{"type":"token.rejected","generation":42}');
      expect(parseBotRequest(received[0]!)).toEqual({
        ok: true,
        request: { type: 'token.rejected', generation: 42 },
      });
    } finally {
      await listener.close();
    }
  });
});
