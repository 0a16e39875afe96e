import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TEST_REDIS_URL } from '../helpers/redis.js';
import { relaySide, type RelaySide } from './support.js';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** The Python code blocks of the README's "For bots" section, in order. */
function pythonBlocks(): string[] {
  const section = README.slice(
    README.indexOf('## For bots'),
    README.indexOf('\n## ', README.indexOf('## For bots') + 1),
  );
  return [...section.matchAll(/```python\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import redis'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}
const PYTHON = findPython();

/** The README's snippets, run as written against this test's Redis and key prefix. */
describe.skipIf(PYTHON === undefined)("the README's Python snippets (redis-py)", () => {
  let relay: RelaySide;

  beforeEach(async () => {
    relay = await relaySide('readme-python');
  });

  afterEach(async () => {
    await relay.cleanup();
  });

  const runSnippet = (code: string, epilogue: string) => {
    const program = `${code
      .replaceAll('redis://127.0.0.1:6379', TEST_REDIS_URL)
      .replaceAll('"otp-relay:', `"${relay.prefix}:`)}\n${epilogue}\n`;
    return spawnSync(PYTHON!, ['-c', program], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env.PATH, ETNA_APP_KEY: 'app-key-of-the-team' },
    });
  };

  it('reads the token with Et-App-Key, and takes a missing key as "no token" rather than raising', async () => {
    const [first] = pythonBlocks();
    expect(first).toContain('Et-App-Key');
    const epilogue = 'import json as j; print(j.dumps([token, headers if token else None]))';

    const none = runSnippet(first!, epilogue);
    expect(none.stderr).toBe('');
    expect(JSON.parse(none.stdout)).toEqual([null, null]);

    await relay.storeToken('readme-token');
    const some = runSnippet(first!, epilogue);
    expect(some.stderr).toBe('');
    expect(JSON.parse(some.stdout)).toEqual([
      'readme-token',
      { Authorization: 'Bearer readme-token', 'Et-App-Key': 'app-key-of-the-team' },
    ]);
  });

  it('the event-following snippet starts without a token too', async () => {
    const second = pythonBlocks()[1]!;
    // Up to the endless loop: the reading part.
    const start = second.slice(0, second.indexOf('for message in p.listen()'));
    const none = runSnippet(start, 'print(generation)');
    expect(none.stderr).toBe('');
    expect(none.stdout.trim()).toBe('None');
    const record = await relay.storeToken('readme-token-2');
    const some = runSnippet(start, 'print(generation)');
    expect(some.stdout.trim()).toBe(String(record.generation));
  });
});
