import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { combineObservers } from '../../src/audit/combine.js';
import { RedisAuditTrail } from '../../src/audit/redis-audit-trail.js';
import { BrokerError } from '../../src/domain/broker-errors.js';
import { createLogger } from '../../src/shared/log.js';
import { createRelayMetrics, METRIC_NAMES } from '../../src/metrics/index.js';
import { Relay } from '../../src/relay/relay.js';
import { Secret } from '../../src/shared/secret.js';
import { relayKeys } from '../../src/contract/keys.js';
import { MemoryCoordination } from '../../src/store/memory-coordination.js';
import { MemoryEventPublisher } from '../../src/store/memory-events.js';
import { MemoryTokenStore } from '../../src/store/memory-token-store.js';
import { connectRedis as connectRelayRedis, type RedisClient } from '../../src/redis/connect.js';
import type { RelayKeys } from '../../src/relay/ports/token-store.js';
import { RecordingOperators } from '../fakes/recording-operators.js';
import { ScriptedBroker } from '../fakes/scripted-broker.js';
import { connectRedis, deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { parseSamples, valueOf } from '../metrics/prometheus-text.js';

const ALICE = '100000000000000001';
const BOB = '100000000000000002';
/** Every code an operator sends below; none may reach the trail or the metrics. */
const CODES = ['111111', '123456', '222222', '333333', '444444'];

describe('the relay feeding the audit trail and the metrics through combineObservers', () => {
  let prefix: string;
  let keys: RelayKeys;
  let client: RedisClient;
  let plain: Awaited<ReturnType<typeof connectRedis>>;

  beforeEach(async () => {
    prefix = uniquePrefix('audit-relay');
    keys = relayKeys({ prefix, account: 'default' });
    client = await connectRelayRedis({ url: new Secret(TEST_REDIS_URL), name: 'otp-relay-audit-test' });
    plain = await connectRedis();
  });

  afterEach(async () => {
    await deletePrefix(plain, prefix);
    await client.close();
    await plain.close();
  });

  it('records every way a login ends, with no code anywhere', async () => {
    const trail = new RedisAuditTrail({ client, keys });
    const metrics = createRelayMetrics({ account: 'default', defaultMetrics: false });
    const broker = new ScriptedBroker();
    const operators = new RecordingOperators();
    let ids = 0;
    const store = new MemoryTokenStore({ account: 'default' });
    const relay = new Relay({
      account: 'default',
      codeTimeoutMs: 300,
      tokenLifetimeMs: 3_600_000,
      maxCodeAttempts: 3,
      maxLoginsPerHour: 100,
      broker: metrics.instrumentBroker(broker),
      operators,
      store,
      events: new MemoryEventPublisher(),
      coordination: new MemoryCoordination(),
      // One step-1 call per login, so the network failure below ends its login.
      startRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      logger: createLogger({ level: 'silent' }),
      newLoginId: () => `login-${++ids}`,
      observer: combineObservers(metrics.observer, trail.observer),
    });
    await operators.start((input) => relay.handleInput(input));
    const code = async (operatorId: string, text: string) => {
      operators.input({ kind: 'code', operatorId, code: new Secret(text) });
      await relay.idle();
    };

    // 1: a refused code from Bob, then Alice's good one.
    await relay.start();
    await relay.idle();
    await code(BOB, '111111');
    await code(ALICE, '123456');
    // 2: three refused codes. (Later logins are an operator's: once a login ended without a
    // token, the relay starts no automatic one until an operator asks.)
    await relay.requestLogin('renewal');
    await relay.idle();
    for (const text of ['222222', '333333', '444444']) await code(ALICE, text);
    // 3: nobody answers in time.
    await relay.requestLogin('operator-request');
    await relay.idle();
    await vi.waitFor(() => expect(relay.snapshot().login.state).toBe('ended'), { timeout: 5_000 });
    await relay.idle();
    // 4: the broker cannot be reached.
    broker.startLogin.mockRejectedValueOnce(new BrokerError({ kind: 'network', step: 'start-login' }));
    await relay.requestLogin('operator-request');
    await relay.idle();
    // 5: Bob cancels.
    await relay.requestLogin('operator-request');
    await relay.idle();
    operators.input({ kind: 'cancel', operatorId: BOB, loginId: 'login-5' });
    await relay.idle();
    await relay.stop();
    await trail.flush();

    const entries = await trail.recent(10);
    expect(entries.map(({ id: _id, startedAt: _s, endedAt: _e, ...rest }) => rest)).toEqual([
      { loginId: 'login-5', trigger: 'operator-request', outcome: 'cancelled', operator: BOB, attempts: 0 },
      { loginId: 'login-4', trigger: 'operator-request', outcome: 'failed', error: 'network', attempts: 0 },
      { loginId: 'login-3', trigger: 'operator-request', outcome: 'expired', attempts: 0 },
      { loginId: 'login-2', trigger: 'renewal', outcome: 'rejected', operator: ALICE, attempts: 3 },
      { loginId: 'login-1', trigger: 'startup', outcome: 'succeeded', operator: ALICE, attempts: 2 },
    ]);
    for (const entry of entries)
      expect(Date.parse(entry.endedAt)).toBeGreaterThanOrEqual(Date.parse(entry.startedAt));

    const raw = JSON.stringify(await plain.sendCommand(['XRANGE', keys.audit, '-', '+']));
    const { body } = await metrics.render();
    for (const secret of [...CODES, 'interim-secret', 'final-token']) {
      expect(raw).not.toContain(secret);
      expect(body).not.toContain(secret);
    }

    const samples = parseSamples(body);
    const logins = (trigger: string, result: string, error?: string) =>
      valueOf(samples, METRIC_NAMES.logins, { trigger, result, error });
    expect(logins('startup', 'succeeded')).toBe(1);
    expect(logins('renewal', 'rejected')).toBe(1);
    expect(logins('operator-request', 'expired')).toBe(1);
    expect(logins('operator-request', 'failed', 'network')).toBe(1);
    expect(logins('operator-request', 'cancelled')).toBe(1);
    expect(valueOf(samples, `${METRIC_NAMES.operatorAnswer}_count`)).toBe(2);
    expect(valueOf(samples, METRIC_NAMES.tokenGeneration)).toBe((await store.read())?.generation);
    const broker_ = (step: string, outcome: string) =>
      valueOf(samples, `${METRIC_NAMES.brokerRequestDuration}_count`, { step, outcome });
    expect(broker_('start-login', 'code-required')).toBe(4);
    expect(broker_('start-login', 'network')).toBe(1);
    expect(broker_('submit-code', 'code-rejected')).toBe(4);
    expect(broker_('submit-code', 'token')).toBe(1);
  });
});
