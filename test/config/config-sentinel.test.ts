import { describe, expect, it } from 'vitest';

import { readSentinelOptions } from '../../src/client/token-client-options.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { parseMasterReply, throughProxy } from '../../src/redis/sentinel-proxy.js';
import { parseSentinelNodes } from '../../src/redis/settings.js';
import { REQUIRED } from '../helpers/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...REQUIRED, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('REDIS_SENTINELS and REDIS_SENTINEL_MASTER', () => {
  it('are off by default', () => {
    expect(loadConfig(REQUIRED).redisSentinel).toBeUndefined();
  });

  it('read host:port lists, deduplicated, IPv6 in brackets', () => {
    const config = loadConfig({
      ...REQUIRED,
      REDIS_URL: 'redis://relay:pw-0123456789abcdef@ignored:6379',
      REDIS_SENTINELS: ' 10.0.0.1:26379, sentinel-2.internal:26380 ,[::1]:26381,10.0.0.1:26379',
      REDIS_SENTINEL_MASTER: 'otp-relay',
    });
    expect(config.redisSentinel).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-2.internal', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'otp-relay',
    });
    expect(Object.isFrozen(config.redisSentinel?.sentinels[0])).toBe(true);
  });

  it('go together: one without the other stops the start, naming the missing one', () => {
    expect(problems({ REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_MASTER: is not set but REDIS_SENTINELS is/),
    ]);
    expect(problems({ REDIS_SENTINEL_MASTER: 'otp-relay' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: is not set but REDIS_SENTINEL_MASTER is/),
    ]);
  });

  it.each([['127.0.0.1'], ['127.0.0.1:0'], ['127.0.0.1:70000'], ['a b:1'], [','], ['redis://h:26379']])(
    'refuse REDIS_SENTINELS=%s, naming the variable',
    (value) => {
      expect(problems({ REDIS_SENTINELS: value, REDIS_SENTINEL_MASTER: 'm' })).toEqual([
        expect.stringMatching(/^REDIS_SENTINELS: .*expected comma-separated host:port/),
      ]);
    },
  );

  it('refuse a master name Redis would not take', () => {
    expect(problems({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'my master' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_MASTER: "my master" is not a master name/),
    ]);
  });

  it('take a rediss:// REDIS_URL (the proxy talks TLS to the master)', () => {
    const config = loadConfig({
      ...REQUIRED,
      REDIS_URL: 'rediss://relay:very-secret-password@h:6380',
      REDIS_SENTINELS: '127.0.0.1:26379',
      REDIS_SENTINEL_MASTER: 'm',
    });
    expect(config.redisSentinel?.masterName).toBe('m');
  });
});

describe('REDIS_SENTINEL_USERNAME, REDIS_SENTINEL_PASSWORD(_FILE) and REDIS_SENTINEL_TLS', () => {
  const sentinels = { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'otp-relay' };

  it('give the sentinels their own login and TLS', () => {
    const config = loadConfig({
      ...REQUIRED,
      ...sentinels,
      REDIS_SENTINEL_USERNAME: 'client',
      REDIS_SENTINEL_PASSWORD: ' sentinel-secret-0123456789 ',
      REDIS_SENTINEL_TLS: 'TRUE',
    });
    expect(config.redisSentinel).toMatchObject({ username: 'client', tls: true });
    expect(config.redisSentinel?.password?.reveal()).toBe('sentinel-secret-0123456789');
    expect(JSON.stringify(config.redisSentinel)).not.toContain('sentinel-secret');
  });

  it('are off by default: no login, no TLS', () => {
    const config = loadConfig({ ...REQUIRED, ...sentinels });
    expect(config.redisSentinel).toEqual({
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      masterName: 'otp-relay',
    });
  });

  it('refuse a value of REDIS_SENTINEL_TLS other than true or false, a user without a password, and any of them without REDIS_SENTINELS', () => {
    expect(problems({ ...sentinels, REDIS_SENTINEL_TLS: 'yes' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_TLS: "yes" is not true or false; expected true or false/),
    ]);
    expect(problems({ ...sentinels, REDIS_SENTINEL_USERNAME: 'client' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_USERNAME: is set but REDIS_SENTINEL_PASSWORD is not/),
    ]);
    const stray = problems({
      REDIS_SENTINEL_USERNAME: 'client',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret-0123456789',
      REDIS_SENTINEL_TLS: 'true',
    });
    expect(stray).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_USERNAME: is set but REDIS_SENTINELS is not/),
      expect.stringMatching(/^REDIS_SENTINEL_PASSWORD: is set but REDIS_SENTINELS is not/),
      expect.stringMatching(/^REDIS_SENTINEL_TLS: is set but REDIS_SENTINELS is not/),
    ]);
    expect(stray.join('\n')).not.toContain('sentinel-secret');
  });
});

describe('Sentinel helpers', () => {
  it('parseSentinelNodes refuses an empty list', () => {
    expect(parseSentinelNodes(' , ')).toEqual({ ok: false, error: 'names no sentinel' });
  });

  it('parseMasterReply takes a master that is up, with its epoch, and nothing else', () => {
    const reply = (flags: string) => [
      'name',
      'm',
      'ip',
      '127.0.0.1',
      'port',
      '6390',
      'flags',
      flags,
      'config-epoch',
      '3',
    ];
    expect(parseMasterReply(reply('master'))).toEqual({ host: '127.0.0.1', port: 6390, epoch: 3 });
    expect(parseMasterReply(reply('master,disconnected'))).toEqual({
      host: '127.0.0.1',
      port: 6390,
      epoch: 3,
    });
    expect(parseMasterReply(reply('master,s_down'))).toBeUndefined();
    expect(parseMasterReply(reply('master,s_down,o_down'))).toBeUndefined();
    expect(parseMasterReply(null)).toBeUndefined();
    expect(
      parseMasterReply(
        new Map([
          ['ip', '::1'],
          ['port', '1'],
          ['flags', 'master'],
        ]),
      ),
    ).toEqual({
      host: '::1',
      port: 1,
      epoch: 0,
    });
  });

  it('throughProxy keeps the credentials and replaces the address; rediss:// becomes redis:// to the proxy', () => {
    expect(throughProxy('redis://bot:p%40ss@redis.internal:6379/0', 40000)).toBe(
      'redis://bot:p%40ss@127.0.0.1:40000/0',
    );
    expect(throughProxy('rediss://bot:pw@h:6380', 1)).toBe('redis://bot:pw@127.0.0.1:1');
    expect(() => throughProxy('http://h:1', 1)).toThrow(TypeError);
  });

  it('the client library takes both options or neither', () => {
    expect(readSentinelOptions({})).toBeUndefined();
    expect(readSentinelOptions({ sentinels: '127.0.0.1:26379', sentinelMaster: 'm' })).toEqual({
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      masterName: 'm',
    });
    expect(() => readSentinelOptions({ sentinels: '127.0.0.1:26379' })).toThrow(/sentinelMaster/);
    expect(() => readSentinelOptions({ sentinelMaster: 'm' })).toThrow(/sentinels/);
    expect(() => readSentinelOptions({ sentinels: [], sentinelMaster: 'm' })).toThrow(/at least one/);
  });

  it("the client library takes the sentinels' own login and TLS, only with sentinels", () => {
    const options = readSentinelOptions({
      sentinels: '127.0.0.1:26379',
      sentinelMaster: 'm',
      sentinelUsername: 'client',
      sentinelPassword: 'pw-0123456789',
      sentinelTls: true,
    });
    expect(options).toMatchObject({ username: 'client', tls: true });
    expect(options?.password?.reveal()).toBe('pw-0123456789');
    expect(() => readSentinelOptions({ sentinelPassword: 'pw' })).toThrow(/need sentinels/);
    expect(() =>
      readSentinelOptions({ sentinels: '127.0.0.1:26379', sentinelMaster: 'm', sentinelUsername: '' }),
    ).toThrow(/sentinelUsername/);
  });
});
