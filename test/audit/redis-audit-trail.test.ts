import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisAuditTrail, type RedisAuditTrailOptions } from '../../src/audit/redis-audit-trail.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { captureLog } from '../store/log-capture.js';
import { ALICE, endedLogin } from '../contracts/audit-trail.contract.js';

type PlainClient = Awaited<ReturnType<typeof connectRedis>>;

describe('RedisAuditTrail', () => {
  let prefix: string;
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: PlainClient;

  const trailWith = (options: Partial<RedisAuditTrailOptions> = {}) =>
    new RedisAuditTrail({ client, keys, ...options });

  /** The stream exactly as Redis holds it, every ID and field as one string. */
  const rawStream = async (): Promise<string> =>
    JSON.stringify(await plain.sendCommand(['XRANGE', keys.audit, '-', '+']));

  beforeEach(async () => {
    prefix = uniquePrefix('audit');
    keys = relayKeys({ prefix, account: 'default' });
    client = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-audit-test' });
    plain = await connectRedis();
  });

  afterEach(async () => {
    await deletePrefix(plain, prefix);
    if (client.isOpen) await client.close();
    await plain.close();
  });

  it('appends to the stream P:audit:A exactly these fields, and nothing else', async () => {
    expect(keys.audit).toBe(`${prefix}:audit:default`);
    const trail = trailWith();
    trail.observer.loginEnded?.(endedLogin({ loginId: 'abc123', reason: 'schedule', attempts: 2 }));
    const { operatorId: _none, ...failed } = endedLogin({
      loginId: 'def456',
      outcome: 'failed',
      error: 'network',
      attempts: 0,
    });
    trail.observer.loginEnded?.(failed);
    await trail.flush();

    expect(await plain.type(keys.audit)).toBe('stream');
    const raw = await plain.sendCommand<[string, string[]][]>(['XRANGE', keys.audit, '-', '+']);
    expect(raw.map(([, fields]) => fields)).toEqual([
      [
        ...['loginId', 'abc123', 'trigger', 'schedule', 'outcome', 'succeeded', 'operator', ALICE],
        ...['attempts', '2', 'startedAt', '2026-11-30T13:00:00.000Z', 'endedAt', '2026-11-30T13:01:30.000Z'],
      ],
      [
        ...['loginId', 'def456', 'trigger', 'startup', 'outcome', 'failed', 'error', 'network'],
        ...['attempts', '0', 'startedAt', '2026-11-30T13:00:00.000Z', 'endedAt', '2026-11-30T13:01:30.000Z'],
      ],
    ]);
  });

  it('never stores a code, interim or token that rides along on the login object', async () => {
    const trail = trailWith();
    const codes = ['864209', '135790'];
    for (const [i, code] of codes.entries()) {
      const login = {
        ...endedLogin({ loginId: `l${i}`, outcome: i === 0 ? 'rejected' : 'succeeded', attempts: 3 }),
        code,
        codes: [code],
        interim: new Secret(`interim-${code}`),
        token: `token-${code}`,
      };
      trail.observer.loginEnded?.(login);
    }
    await trail.flush();
    const raw = await rawStream();
    expect(raw).toContain('"l0"');
    for (const code of codes) expect(raw).not.toContain(code);
    expect(raw).not.toMatch(/interim|token|redacted/);
  });

  it('keeps writes in the order logins ended', async () => {
    const trail = trailWith();
    for (let i = 0; i < 50; i += 1) trail.observer.loginEnded?.(endedLogin({ loginId: `l${i}` }));
    await trail.flush();
    const expected = Array.from({ length: 50 }, (_, i) => `l${49 - i}`);
    expect((await trail.recent(50)).map((entry) => entry.loginId)).toEqual(expected);
  });

  describe('cap', () => {
    it('holds exactly with trim: exact', async () => {
      const trail = trailWith({ maxEntries: 5, trim: 'exact' });
      for (let i = 0; i < 12; i += 1) trail.observer.loginEnded?.(endedLogin({ loginId: `l${i}` }));
      await trail.flush();
      expect(await plain.xLen(keys.audit)).toBe(5);
      expect((await trail.recent(10)).map((entry) => entry.loginId)).toEqual([
        'l11',
        'l10',
        'l9',
        'l8',
        'l7',
      ]);
    });

    it('holds within one stream node by default (MAXLEN ~): never below the cap, never far above', async () => {
      // `~` lets Redis drop only whole internal nodes, each at most `stream-node-max-entries`
      // entries: the stream keeps at least maxEntries and less than maxEntries + one node.
      const nodeEntries = await streamNodeMaxEntries(plain);
      const maxEntries = 10;
      const trail = trailWith({ maxEntries });
      const written = maxEntries + nodeEntries * 2 + 50;
      for (let i = 0; i < written; i += 1) trail.observer.loginEnded?.(endedLogin({ loginId: `l${i}` }));
      await trail.flush();
      const length = await plain.xLen(keys.audit);
      expect(length).toBeGreaterThanOrEqual(maxEntries);
      expect(length).toBeLessThan(maxEntries + nodeEntries);
      expect((await trail.recent(1))[0]?.loginId).toBe(`l${written - 1}`);
    });

    it('defaults to 1000 entries and refuses a cap that is not a positive integer', () => {
      expect(() => trailWith({ maxEntries: 0 })).toThrow(RangeError);
      expect(() => trailWith({ maxEntries: 2.5 })).toThrow(RangeError);
      expect(() => trailWith()).not.toThrow();
    });
  });

  it('skips unreadable entries, reading older ones in their place, and logs only their IDs', async () => {
    const log = captureLog();
    const trail = trailWith({ logger: log.logger });
    trail.observer.loginEnded?.(endedLogin({ loginId: 'oldest' }));
    await trail.flush();
    await plain.xAdd(keys.audit, '*', { loginId: 'bad-1', trigger: 'startup', outcome: 'succeeded' });
    trail.observer.loginEnded?.(endedLogin({ loginId: 'middle' }));
    await trail.flush();
    const badId = await plain.xAdd(keys.audit, '*', { note: 'secret-looking-value-42' });
    await plain.xAdd(keys.audit, '*', {
      ...{ loginId: 'bad-3', trigger: 'whim', outcome: 'succeeded', attempts: '1' },
      ...{ startedAt: '2026-11-30T13:00:00.000Z', endedAt: '2026-11-30T13:01:30.000Z' },
    });
    trail.observer.loginEnded?.(endedLogin({ loginId: 'newest' }));
    await trail.flush();

    expect((await trail.recent(3)).map((entry) => entry.loginId)).toEqual(['newest', 'middle', 'oldest']);
    expect((await trail.recent(10)).map((entry) => entry.loginId)).toEqual(['newest', 'middle', 'oldest']);
    const warnings = log.lines().filter((line) => line.msg === 'audit entry unreadable; skipped');
    expect(warnings.map((line) => line.id)).toContain(badId);
    expect(log.text()).not.toContain('secret-looking-value-42');
  });

  it('logs a failed write, never throws it, and goes on with the next one', async () => {
    const log = captureLog();
    const broken = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-audit-test' });
    await broken.close();
    const trail = new RedisAuditTrail({ client: broken, keys, logger: log.logger });
    const login = { ...endedLogin({ loginId: 'lost' }), code: '864209' };
    expect(() => trail.observer.loginEnded?.(login)).not.toThrow();
    trail.observer.loginEnded?.(endedLogin({ loginId: 'lost-too' }));
    await trail.flush();

    const errors = log.lines().filter((line) => line.msg === 'audit entry not written');
    expect(errors.map((line) => line.loginId)).toEqual(['lost', 'lost-too']);
    expect(errors[0]).toMatchObject({ level: 50, key: keys.audit, err: { name: expect.any(String) } });
    expect(log.text()).not.toContain('864209');
    expect(await plain.exists(keys.audit)).toBe(0);
  });

  it('flush() also waits for writes queued while it waits', async () => {
    const trail = trailWith();
    trail.observer.loginEnded?.(endedLogin({ loginId: 'first' }));
    const flushed = trail.flush();
    trail.observer.loginEnded?.(endedLogin({ loginId: 'second' }));
    await flushed;
    expect(await plain.xLen(keys.audit)).toBe(2);
  });
});

/** The server's `stream-node-max-entries` (Redis's default, 100, if it cannot be read). */
async function streamNodeMaxEntries(client: PlainClient): Promise<number> {
  try {
    const config = await client.configGet('stream-node-max-entries');
    const value = Number(config['stream-node-max-entries']);
    return Number.isSafeInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}
