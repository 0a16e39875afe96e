import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACL_TEMPLATE, RENDER_ACL, renderAcl, run, testPasswords } from './redis-server.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('deploy/redis/render-acl.sh', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-render-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function render(env: Record<string, string>, template = ACL_TEMPLATE, extra: string[] = []) {
    return run('sh', [RENDER_ACL, template, join(dir, 'out', 'users.acl'), ...extra], {
      env: { PATH: process.env.PATH, ...env },
    });
  }

  it('writes one line per user, password hashes instead of passwords, readable by its owner only', async () => {
    const passwords = testPasswords();
    const acl = await renderAcl(passwords);
    try {
      const lines = acl.text.trimEnd().split('\n');
      expect(lines.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
        'user default',
        'user relay',
        'user bot',
      ]);
      for (const line of lines) {
        expect(line).not.toMatch(/[#$]\{|\s\s|^\s|\s$/);
        expect(line).toContain(' -@all');
        // Commands one by one, on patterns: never a category, every key, channel or command.
        for (const rule of line.split(' ')) {
          expect(rule).not.toMatch(/^(\+@|(%R|%W|%RW)?~\*$|&\*$|allkeys|allchannels|allcommands|nopass)/);
        }
      }
      expect(lines[0]).toBe('user default off resetpass resetkeys resetchannels clearselectors -@all');
      expect(lines[1]).toContain(` on resetpass #${sha256(passwords.relay)} `);
      expect(lines[2]).toContain(` on resetpass #${sha256(passwords.bot)} `);
      expect(acl.text).not.toContain(passwords.relay);
      expect(acl.text).not.toContain(passwords.bot);
      expect((await stat(acl.path)).mode & 0o777).toBe(0o600);
    } finally {
      await acl.remove();
    }
  });

  it.each([
    ['is not set', { BOT_REDIS_PASSWORD: 'b'.repeat(32) }, 'RELAY_REDIS_PASSWORD is not set'],
    [
      'is empty',
      { RELAY_REDIS_PASSWORD: '', BOT_REDIS_PASSWORD: 'b'.repeat(32) },
      'RELAY_REDIS_PASSWORD is not set',
    ],
    [
      'is short',
      { RELAY_REDIS_PASSWORD: 'a'.repeat(32), BOT_REDIS_PASSWORD: 'short-secret' },
      'BOT_REDIS_PASSWORD must be at least 16 characters long',
    ],
    [
      'would break REDIS_URL',
      { RELAY_REDIS_PASSWORD: 'p@ss:word/0123456789?#', BOT_REDIS_PASSWORD: 'b'.repeat(32) },
      'RELAY_REDIS_PASSWORD may only contain A-Z a-z 0-9 . _ ~ -',
    ],
    [
      'holds shell syntax',
      { RELAY_REDIS_PASSWORD: '$(touch /tmp/x)-0123456789', BOT_REDIS_PASSWORD: 'b'.repeat(32) },
      'RELAY_REDIS_PASSWORD may only contain A-Z a-z 0-9 . _ ~ -',
    ],
  ])('refuses a password that %s, naming the variable and never its value', async (_, env, message) => {
    const result = await render(env);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(`render-acl: ${message}`);
    for (const value of Object.values(env)) if (value !== '') expect(result.stderr).not.toContain(value);
    await expect(stat(join(dir, 'out', 'users.acl'))).rejects.toThrow(/ENOENT/);
  });

  it('runs the command that follows without the passwords in its environment', async () => {
    const passwords = testPasswords();
    const result = await render(
      {
        RELAY_REDIS_PASSWORD: passwords.relay,
        BOT_REDIS_PASSWORD: passwords.bot,
        REDISCLI_AUTH: passwords.relay,
      },
      ACL_TEMPLATE,
      ['env'],
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PATH=');
    expect(result.stdout).not.toContain(passwords.relay);
    expect(result.stdout).not.toContain(passwords.bot);
    expect(await readFile(join(dir, 'out', 'users.acl'), 'utf8')).toContain(`#${sha256(passwords.bot)}`);
  });

  it('reads a password from NAME_FILE (a Docker secret), its trailing line break dropped', async () => {
    const passwords = testPasswords();
    await writeFile(join(dir, 'relay_redis_password'), `${passwords.relay}\n`);
    await writeFile(join(dir, 'bot_redis_password'), passwords.bot);
    const result = await render(
      {
        RELAY_REDIS_PASSWORD_FILE: join(dir, 'relay_redis_password'),
        BOT_REDIS_PASSWORD_FILE: join(dir, 'bot_redis_password'),
      },
      ACL_TEMPLATE,
      ['env'],
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const acl = await readFile(join(dir, 'out', 'users.acl'), 'utf8');
    expect(acl).toContain(` on resetpass #${sha256(passwords.relay)} `);
    expect(acl).toContain(` on resetpass #${sha256(passwords.bot)} `);
    // Neither the passwords nor the files' paths reach the command that follows.
    expect(result.stdout).not.toContain(passwords.relay);
    expect(result.stdout).not.toContain(passwords.bot);
    expect(result.stdout).not.toMatch(/_REDIS_PASSWORD/);
  });

  it('refuses a password file that is missing, empty or set together with the variable, naming the variable', async () => {
    const bot = { BOT_REDIS_PASSWORD: 'b'.repeat(32) };
    const missing = join(dir, 'no-such-file');
    const empty = join(dir, 'empty');
    const holder = join(dir, 'relay_redis_password');
    await writeFile(empty, '\n');
    await writeFile(holder, 'r'.repeat(32));
    for (const [env, message] of [
      [{ RELAY_REDIS_PASSWORD_FILE: missing }, `RELAY_REDIS_PASSWORD_FILE: cannot read ${missing}`],
      [{ RELAY_REDIS_PASSWORD_FILE: empty }, `RELAY_REDIS_PASSWORD_FILE: ${empty} is empty`],
      [
        { RELAY_REDIS_PASSWORD_FILE: holder, RELAY_REDIS_PASSWORD: 'a'.repeat(32) },
        'set RELAY_REDIS_PASSWORD or RELAY_REDIS_PASSWORD_FILE, not both',
      ],
    ] as const) {
      const result = await render({ ...bot, ...env });
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim()).toBe(`render-acl: ${message}`);
      expect(result.stderr).not.toContain('r'.repeat(32));
      expect(result.stderr).not.toContain('a'.repeat(32));
    }
    await writeFile(holder, 'short-secret');
    const short = await render({ ...bot, RELAY_REDIS_PASSWORD_FILE: holder });
    expect(short.stderr.trim()).toBe('render-acl: RELAY_REDIS_PASSWORD must be at least 16 characters long');
    await expect(stat(join(dir, 'out', 'users.acl'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a template with a stray $ or a rule outside a user line', async () => {
    const strayDollar = join(dir, 'dollar.template');
    await writeFile(strayDollar, 'user x\n    on\n    >$PASSWORD\n');
    const orphan = join(dir, 'orphan.template');
    await writeFile(orphan, '# a comment\n    on\nuser x off\n');
    const stray = await render({}, strayDollar);
    expect(stray.code).not.toBe(0);
    expect(stray.stderr).toContain('a $ is left');
    const orphaned = await render({}, orphan);
    expect(orphaned.code).not.toBe(0);
    expect(orphaned.stderr).toContain('line 2 continues nothing');
  });
});
