import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigError } from '../../src/config/index.js';
import { CONFIG_VARIABLES, SECRET_FILE_VARIABLES, type Config } from '../../src/config/index.js';
import { REQUIRED, errorOf, loadLive } from '../helpers/config.js';

/** Everything an error shows: its message, its inspection and its problems. */
function printed(error: ConfigError): string {
  return `${error.message}\n${inspect(error)}\n${JSON.stringify(error.problems)}`;
}

describe('secrets read from *_FILE', () => {
  let dir: string;
  const file = async (name: string, content: string | Buffer): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-secret-files-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has a file variant for exactly the secrets', () => {
    expect(SECRET_FILE_VARIABLES.map((v) => v.name)).toEqual([
      'ETNA_APP_KEY_FILE',
      'ETNA_PASSWORD_FILE',
      'ETNA_PIN_FILE',
      'DISCORD_TOKEN_FILE',
      'REDIS_URL_FILE',
      'REDIS_SENTINEL_PASSWORD_FILE',
    ]);
    for (const { name, secret } of SECRET_FILE_VARIABLES) {
      expect(name).toBe(`${secret}_FILE`);
      expect(CONFIG_VARIABLES.find((v) => v.name === secret)?.secret).toBe(true);
    }
  });

  it('reads every secret from its file, dropping the trailing line break', async () => {
    const config: Config = loadLive({
      ETNA_USERNAME: 'trader',
      DISCORD_OPERATOR_IDS: '123456789012345678',
      ETNA_APP_KEY_FILE: await file('app-key', 'key-from-file\n'),
      ETNA_PASSWORD_FILE: await file('password', 'pass word from file\r\n'),
      ETNA_PIN_FILE: await file('pin', '4321'),
      DISCORD_TOKEN_FILE: await file('token', 'token-from-file\n\n'),
      REDIS_URL_FILE: await file('redis-url', 'redis://relay:p%40ss@redis.test:6379/2\n'),
    });
    const [account] = config.accounts;
    expect(account.etna.appKey.reveal()).toBe('key-from-file');
    expect(account.etna.password.reveal()).toBe('pass word from file');
    expect(account.etna.pin?.reveal()).toBe('4321');
    expect(config.discord.token.reveal()).toBe('token-from-file');
    expect(config.redisUrl.reveal()).toBe('redis://relay:p%40ss@redis.test:6379/2');
  });

  it('takes an empty file as an unset variable', async () => {
    const empty = await file('empty', '\n');
    expect(loadLive({ ...REQUIRED, ETNA_PIN_FILE: empty }).accounts[0].etna.pin).toBeUndefined();
    const { ETNA_PASSWORD: _, ...rest } = REQUIRED;
    const error = errorOf({ ...rest, ETNA_PASSWORD_FILE: empty });
    expect(error.problems).toEqual([
      {
        variable: 'ETNA_PASSWORD',
        message: expect.stringMatching(/^is required; .* \(value read from ETNA_PASSWORD_FILE\)$/),
      },
    ]);
  });

  it('refuses an empty REDIS_URL_FILE, naming it, rather than fall back to redis://127.0.0.1:6379', async () => {
    for (const content of ['', '\n', '  \r\n']) {
      const empty = await file('empty-redis-url', content);
      expect(errorOf({ ...REQUIRED, REDIS_URL_FILE: empty }).problems).toEqual([
        {
          variable: 'REDIS_URL_FILE',
          message: expect.stringMatching(/is empty; expected the path of a file that holds REDIS_URL/),
        },
      ]);
    }
  });

  it('refuses a secret set both ways, naming both and showing neither', async () => {
    const error = errorOf({
      ...REQUIRED,
      ETNA_PASSWORD: 'Zq-secret-in-env',
      ETNA_PASSWORD_FILE: await file('both', 'Zq-secret-in-file\n'),
    });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.variable).toBe('ETNA_PASSWORD');
    expect(error.problems[0]?.message).toContain('ETNA_PASSWORD and ETNA_PASSWORD_FILE are both set');
    expect(printed(error)).not.toContain('Zq-secret');
  });

  it('names the file variable, the path and the reason when the file cannot be read', async () => {
    const missing = join(dir, 'no-such-file');
    const error = errorOf({ ...REQUIRED, DISCORD_TOKEN: undefined, DISCORD_TOKEN_FILE: missing });
    // Only the file's problem: not also "DISCORD_TOKEN is required".
    expect(error.problems).toEqual([
      {
        variable: 'DISCORD_TOKEN_FILE',
        message: `cannot read ${JSON.stringify(missing)} (ENOENT); expected the path of a readable file that holds DISCORD_TOKEN`,
      },
    ]);
    expect(error.message).toContain('  DISCORD_TOKEN_FILE: cannot read');
  });

  it('refuses a directory, a device and a file too large to be a secret', async () => {
    const big = await file('big', Buffer.alloc(65 * 1024, 'Zq'));
    for (const [path, reason] of [
      [dir, 'not a regular file'],
      ['/dev/zero', 'not a regular file'],
      [big, 'larger than 64 KiB'],
    ] as const) {
      const error = errorOf({ ...REQUIRED, ETNA_APP_KEY: undefined, ETNA_APP_KEY_FILE: path });
      expect(error.problems.map((p) => p.variable)).toEqual(['ETNA_APP_KEY_FILE']);
      expect(error.problems[0]?.message).toContain(`(${reason})`);
      expect(printed(error)).not.toContain('ZqZq');
    }
  });

  it("never shows a file's content when the value in it is refused", async () => {
    const token = await file('bad-token', 'Bot Zq-token-line-1\nZq-token-line-2\n');
    const redis = await file('bad-redis', 'http://user:Zq-redis-pass@host\n');
    const error = errorOf({
      ...REQUIRED,
      DISCORD_TOKEN: undefined,
      DISCORD_TOKEN_FILE: token,
      REDIS_URL_FILE: redis,
    });
    expect(error.problems.map((p) => p.variable)).toEqual(['DISCORD_TOKEN', 'REDIS_URL']);
    for (const problem of error.problems) {
      expect(problem.message).toContain(`(value read from ${problem.variable}_FILE)`);
    }
    expect(printed(error)).not.toContain('Zq-');
  });

  it('lists file problems in table order, with every other problem', async () => {
    const error = errorOf({
      ETNA_USERNAME: 'trader',
      ETNA_APP_KEY: 'key',
      ETNA_PASSWORD_FILE: join(dir, 'absent'),
      DISCORD_OPERATOR_IDS: '123456789012345678',
      CODE_TIMEOUT: 'soon',
    });
    expect(error.problems.map((p) => p.variable)).toEqual([
      'ETNA_PASSWORD_FILE',
      'DISCORD_TOKEN',
      'CODE_TIMEOUT',
    ]);
  });

  it('ignores an empty *_FILE, as any empty variable', () => {
    expect(loadLive({ ...REQUIRED, ETNA_PIN_FILE: ' ' }).accounts[0].etna.pin).toBeUndefined();
  });
});
