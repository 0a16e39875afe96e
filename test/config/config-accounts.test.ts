import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigError } from '../../src/config/index.js';
import { CONFIG_VARIABLES, SECRET_FILE_VARIABLES, type Config } from '../../src/config/index.js';
import { REQUIRED, errorOf, loadLive, revealed } from '../helpers/config.js';

/** `VARIABLE: message` of every problem `env` has, in order. */
function problems(env: Record<string, string | undefined>): string[] {
  return errorOf(env).problems.map((p) => `${p.variable}: ${p.message}`);
}

/** The variables of every problem `env` has, in order. */
function variables(env: Record<string, string | undefined>): string[] {
  return errorOf(env).problems.map((p) => p.variable);
}

/** Everything an error shows: its message, its inspection and its problems. */
function printed(error: ConfigError): string {
  return `${error.message}\n${inspect(error)}\n${JSON.stringify(error.problems)}`;
}

const TWO = { ...REQUIRED, RELAY_ACCOUNTS: 'live,paper' };

describe('one account, without RELAY_ACCOUNTS: as before', () => {
  // The values the configuration gave before it had accounts (its flat Config, printed by the
  // commit before this one), field by field: `account` is now the account's `name`, and the
  // account's fields moved under `accounts[0]`, operatorIds out of `discord`.
  it.each<[string, Record<string, string>, unknown, unknown]>([
    [
      'every variable set, as in a .env',
      {
        ETNA_API_URL: 'http://127.0.0.1:4010/broker',
        ETNA_APP_KEY: ' app-key ',
        ETNA_USERNAME: 'trader',
        ETNA_PASSWORD: 'pass word',
        ETNA_PIN: '4321',
        DISCORD_TOKEN: 'discord-token',
        DISCORD_OPERATOR_IDS: '222222222222222222,111111111111111111,222222222222222222',
        DISCORD_API_URL: 'http://127.0.0.1:4020/api/',
        REDIS_URL: 'rediss://relay:s3cret@redis.internal:6380/2',
        RELAY_ACCOUNT: 'team.main-1',
        RELAY_KEY_PREFIX: 'desk:otp_relay',
        CODE_TIMEOUT: '90s',
        TOKEN_LIFETIME: '1d',
        RENEW_BEFORE: '30m',
        VALIDATE_EVERY: '1s',
        LOGIN_SCHEDULE: '30 8 * * 1-5',
        LOGIN_SCHEDULE_TZ: 'america/new_york',
        MAX_CODE_ATTEMPTS: '10',
        CODE_DIGITS: '6',
        MAX_LOGINS_PER_HOUR: '60',
        HTTP_HOST: '::',
        HTTP_PORT: '0',
        LOG_LEVEL: 'SILENT',
      },
      {
        sandbox: false,
        discord: { token: 'secret:discord-token', apiUrl: 'http://127.0.0.1:4020/api' },
        redisUrl: 'secret:rediss://relay:s3cret@redis.internal:6380/2',
        redisSentinel: undefined,
        keyPrefix: 'desk:otp_relay',
        http: { host: '::', port: 0 },
        logLevel: 'silent',
      },
      {
        name: 'team.main-1',
        etna: {
          apiUrl: 'http://127.0.0.1:4010/broker/',
          appKey: 'secret:app-key',
          username: 'trader',
          password: 'secret:pass word',
          pin: 'secret:4321',
        },
        operatorIds: ['222222222222222222', '111111111111111111'],
        codeTimeoutMs: 90_000,
        tokenLifetimeMs: 86_400_000,
        renewBeforeMs: 1_800_000,
        validateEveryMs: 1000,
        loginSchedule: '30 8 * * 1-5',
        loginScheduleTz: 'America/New_York',
        maxCodeAttempts: 10,
        codeDigits: { minDigits: 6, maxDigits: 6 },
        maxLoginsPerHour: 60,
      },
    ],
    [
      'only the required variables',
      { ...REQUIRED },
      {
        discord: { token: 'secret:discord-token', apiUrl: 'https://discord.com/api' },
        sandbox: false,
        redisUrl: 'secret:redis://127.0.0.1:6379',
        redisSentinel: undefined,
        keyPrefix: 'otp-relay',
        http: { host: '127.0.0.1', port: 8080 },
        logLevel: 'info',
      },
      {
        name: 'default',
        etna: {
          apiUrl: 'https://pub-api-et-demo-prod.etnasoft.us/api/',
          appKey: 'secret:app-key',
          username: 'trader',
          password: 'secret:pass word',
          pin: undefined,
        },
        operatorIds: ['123456789012345678'],
        codeTimeoutMs: 300_000,
        tokenLifetimeMs: 86_400_000,
        renewBeforeMs: 3_600_000,
        validateEveryMs: 300_000,
        loginSchedule: undefined,
        loginScheduleTz: 'UTC',
        maxCodeAttempts: 3,
        codeDigits: { minDigits: 4, maxDigits: 8 },
        maxLoginsPerHour: 4,
      },
    ],
  ])('%s gives the same values as before', (_, env, global, account) => {
    const config = loadLive(env);
    const { accounts, ...rest } = revealed(config) as Record<string, unknown>;
    expect(rest).toStrictEqual(global);
    expect(accounts).toStrictEqual([account]);
  });

  it("keeps RELAY_ACCOUNT's own name rule", () => {
    expect(loadLive({ ...REQUIRED, RELAY_ACCOUNT: 'Team.Main_1' }).accounts[0].name).toBe('Team.Main_1');
    expect(variables({ ...REQUIRED, RELAY_ACCOUNT: 'a:b' })).toEqual(['RELAY_ACCOUNT']);
  });

  it('refuses any ACCOUNT_ variable, saying to set RELAY_ACCOUNTS', () => {
    expect(problems({ ...REQUIRED, ACCOUNT_LIVE_ETNA_USERNAME: 'live-user', ACCOUNT_X: 'y' })).toEqual([
      expect.stringMatching(/^ACCOUNT_LIVE_ETNA_USERNAME: RELAY_ACCOUNTS is not set; /),
      expect.stringMatching(/^ACCOUNT_X: RELAY_ACCOUNTS is not set; /),
    ]);
  });

  it('ignores an empty ACCOUNT_ variable, as any empty variable', () => {
    expect(loadLive({ ...REQUIRED, ACCOUNT_LIVE_ETNA_USERNAME: ' ' }).accounts).toHaveLength(1);
  });
});

describe('RELAY_ACCOUNTS', () => {
  it('gives the accounts in the order listed, each with the plain variables where it has none', () => {
    const config = loadLive({ ...TWO, RELAY_ACCOUNTS: ' paper , live,', CODE_TIMEOUT: '2m' });
    expect(config.accounts.map((a) => a.name)).toEqual(['paper', 'live']);
    const single = revealed(loadLive({ ...REQUIRED, CODE_TIMEOUT: '2m' }).accounts[0]) as object;
    for (const account of config.accounts) {
      expect(revealed(account)).toStrictEqual({ ...single, name: account.name });
    }
  });

  it("takes each account's own ACCOUNT_<NAME>_<VARIABLE> over the plain one", () => {
    const config = loadLive({
      ...TWO,
      RELAY_ACCOUNTS: 'live,paper,paper-2',
      ACCOUNT_LIVE_ETNA_USERNAME: 'live-user',
      ACCOUNT_LIVE_ETNA_PIN: '1111',
      ACCOUNT_PAPER_ETNA_API_URL: 'https://paper.broker.test/api',
      ACCOUNT_PAPER_DISCORD_OPERATOR_IDS: '234567890123456789',
      ACCOUNT_PAPER_CODE_DIGITS: '6',
      ACCOUNT_PAPER_2_ETNA_USERNAME: 'paper-2-user',
      ACCOUNT_PAPER_2_LOGIN_SCHEDULE: '0 9 * * *',
      ACCOUNT_PAPER_2_LOGIN_SCHEDULE_TZ: 'Europe/Paris',
      ACCOUNT_PAPER_2_MAX_LOGINS_PER_HOUR: '2',
    });
    const [live, paper, paper2] = config.accounts;
    expect(live?.etna.username).toBe('live-user');
    expect(live?.etna.pin?.reveal()).toBe('1111');
    expect(live?.etna.apiUrl.href).toBe('https://pub-api-et-demo-prod.etnasoft.us/api/');
    expect(paper?.etna.username).toBe('trader');
    expect(paper?.etna.pin).toBeUndefined();
    expect(paper?.etna.apiUrl.href).toBe('https://paper.broker.test/api/');
    expect(paper?.operatorIds).toEqual(['234567890123456789']);
    expect(live?.operatorIds).toEqual(['123456789012345678']);
    expect([live?.codeDigits.maxDigits, paper?.codeDigits.maxDigits]).toEqual([8, 6]);
    expect(paper2).toMatchObject({
      name: 'paper-2',
      etna: { username: 'paper-2-user' },
      loginSchedule: '0 9 * * *',
      loginScheduleTz: 'Europe/Paris',
      maxLoginsPerHour: 2,
    });
    expect([live?.maxLoginsPerHour, paper?.maxLoginsPerHour]).toEqual([4, 4]);
  });

  it('takes an empty ACCOUNT_ variable as unset: the plain one applies', () => {
    const config = loadLive({ ...TWO, ACCOUNT_LIVE_CODE_TIMEOUT: '', ACCOUNT_PAPER_ETNA_USERNAME: ' ' });
    expect(config.accounts[0].codeTimeoutMs).toBe(300_000);
    expect(config.accounts[1]?.etna.username).toBe('trader');
  });

  it('needs no plain variable where every account has its own', () => {
    const { ETNA_USERNAME: _, ETNA_PASSWORD: __, ...rest } = REQUIRED;
    const config = loadLive({
      ...rest,
      RELAY_ACCOUNTS: 'live,paper',
      ACCOUNT_LIVE_ETNA_USERNAME: 'l',
      ACCOUNT_LIVE_ETNA_PASSWORD: 'lp',
      ACCOUNT_PAPER_ETNA_USERNAME: 'p',
      ACCOUNT_PAPER_ETNA_PASSWORD: 'pp',
    });
    expect(config.accounts.map((a) => [a.etna.username, a.etna.password.reveal()])).toEqual([
      ['l', 'lp'],
      ['p', 'pp'],
    ]);
  });

  it('reads one name as one account, which reads its own variables', () => {
    const config = loadLive({ ...REQUIRED, RELAY_ACCOUNTS: 'live', ACCOUNT_LIVE_ETNA_USERNAME: 'l' });
    expect(config.accounts.map((a) => [a.name, a.etna.username])).toEqual([['live', 'l']]);
  });

  it.each<[string, string]>([
    ['Live', '"Live" is not an account name'],
    ['live,paper trading', '"paper trading" is not an account name'],
    ['live.1', '"live.1" is not an account name'],
    ['a:b,Ü', '"a:b", "Ü" are not account names'],
    ['x'.repeat(33), `"${'x'.repeat(33)}" is not an account name`],
    ['live,paper,live', 'lists "live" more than once'],
    ['live,live,paper,paper', 'lists "live", "paper" more than once'],
    ['a-b,a_b', '"a-b" and "a_b" would share the variables ACCOUNT_A_B_…'],
    ['live,paper-x,paper_x', '"paper-x" and "paper_x" would share the variables ACCOUNT_PAPER_X_…'],
    [',', 'lists no account'],
  ])('refuses RELAY_ACCOUNTS=%j: %s', (list, message) => {
    const error = errorOf({ ...REQUIRED, RELAY_ACCOUNTS: list });
    expect(error.problems).toEqual([
      { variable: 'RELAY_ACCOUNTS', message: expect.stringContaining(message) },
    ]);
    expect(error.message).toContain(`  RELAY_ACCOUNTS: ${message}`);
    expect(error.message).toContain('expected comma-separated names of 1 to 32 characters');
  });

  it.each(['a', 'x'.repeat(32), 'live-1', 'paper_2', '0', '-', '_x-'])('takes the name %j', (name) => {
    expect(loadLive({ ...REQUIRED, RELAY_ACCOUNTS: name }).accounts[0].name).toBe(name);
  });

  it('refuses RELAY_ACCOUNT and RELAY_ACCOUNTS together, naming both', () => {
    expect(problems({ ...TWO, RELAY_ACCOUNT: 'default' })).toEqual([
      'RELAY_ACCOUNTS: RELAY_ACCOUNT and RELAY_ACCOUNTS are both set; set only one of them: RELAY_ACCOUNTS for several accounts, RELAY_ACCOUNT for one',
    ]);
    // Empty counts as unset: compose passes RELAY_ACCOUNT: ${RELAY_ACCOUNT:-}.
    expect(loadLive({ ...TWO, RELAY_ACCOUNT: '' }).accounts).toHaveLength(2);
  });
});

describe('ACCOUNT_<NAME>_<VARIABLE> that belongs to no listed account', () => {
  it.each<[string, string]>([
    [
      'ACCOUNT_LVE_ETNA_USERNAME',
      'names an account LVE that is not listed (RELAY_ACCOUNTS lists live, paper)',
    ],
    ['ACCOUNT_PAPR_ETNA_PASSWORD_FILE', 'names an account PAPR that is not listed'],
    ['ACCOUNT_LIVE_X_ETNA_USERNAME', 'names an account LIVE_X that is not listed'],
    [
      'ACCOUNT_LIVE_ETNA_USERNAM',
      'ETNA_USERNAM is not a per-account variable; expected one of ETNA_API_URL, ',
    ],
    ['ACCOUNT_PAPER_SANDBOXES', 'SANDBOXES is not a per-account variable'],
    ['ACCOUNT_ETNA_USERNAME', 'names no account; expected ACCOUNT_<NAME>_ETNA_USERNAME'],
    ['ACCOUNT_SOMETHING', 'is not a setting of one account'],
  ])('refuses %s, naming it', (variable, message) => {
    const error = errorOf({ ...TWO, [variable]: 'Zq-value' });
    expect(error.problems).toEqual([{ variable, message: expect.stringContaining(message) }]);
    expect(printed(error)).not.toContain('Zq-value');
  });

  const globals: string[] = CONFIG_VARIABLES.filter((v) => !v.perAccount).map((v) => v.name);
  it.each([
    ...globals,
    ...SECRET_FILE_VARIABLES.filter((f) => globals.includes(f.secret)).map((f) => f.name),
  ])('refuses ACCOUNT_PAPER_%s: a global variable', (name) => {
    const variable = `ACCOUNT_PAPER_${name}`;
    const error = errorOf({ ...TWO, [variable]: 'Zq-value' });
    const plain = name.replace(/_FILE$/, '');
    expect(error.problems).toEqual([
      {
        variable,
        message: `${plain} is global, the same for every account: set ${name} instead`,
      },
    ]);
    expect(printed(error)).not.toContain('Zq-value');
  });

  it('tells A from A_B: each reads its own, neither is taken for the other', () => {
    const config = loadLive({
      ...REQUIRED,
      RELAY_ACCOUNTS: 'a,a-b',
      ACCOUNT_A_ETNA_USERNAME: 'a-user',
      ACCOUNT_A_B_ETNA_USERNAME: 'a-b-user',
    });
    expect(config.accounts.map((a) => a.etna.username)).toEqual(['a-user', 'a-b-user']);
    expect(variables({ ...REQUIRED, RELAY_ACCOUNTS: 'a', ACCOUNT_A_B_ETNA_USERNAME: 'x' })).toEqual([
      'ACCOUNT_A_B_ETNA_USERNAME',
    ]);
  });

  it('reports nothing about ACCOUNT_ variables while RELAY_ACCOUNTS itself is wrong', () => {
    expect(
      variables({ ...REQUIRED, RELAY_ACCOUNTS: 'live,Paper', ACCOUNT_PAPER_ETNA_USERNAME: 'p' }),
    ).toEqual(['RELAY_ACCOUNTS']);
  });
});

describe("problems of an account's variables", () => {
  it('name the variable to set: the own one when neither is set', () => {
    const { ETNA_PASSWORD: _, ...rest } = REQUIRED;
    const error = errorOf({ ...rest, RELAY_ACCOUNTS: 'live,paper', ACCOUNT_LIVE_ETNA_PASSWORD: 'lp' });
    expect(error.problems).toEqual([
      {
        variable: 'ACCOUNT_PAPER_ETNA_PASSWORD',
        message:
          'is required (or ETNA_PASSWORD, which every account without its own takes); expected the password, with no line breaks',
      },
    ]);
  });

  it('name the own variable when it holds the bad value, the plain one (once) when it does', () => {
    expect(
      problems({
        ...TWO,
        ACCOUNT_PAPER_CODE_TIMEOUT: '11m',
        ACCOUNT_LIVE_ETNA_API_URL: 'http://broker.test/',
        MAX_CODE_ATTEMPTS: '0',
      }),
    ).toEqual([
      expect.stringMatching(/^ACCOUNT_LIVE_ETNA_API_URL: "http:\/\/broker.test\/" is plain http:\/\//),
      expect.stringMatching(/^ACCOUNT_PAPER_CODE_TIMEOUT: "11m" is out of range; expected a duration/),
      expect.stringMatching(/^MAX_CODE_ATTEMPTS: "0" is not accepted; expected an integer from 1 to 10$/),
    ]);
  });

  it('name each side of RENEW_BEFORE against TOKEN_LIFETIME as the account has it', () => {
    expect(problems({ ...TWO, ACCOUNT_PAPER_TOKEN_LIFETIME: '1h' })).toEqual([
      expect.stringMatching(
        /^ACCOUNT_PAPER_RENEW_BEFORE: 1h is not less than ACCOUNT_PAPER_TOKEN_LIFETIME \(1h\); expected/,
      ),
    ]);
    expect(problems({ ...TWO, RENEW_BEFORE: '2h', ACCOUNT_LIVE_TOKEN_LIFETIME: '2h' })).toEqual([
      expect.stringMatching(/^RENEW_BEFORE: 2h is not less than ACCOUNT_LIVE_TOKEN_LIFETIME \(2h\)/),
    ]);
  });

  it('are all listed at once, in table order, one account after the other', () => {
    const { ETNA_USERNAME: _, ETNA_PASSWORD: __, ...rest } = REQUIRED;
    const error = errorOf({
      ...rest,
      RELAY_ACCOUNTS: 'live,paper',
      ACCOUNT_LIVE_ETNA_USERNAME: 'l',
      ACCOUNT_LIVE_ETNA_PASSWORD: 'lp',
      CODE_TIMEOUT: 'soon',
      ACCOUNT_PAPER_CODE_TIMEOUT: '1h',
      ACCOUNT_LVE_ETNA_PIN: '1',
      ACCOUNT_PAPER_LOG_LEVEL: 'debug',
      HTTP_PORT: 'x',
      DISCORD_TOKEN: '',
    });
    const expected = [
      'ACCOUNT_PAPER_ETNA_USERNAME',
      'ACCOUNT_PAPER_ETNA_PASSWORD',
      'DISCORD_TOKEN',
      'ACCOUNT_LVE_ETNA_PIN',
      'ACCOUNT_PAPER_LOG_LEVEL',
      'CODE_TIMEOUT',
      'ACCOUNT_PAPER_CODE_TIMEOUT',
      'HTTP_PORT',
    ];
    expect(error.problems.map((p) => p.variable)).toEqual(expected);
    expect(error.message.split('\n')[0]).toBe(`Invalid configuration (${expected.length} problems):`);
  });
});

describe('secrets of one account from files', () => {
  let dir: string;
  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otp-relay-account-files-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads ACCOUNT_<NAME>_<SECRET>_FILE, over the plain variable and the plain file', async () => {
    const config = loadLive({
      ...TWO,
      ETNA_APP_KEY: undefined,
      ETNA_APP_KEY_FILE: await file('plain-key', 'plain-key\n'),
      ACCOUNT_PAPER_ETNA_PASSWORD_FILE: await file('paper-password', 'paper password\n'),
      ACCOUNT_PAPER_ETNA_APP_KEY: 'paper-key',
      ACCOUNT_LIVE_ETNA_PIN_FILE: await file('live-pin', '9999'),
    });
    const [live, paper] = config.accounts;
    expect(live?.etna.password.reveal()).toBe('pass word');
    expect(paper?.etna.password.reveal()).toBe('paper password');
    expect(live?.etna.appKey.reveal()).toBe('plain-key');
    expect(paper?.etna.appKey.reveal()).toBe('paper-key');
    expect(live?.etna.pin?.reveal()).toBe('9999');
    expect(paper?.etna.pin).toBeUndefined();
  });

  it("refuses an account's secret set both ways, naming both own variables and showing neither", async () => {
    const error = errorOf({
      ...TWO,
      ACCOUNT_PAPER_ETNA_PASSWORD: 'Zq-in-env',
      ACCOUNT_PAPER_ETNA_PASSWORD_FILE: await file('both', 'Zq-in-file\n'),
    });
    expect(error.problems).toEqual([
      {
        variable: 'ACCOUNT_PAPER_ETNA_PASSWORD',
        message:
          'ACCOUNT_PAPER_ETNA_PASSWORD and ACCOUNT_PAPER_ETNA_PASSWORD_FILE are both set; set only one of them (values not shown)',
      },
    ]);
    expect(printed(error)).not.toContain('Zq-');
  });

  it('names the own file variable when its file cannot be read, or its value is refused', async () => {
    const missing = join(dir, 'absent');
    const bad = await file('bad-key', 'Zq-line-1\nZq-line-2\n');
    const error = errorOf({
      ...TWO,
      ACCOUNT_LIVE_ETNA_PASSWORD_FILE: missing,
      ACCOUNT_PAPER_ETNA_APP_KEY_FILE: bad,
    });
    expect(error.problems).toEqual([
      {
        variable: 'ACCOUNT_PAPER_ETNA_APP_KEY',
        message: expect.stringMatching(
          /^contains a line break, .* \(value read from ACCOUNT_PAPER_ETNA_APP_KEY_FILE\)$/,
        ),
      },
      {
        variable: 'ACCOUNT_LIVE_ETNA_PASSWORD_FILE',
        message: `cannot read ${JSON.stringify(missing)} (ENOENT); expected the path of a readable file that holds ACCOUNT_LIVE_ETNA_PASSWORD`,
      },
    ]);
    expect(printed(error)).not.toContain('Zq-');
  });

  it('reports a plain file every account falls back to once', () => {
    const missing = join(dir, 'absent');
    expect(variables({ ...TWO, ETNA_PASSWORD: undefined, ETNA_PASSWORD_FILE: missing })).toEqual([
      'ETNA_PASSWORD_FILE',
    ]);
  });
});

describe('no secret in any message', () => {
  it("shows no account's secret, wherever it was set", () => {
    const secrets = {
      ACCOUNT_LIVE_ETNA_APP_KEY: 'Zq-live\nkey',
      ACCOUNT_LIVE_ETNA_PASSWORD: 'Zq-live-pass\u0000',
      ACCOUNT_PAPER_ETNA_PIN: 'Zq-paper-pin😀',
      ACCOUNT_LVE_ETNA_PASSWORD: 'Zq-unlisted-pass',
      ACCOUNT_PAPER_DISCORD_TOKEN: 'Zq-global-token',
      ACCOUNT_PAPER_REDIS_URL: 'redis://u:Zq-redis@h',
      // A path is shown (it is not the secret); it must not be taken for one here.
      ACCOUNT_PAPER_ETNA_PASSWORD_FILE: '/nonexistent/password',
    };
    const error = errorOf({ ...TWO, ...secrets });
    expect(error.problems.map((p) => p.variable)).toEqual([
      'ACCOUNT_LIVE_ETNA_APP_KEY',
      'ACCOUNT_LIVE_ETNA_PASSWORD',
      'ACCOUNT_PAPER_ETNA_PASSWORD_FILE',
      'ACCOUNT_PAPER_ETNA_PIN',
      'ACCOUNT_LVE_ETNA_PASSWORD',
      'ACCOUNT_PAPER_DISCORD_TOKEN',
      'ACCOUNT_PAPER_REDIS_URL',
    ]);
    expect(printed(error)).not.toContain('Zq-');
  });

  it('prints a several-account configuration with every secret redacted', () => {
    const config: Config = loadLive({
      ...TWO,
      ACCOUNT_LIVE_ETNA_PASSWORD: 'Zq-live-pass',
      ACCOUNT_PAPER_ETNA_PIN: 'Zq-paper-pin',
    });
    const shown = `${JSON.stringify(config)}\n${inspect(config, { depth: 10 })}`;
    for (const secret of ['Zq-live-pass', 'Zq-paper-pin', 'pass word', 'app-key', 'discord-token']) {
      expect(shown).not.toContain(secret);
    }
  });
});

describe('the variable table', () => {
  it('marks the per-account variables of docs/contract.md#several-accounts', () => {
    expect(CONFIG_VARIABLES.filter((v) => v.perAccount).map((v) => v.name)).toEqual([
      'ETNA_API_URL',
      'ETNA_APP_KEY',
      'ETNA_USERNAME',
      'ETNA_PASSWORD',
      'ETNA_PIN',
      'DISCORD_OPERATOR_IDS',
      'CODE_TIMEOUT',
      'TOKEN_LIFETIME',
      'RENEW_BEFORE',
      'VALIDATE_EVERY',
      'LOGIN_SCHEDULE',
      'LOGIN_SCHEDULE_TZ',
      'MAX_CODE_ATTEMPTS',
      'CODE_DIGITS',
      'MAX_LOGINS_PER_HOUR',
    ]);
  });

  it('has no name that ends in _ and another name, so ACCOUNT_<NAME>_<VARIABLE> reads back one way', () => {
    const names = CONFIG_VARIABLES.flatMap((v) => (v.secret ? [v.name, `${v.name}_FILE`] : [v.name]));
    const clashes = names.flatMap((a) =>
      names.filter((b) => a !== b && a.endsWith(`_${b}`)).map((b) => [a, b]),
    );
    expect(clashes).toEqual([]);
  });
});
