import { inspect } from 'node:util';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config/index.js';
import { Secret } from '../../src/shared/secret.js';
import { REQUIRED, errorOf, load, loadLive } from '../helpers/config.js';

describe('loadConfig', () => {
  it('fills in every default', () => {
    const config = load();
    expect(config.accounts).toHaveLength(1);
    const [account] = config.accounts;
    expect(account.etna.apiUrl.href).toBe('https://pub-api-et-demo-prod.etnasoft.us/api/');
    expect(account.etna.username).toBe('trader');
    expect(account.etna.pin).toBeUndefined();
    expect(account.operatorIds).toEqual(['123456789012345678']);
    expect(config.discord.apiUrl).toBe('https://discord.com/api');
    expect(config.redisUrl.reveal()).toBe('redis://127.0.0.1:6379');
    expect(config).toMatchObject({
      keyPrefix: 'otp-relay',
      http: { host: '127.0.0.1', port: 8080 },
      logLevel: 'info',
    });
    expect(account).toMatchObject({
      name: 'default',
      codeTimeoutMs: 5 * 60_000,
      tokenLifetimeMs: 24 * 3_600_000,
      renewBeforeMs: 3_600_000,
      validateEveryMs: 5 * 60_000,
      loginSchedule: undefined,
      loginScheduleTz: 'UTC',
      maxCodeAttempts: 3,
      codeDigits: { minDigits: 4, maxDigits: 8 },
      maxLoginsPerHour: 4,
    });
  });

  it('reads the same configuration when every default is written out', () => {
    const written = Object.fromEntries(
      CONFIG_VARIABLES.filter((v) => v.default !== undefined).map((v) => [v.name, v.default]),
    );
    expect(inspect(load(written), { depth: 5 })).toBe(inspect(load(), { depth: 5 }));
  });

  it('reads every variable', () => {
    const config = load({
      ETNA_API_URL: 'http://127.0.0.1:4010/broker',
      ETNA_PIN: '4321',
      DISCORD_API_URL: 'http://127.0.0.1:4020/api/',
      REDIS_URL: 'rediss://relay:s3cret@redis.internal:6380/2',
      RELAY_ACCOUNT: 'team.main-1',
      RELAY_KEY_PREFIX: 'desk:otp_relay',
      CODE_TIMEOUT: '90s',
      TOKEN_LIFETIME: '1d',
      RENEW_BEFORE: '30m',
      VALIDATE_EVERY: '1s',
      LOGIN_SCHEDULE: '30 8 * * 1-5',
      LOGIN_SCHEDULE_TZ: 'America/New_York',
      MAX_CODE_ATTEMPTS: '10',
      MAX_LOGINS_PER_HOUR: '60',
      HTTP_HOST: '::',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const [account] = config.accounts;
    expect(account.etna.apiUrl.href).toBe('http://127.0.0.1:4010/broker/');
    expect(account.etna.pin?.reveal()).toBe('4321');
    expect(config.discord.apiUrl).toBe('http://127.0.0.1:4020/api');
    expect(config.redisUrl.reveal()).toBe('rediss://relay:s3cret@redis.internal:6380/2');
    expect(config).toMatchObject({
      keyPrefix: 'desk:otp_relay',
      http: { host: '::', port: 0 },
      logLevel: 'silent',
    });
    expect(account).toMatchObject({
      name: 'team.main-1',
      codeTimeoutMs: 90_000,
      tokenLifetimeMs: 86_400_000,
      renewBeforeMs: 1_800_000,
      validateEveryMs: 1000,
      loginSchedule: '30 8 * * 1-5',
      loginScheduleTz: 'America/New_York',
      maxCodeAttempts: 10,
      maxLoginsPerHour: 60,
    });
  });

  it('treats empty and blank values as unset', () => {
    const config = load({ CODE_TIMEOUT: '', HTTP_PORT: '   ', ETNA_PIN: '', LOGIN_SCHEDULE: ' ' });
    expect(config.accounts[0].codeTimeoutMs).toBe(300_000);
    expect(config.http.port).toBe(8080);
    expect(config.accounts[0].etna.pin).toBeUndefined();
    expect(config.accounts[0].loginSchedule).toBeUndefined();

    const error = errorOf({ ...REQUIRED, ETNA_APP_KEY: '', ETNA_PASSWORD: '  \t', DISCORD_OPERATOR_IDS: '' });
    expect(error.problems.map((p) => p.variable)).toEqual([
      'ETNA_APP_KEY',
      'ETNA_PASSWORD',
      'DISCORD_OPERATOR_IDS',
    ]);
  });

  it('trims every value, secrets included', () => {
    // HTTP drops whitespace around a header value: a password's outer spaces never reach the broker.
    const config = load({
      ETNA_APP_KEY: ' key\n',
      ETNA_USERNAME: ' trader ',
      ETNA_PASSWORD: ' pass word ',
      ETNA_PIN: ' 12 ',
      DISCORD_TOKEN: ' tok ',
      CODE_TIMEOUT: ' 2m ',
      REDIS_URL: ' redis://h:6379 ',
    });
    const [account] = config.accounts;
    expect(account.etna.appKey.reveal()).toBe('key');
    expect(account.etna.username).toBe('trader');
    expect(account.etna.password.reveal()).toBe('pass word');
    expect(account.etna.pin?.reveal()).toBe('12');
    expect(config.discord.token.reveal()).toBe('tok');
    expect(account.codeTimeoutMs).toBe(120_000);
    expect(config.redisUrl.reveal()).toBe('redis://h:6379');
  });

  it('wraps every secret in a Secret that prints redacted', () => {
    const config = load({ ETNA_PIN: '4321', REDIS_URL: 'redis://u:hunter22@h:6379' });
    for (const secret of [
      config.accounts[0].etna.appKey,
      config.accounts[0].etna.password,
      config.accounts[0].etna.pin,
      config.discord.token,
      config.redisUrl,
    ]) {
      expect(secret).toBeInstanceOf(Secret);
    }
    const printed = `${JSON.stringify(config)}\n${inspect(config, { depth: 10 })}`;
    for (const value of ['app-key', 'pass word', '4321', 'discord-token', 'hunter22']) {
      expect(printed).not.toContain(value);
    }
  });

  describe('URLs', () => {
    it.each([
      ['https://broker.test/api', 'https://broker.test/api/'],
      ['https://broker.test/api/', 'https://broker.test/api/'],
      ['https://broker.test', 'https://broker.test/'],
      ['HTTPS://Broker.TEST:443/api', 'https://broker.test/api/'],
      ['http://127.0.0.1:4010', 'http://127.0.0.1:4010/'],
    ])('ETNA_API_URL %j becomes %j', (text, href) => {
      const apiUrl = load({ ETNA_API_URL: text }).accounts[0].etna.apiUrl;
      expect(apiUrl.href).toBe(href);
      expect(new URL('token', apiUrl).href).toBe(`${href}token`);
      expect(new URL('v1.0/users/@me/info', apiUrl).href).toBe(`${href}v1.0/users/@me/info`);
    });

    it.each([
      ['https://discord.com/api/', 'https://discord.com/api'],
      ['https://discord.com/api//', 'https://discord.com/api'],
      ['https://discord.com/api', 'https://discord.com/api'],
      ['http://127.0.0.1:4020', 'http://127.0.0.1:4020'],
      ['http://127.0.0.1:4020/', 'http://127.0.0.1:4020'],
    ])('DISCORD_API_URL %j becomes %j', (text, apiUrl) => {
      expect(load({ DISCORD_API_URL: text }).discord.apiUrl).toBe(apiUrl);
    });
  });

  it('trims, deduplicates and keeps the order of operator IDs', () => {
    const config = load({
      DISCORD_OPERATOR_IDS:
        ' 222222222222222222 ,111111111111111111,222222222222222222, 18446744073709551615,',
    });
    expect(config.accounts[0].operatorIds).toEqual([
      '222222222222222222',
      '111111111111111111',
      '18446744073709551615',
    ]);
  });

  it('names every bad operator ID at once', () => {
    const error = errorOf({ ...REQUIRED, DISCORD_OPERATOR_IDS: '123456789012345678,abc,42' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain('DISCORD_OPERATOR_IDS: "abc", "42" are not Discord user IDs');
  });

  it('canonicalises the time zone', () => {
    expect(load({ LOGIN_SCHEDULE_TZ: 'america/new_york' }).accounts[0].loginScheduleTz).toBe(
      'America/New_York',
    );
    expect(load({ LOGIN_SCHEDULE_TZ: 'utc' }).accounts[0].loginScheduleTz).toBe('UTC');
  });

  it('lower-cases the log level', () => {
    expect(load({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
  });

  it.each<[string, string]>([
    ['ETNA_API_URL', 'broker.test/api'],
    ['ETNA_API_URL', 'ftp://broker.test/'],
    ['ETNA_API_URL', 'https://user:pw@broker.test/api/'],
    ['ETNA_API_URL', 'https://broker.test/api/?x=1'],
    ['ETNA_API_URL', 'https://broker.test/api/#top'],
    ['ETNA_APP_KEY', 'key\nwith a line break'],
    ['ETNA_USERNAME', 'tra\nder'],
    ['ETNA_USERNAME', 'trader☃'],
    ['ETNA_PASSWORD', 'pass\u0000word'],
    ['ETNA_PASSWORD', 'pass😀word'],
    ['ETNA_PIN', '12\n34'],
    ['DISCORD_TOKEN', 'Bot abc.def.ghi'],
    ['DISCORD_TOKEN', 'bot abc.def.ghi'],
    ['DISCORD_OPERATOR_IDS', ','],
    ['DISCORD_OPERATOR_IDS', 'alice'],
    ['DISCORD_OPERATOR_IDS', '1234567890123456'],
    ['DISCORD_OPERATOR_IDS', '123456789012345678901'],
    ['DISCORD_OPERATOR_IDS', '012345678901234567'],
    ['DISCORD_OPERATOR_IDS', '18446744073709551616'],
    ['DISCORD_OPERATOR_IDS', '123456789012345678;234567890123456789'],
    ['DISCORD_OPERATOR_IDS', '<@123456789012345678>'],
    ['DISCORD_API_URL', 'discord.com/api'],
    ['DISCORD_API_URL', 'wss://gateway.discord.gg'],
    ['REDIS_URL', '127.0.0.1:6379'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'redis://'],
    ['REDIS_URL', 'redis://127.0.0.1:6379/db'],
    ['REDIS_URL', 'redis://127.0.0.1:99999'],
    ['RELAY_ACCOUNT', 'team:main'],
    ['RELAY_ACCOUNT', 'team main'],
    ['RELAY_ACCOUNT', 'team*'],
    ['RELAY_ACCOUNT', 'a'.repeat(65)],
    ['RELAY_KEY_PREFIX', 'otp relay'],
    ['RELAY_KEY_PREFIX', 'otp-relay:'],
    ['RELAY_KEY_PREFIX', ':otp-relay'],
    ['RELAY_KEY_PREFIX', 'otp::relay'],
    ['RELAY_KEY_PREFIX', 'otp[1]'],
    ['CODE_TIMEOUT', '0s'],
    ['CODE_TIMEOUT', '11m'],
    ['CODE_TIMEOUT', '300'],
    ['CODE_TIMEOUT', '5 m'],
    ['CODE_TIMEOUT', '-5m'],
    ['TOKEN_LIFETIME', '0h'],
    ['TOKEN_LIFETIME', '25d'],
    ['TOKEN_LIFETIME', '1.5h'],
    ['RENEW_BEFORE', '0m'],
    ['RENEW_BEFORE', '24h'],
    ['RENEW_BEFORE', '2d'],
    ['VALIDATE_EVERY', '999ms'],
    ['VALIDATE_EVERY', '25d'],
    ['VALIDATE_EVERY', 'often'],
    ['LOGIN_SCHEDULE', 'every morning'],
    ['LOGIN_SCHEDULE', '61 8 * * *'],
    ['LOGIN_SCHEDULE', '* * * * * * *'],
    ['LOGIN_SCHEDULE', '0 0 30 2 *'],
    ['LOGIN_SCHEDULE_TZ', 'Mars/Olympus_Mons'],
    ['LOGIN_SCHEDULE_TZ', '+05:00'],
    ['MAX_CODE_ATTEMPTS', '0'],
    ['MAX_CODE_ATTEMPTS', '11'],
    ['MAX_CODE_ATTEMPTS', '2.5'],
    ['MAX_CODE_ATTEMPTS', '-1'],
    ['MAX_CODE_ATTEMPTS', 'three'],
    ['CODE_DIGITS', '0'],
    ['CODE_DIGITS', '8-4'],
    ['CODE_DIGITS', 'abc'],
    ['CODE_DIGITS', '4-'],
    ['CODE_DIGITS', '-4'],
    ['CODE_DIGITS', '13'],
    ['CODE_DIGITS', '4-13'],
    ['CODE_DIGITS', '0-6'],
    ['CODE_DIGITS', '4..8'],
    ['CODE_DIGITS', '6 digits'],
    ['ETNA_API_URL', 'http://broker.test/api/'],
    ['ETNA_API_URL', 'http://10.0.0.5:8080/api/'],
    ['ETNA_API_URL', 'http://128.0.0.1/api/'],
    ['ETNA_API_URL', 'http://localhost.evil.test/api/'],
    ['ETNA_API_URL', 'http://[::2]/api/'],
    ['DISCORD_API_URL', 'http://discord.com/api'],
    ['DISCORD_API_URL', 'http://192.168.1.10:4020/api'],
    ['MAX_LOGINS_PER_HOUR', '0'],
    ['MAX_LOGINS_PER_HOUR', '61'],
    ['MAX_LOGINS_PER_HOUR', '1e1'],
    ['HTTP_HOST', 'http://127.0.0.1'],
    ['HTTP_HOST', '127.0.0.1:8080/'],
    ['HTTP_HOST', 'local host'],
    ['HTTP_PORT', '65536'],
    ['HTTP_PORT', '-1'],
    ['HTTP_PORT', '80a'],
    ['HTTP_PORT', '0x50'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'warning'],
  ])('refuses %s=%j, naming the variable', (variable, value) => {
    const error = errorOf({ ...REQUIRED, [variable]: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
    expect(error.message).toMatch(new RegExp(`^  ${variable}: .*expected `, 'm'));
  });

  it.each([
    ['6', { minDigits: 6, maxDigits: 6 }],
    ['8', { minDigits: 8, maxDigits: 8 }],
    ['5-7', { minDigits: 5, maxDigits: 7 }],
    ['4-8', { minDigits: 4, maxDigits: 8 }],
    [' 1-12 ', { minDigits: 1, maxDigits: 12 }],
  ])('reads CODE_DIGITS=%j', (text, codeDigits) => {
    expect(load({ CODE_DIGITS: text }).accounts[0].codeDigits).toEqual(codeDigits);
  });

  it('says what CODE_DIGITS accepts when it refuses it', () => {
    expect(errorOf({ ...REQUIRED, CODE_DIGITS: '8-4' }).message).toContain(
      'CODE_DIGITS: "8-4" is not a number of digits or a range; expected one number (6) or a range (4-8), from 1 to 12',
    );
  });

  describe('transport security', () => {
    it.each([
      'http://127.0.0.1:4010/api/',
      'http://127.8.9.10/api/',
      'http://127.1:4010/api/',
      'http://localhost:4010/api/',
      'http://LOCALHOST:4010/api/',
      'http://[::1]:4010/api/',
      'https://broker.test/api/',
    ])('accepts ETNA_API_URL and DISCORD_API_URL %j', (url) => {
      const config = load({ ETNA_API_URL: url, DISCORD_API_URL: url });
      expect(config.accounts[0].etna.apiUrl.protocol).toBe(new URL(url).protocol);
      expect(config.discord.apiUrl).toBe(new URL(url).href.replace(/\/+$/, ''));
    });

    it('refuses plain http to another machine, saying why', () => {
      const error = errorOf({
        ...REQUIRED,
        ETNA_API_URL: 'http://broker.test/api/',
        DISCORD_API_URL: 'http://discord.com/api',
      });
      expect(error.problems.map((p) => p.variable)).toEqual(['ETNA_API_URL', 'DISCORD_API_URL']);
      expect(error.message).toContain('ETNA_API_URL: "http://broker.test/api/" is plain http://');
      expect(error.message).toContain('clear text');
      expect(error.message).toContain('http:// only for a loopback host');
    });

    it.each([
      ['ETNA_API_URL', 'https://trader:Hunter2-secret@broker.test/api/?apikey=Q-secret-key#frag-secret'],
      ['ETNA_API_URL', 'http://trader:Hunter2-secret@broker.test/api/?apikey=Q-secret-key'],
      ['ETNA_API_URL', 'https://broker.test/api/?apikey=Q-secret-key'],
      ['ETNA_API_URL', 'ftp://trader:Hunter2-secret@broker.test/?apikey=Q-secret-key'],
      ['ETNA_API_URL', 'trader:Hunter2-secret@broker.test'],
      ['ETNA_API_URL', 'broker.test/api?apikey=Q-secret-key'],
      ['ETNA_API_URL', 'https://trader:Hunter2-secret@bro ker.test/?apikey=Q-secret-key'],
      ['DISCORD_API_URL', 'https://bot:Hunter2-secret@discord.com/api?token=Q-secret-key'],
      ['DISCORD_API_URL', 'http://127.0.0.1:4020/api?token=Q-secret-key'],
    ])('never echoes the user, password or query of %s=%j', (variable, url) => {
      const error = errorOf({ ...REQUIRED, [variable]: url });
      expect(error.problems.map((p) => p.variable)).toEqual([variable]);
      for (const secret of ['Hunter2-secret', 'Q-secret-key', 'frag-secret', 'apikey', 'trader:', 'bot:']) {
        expect(error.message).not.toContain(secret);
      }
    });

    it('still shows a URL with nothing secret in it', () => {
      expect(errorOf({ ...REQUIRED, ETNA_API_URL: 'ftp://broker.test/api/' }).message).toContain(
        'ETNA_API_URL: "ftp://broker.test/api/" is not an https:// URL',
      );
    });
  });

  it('checks RENEW_BEFORE against TOKEN_LIFETIME', () => {
    const error = errorOf({ ...REQUIRED, TOKEN_LIFETIME: '1h' });
    expect(error.problems).toEqual([
      {
        variable: 'RENEW_BEFORE',
        message: expect.stringContaining('1h is not less than TOKEN_LIFETIME (1h)'),
      },
    ]);
    expect(load({ TOKEN_LIFETIME: '1h', RENEW_BEFORE: '10m' }).accounts[0].renewBeforeMs).toBe(600_000);
  });

  it('checks LOGIN_SCHEDULE even when LOGIN_SCHEDULE_TZ is bad', () => {
    const error = errorOf({ ...REQUIRED, LOGIN_SCHEDULE: '61 * * * *', LOGIN_SCHEDULE_TZ: 'Nowhere/Land' });
    expect(error.problems.map((p) => p.variable)).toEqual(['LOGIN_SCHEDULE', 'LOGIN_SCHEDULE_TZ']);
    expect(
      load({ LOGIN_SCHEDULE: '0 9 * * *', LOGIN_SCHEDULE_TZ: 'Europe/Paris' }).accounts[0].loginSchedule,
    ).toBe('0 9 * * *');
  });

  it('reports every problem at once, in table order, one line each', () => {
    const error = errorOf({
      LOG_LEVEL: 'loud',
      ETNA_API_URL: 'nope',
      CODE_TIMEOUT: '1h',
      HTTP_PORT: 'http',
    });
    const variables = [
      'ETNA_API_URL',
      'ETNA_APP_KEY',
      'ETNA_USERNAME',
      'ETNA_PASSWORD',
      'DISCORD_TOKEN',
      'DISCORD_OPERATOR_IDS',
      'CODE_TIMEOUT',
      'HTTP_PORT',
      'LOG_LEVEL',
    ];
    expect(error.problems.map((p) => p.variable)).toEqual(variables);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`Invalid configuration (${variables.length} problems):`);
    expect(lines.slice(1).map((line) => line.trim().split(':')[0])).toEqual(variables);
    expect(error.message).toContain('ETNA_APP_KEY: is required');
    expect(error.message).toContain('LOG_LEVEL: "loud" is not a log level; expected trace, debug');
  });

  it('freezes the result all the way down', () => {
    const config = load({ DISCORD_OPERATOR_IDS: '123456789012345678,234567890123456789' });
    const frozen = (value: unknown): void => {
      if (typeof value !== 'object' || value === null) return;
      expect(Object.isFrozen(value)).toBe(true);
      for (const child of Object.values(value)) frozen(child);
    };
    frozen(config);
    const mutable = config as unknown as {
      keyPrefix: string;
      http: { port: number };
      accounts: { name: string; operatorIds: string[] }[];
    };
    expect(() => {
      mutable.keyPrefix = 'other';
    }).toThrow(TypeError);
    expect(() => {
      mutable.http.port = 1;
    }).toThrow(TypeError);
    expect(() => mutable.accounts.push({ name: 'other', operatorIds: [] })).toThrow(TypeError);
    expect(() => {
      mutable.accounts[0]!.name = 'other';
    }).toThrow(TypeError);
    expect(() => mutable.accounts[0]!.operatorIds.push('345678901234567890')).toThrow(TypeError);
    const { apiUrl } = config.accounts[0].etna;
    expect(() => {
      apiUrl.pathname = '/elsewhere/';
    }).toThrow(TypeError);
    expect(() => {
      apiUrl.href = 'https://evil.test/';
    }).toThrow(TypeError);
    apiUrl.searchParams.set('x', '1');
    expect(apiUrl.href).toBe('https://pub-api-et-demo-prod.etnasoft.us/api/');
    expect(String(apiUrl)).toBe('https://pub-api-et-demo-prod.etnasoft.us/api/');
  });

  it('never echoes a secret, whatever it holds', () => {
    // A marker makes a coincidental match with the message's own words impossible.
    const unit = fc.oneof(
      fc.constantFrom('\n', '\r', '\t', '\u0000', '\u007f', ' ', 'é', '€', '😀'),
      fc.string({ minLength: 1, maxLength: 1 }),
    );
    const secretText = fc
      .oneof(fc.string({ unit, minLength: 4 }), fc.string({ unit: 'binary', minLength: 4 }))
      .map((s) => `Zq${s}`);
    const badOther = fc.record(
      {
        CODE_TIMEOUT: fc.constantFrom('0s', '1h', 'x'),
        HTTP_PORT: fc.constantFrom('-1', 'abc'),
        ETNA_USERNAME: fc.constantFrom('', 'a\nb'),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.record({
          appKey: secretText,
          password: secretText,
          pin: secretText,
          token: fc.oneof(
            secretText,
            secretText.map((s) => `Bot ${s}`),
          ),
          redisPassword: secretText,
          redisForm: fc.constantFrom(
            'http://u:{}@h',
            'redis://u:{}@h/db',
            'redis://u:{}@',
            '{}',
            'redis://u:{}@h:6379',
          ),
        }),
        badOther,
        (secrets, others) => {
          const redisUrl = secrets.redisForm.replace('{}', encodeURIComponent(secrets.redisPassword));
          const env = {
            ...REQUIRED,
            ETNA_APP_KEY: secrets.appKey,
            ETNA_PASSWORD: secrets.password,
            ETNA_PIN: secrets.pin,
            DISCORD_TOKEN: secrets.token,
            REDIS_URL: redisUrl,
            ...others,
          };
          let printed: string;
          try {
            printed = inspect(loadLive(env), { depth: 10 });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            printed = `${(error as ConfigError).message}\n${inspect(error)}\n${JSON.stringify((error as ConfigError).problems)}`;
          }
          for (const secret of [
            secrets.appKey,
            secrets.password,
            secrets.pin,
            secrets.token,
            secrets.redisPassword,
          ]) {
            expect(printed).not.toContain(secret);
            expect(printed).not.toContain(secret.trim());
            expect(printed).not.toContain(JSON.stringify(secret).slice(1, -1));
          }
          expect(printed).not.toContain(encodeURIComponent(secrets.redisPassword));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads only the object it is given', () => {
    // A library never reads process.env: a variable set there must not reach the result.
    const before = process.env.CODE_TIMEOUT;
    process.env.CODE_TIMEOUT = '7m';
    try {
      expect(load().accounts[0].codeTimeoutMs).toBe(300_000);
    } finally {
      if (before === undefined) delete process.env.CODE_TIMEOUT;
      else process.env.CODE_TIMEOUT = before;
    }
  });
});

describe('CONFIG_VARIABLES', () => {
  it('lists each variable once, with a description and a format', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const variable of CONFIG_VARIABLES) {
      expect(variable.description).not.toBe('');
      expect(variable.format).not.toBe('');
      if (variable.required) expect(variable.default).toBeUndefined();
    }
    expect(Object.isFrozen(CONFIG_VARIABLES)).toBe(true);
  });

  it('marks exactly the secrets and the required variables', () => {
    expect(CONFIG_VARIABLES.filter((v) => v.secret).map((v) => v.name)).toEqual([
      'ETNA_APP_KEY',
      'ETNA_PASSWORD',
      'ETNA_PIN',
      'DISCORD_TOKEN',
      'REDIS_URL',
      'REDIS_SENTINEL_PASSWORD',
    ]);
    expect(CONFIG_VARIABLES.filter((v) => v.required).map((v) => v.name)).toEqual([
      'ETNA_APP_KEY',
      'ETNA_USERNAME',
      'ETNA_PASSWORD',
      'DISCORD_TOKEN',
      'DISCORD_OPERATOR_IDS',
    ]);
  });

  it('names exactly the variables an empty environment is missing', () => {
    const required = CONFIG_VARIABLES.filter((v) => v.required).map((v) => v.name);
    expect(errorOf({}).problems.map((p) => p.variable)).toEqual(required);
  });
});

describe('SANDBOX', () => {
  it('is false by default: a relay for a real account, which needs its variables', () => {
    expect(load().sandbox).toBe(false);
    expect(load({ SANDBOX: 'False' }).sandbox).toBe(false);
    expect(errorOf({ SANDBOX: 'false' }).problems.map((p) => p.variable)).toContain('ETNA_APP_KEY');
  });

  it('true: starts with no ETNA_* and no DISCORD_* variable, and reads none of them', () => {
    const config = loadConfig({ SANDBOX: 'true' });
    expect(config).toMatchObject({ sandbox: true, keyPrefix: 'otp-relay' });
    expect(config.accounts.map((account) => [account.name, account.etna])).toEqual([['default', undefined]]);
    expect(config.discord).toBeUndefined();
    // .env.example's placeholders, or anything else there, neither stop it nor reach it.
    const ignored = loadConfig({
      SANDBOX: 'TRUE',
      ETNA_APP_KEY: 'your-app-key',
      DISCORD_OPERATOR_IDS: 'not an ID',
      DISCORD_TOKEN: 'Bot with a prefix',
    });
    expect(ignored.sandbox).toBe(true);
    expect(inspect(ignored, { depth: 10 })).not.toMatch(/your-app-key|not an ID|with a prefix/);
  });

  it('true: still checks every other variable', () => {
    expect(errorOf({ SANDBOX: 'true', CODE_TIMEOUT: 'soon', HTTP_PORT: '99999' }).problems).toEqual([
      expect.objectContaining({ variable: 'CODE_TIMEOUT' }),
      expect.objectContaining({ variable: 'HTTP_PORT' }),
    ]);
  });

  it('true: refuses a broker URL, which it would never use', () => {
    const error = errorOf({ SANDBOX: 'true', ETNA_API_URL: 'https://pub-api-et-demo-prod.etnasoft.us/api/' });
    expect(error.problems).toEqual([
      {
        variable: 'ETNA_API_URL',
        message:
          'is set, but SANDBOX=true runs against the built-in sandbox broker, never another one; unset ETNA_API_URL, or set SANDBOX=false',
      },
    ]);
  });

  it('takes true or false only', () => {
    const error = errorOf({ ...REQUIRED, SANDBOX: 'yes' });
    expect(error.problems).toEqual([
      { variable: 'SANDBOX', message: '"yes" is not accepted; expected true or false' },
    ]);
  });
});
