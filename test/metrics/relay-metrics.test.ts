import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/domain/broker-errors.js';
import type {
  Broker,
  StartLoginResult,
  SubmitCodeResult,
  TokenValidity,
} from '../../src/relay/ports/broker.js';
import { createLogger } from '../../src/shared/log.js';
import { startHttpServer } from '../../src/http/server.js';
import {
  createRelayMetrics,
  METRIC_NAMES,
  type RelayMetricsOptions,
  type TokenSummary,
} from '../../src/metrics/index.js';
import { Secret } from '../../src/shared/secret.js';
import { find, parseSamples, valueOf, type Sample } from './prometheus-text.js';
import type { EndedLogin } from '../../src/domain/login.js';
import type { RelaySnapshot } from '../../src/relay/state.js';

const ALICE = '100000000000000001';
const T0 = new Date('2026-11-30T13:00:00.000Z');

/** A clock the tests move by hand, so durations are exact. */
function manualClock() {
  let nowMs = 1_000;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

function metricsFor(options: Partial<RelayMetricsOptions> = {}) {
  return createRelayMetrics({ account: 'default', defaultMetrics: false, ...options });
}

async function samplesOf(metrics: ReturnType<typeof createRelayMetrics>): Promise<Sample[]> {
  return parseSamples((await metrics.render()).body);
}

function ended(overrides: Partial<EndedLogin> = {}): EndedLogin {
  return {
    loginId: 'login-1',
    reason: 'startup',
    startedAt: T0,
    outcome: 'succeeded',
    attempts: 1,
    endedAt: new Date(T0.getTime() + 30_000),
    ...overrides,
  };
}

describe('createRelayMetrics', () => {
  it('registers in a registry of its own, never the global one', async () => {
    const a = metricsFor();
    const b = metricsFor();
    expect(a.registry).not.toBe(b.registry);
    expect(a.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric(METRIC_NAMES.logins)).toBeUndefined();
    a.observer.loginEnded?.(ended());
    expect(find(await samplesOf(b), METRIC_NAMES.logins)).toEqual([]);
  });

  it('collects the default Node.js metrics under their standard names, with the account label on every series', async () => {
    const metrics = createRelayMetrics({ account: 'team-a' });
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseSamples(body);
    // The names stock Node.js dashboards query.
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_version_info',
    ]) {
      expect(find(samples, name), name).not.toHaveLength(0);
    }
    expect(find(samples, 'otp_relay_process_cpu_user_seconds_total')).toEqual([]);
    const standard = /^(process_|nodejs_)/;
    expect(samples.filter((s) => !s.name.startsWith('otp_relay_') && !standard.test(s.name))).toEqual([]);
    expect(samples.filter((s) => s.labels.account !== 'team-a')).toEqual([]);
  });

  it('describes every relay metric with HELP and TYPE', async () => {
    const { body } = await metricsFor().render();
    const types = Object.fromEntries(
      [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name, type]),
    );
    expect(types).toEqual({
      [METRIC_NAMES.tokenExpiry]: 'gauge',
      [METRIC_NAMES.tokenGeneration]: 'gauge',
      [METRIC_NAMES.loginsStarted]: 'counter',
      [METRIC_NAMES.logins]: 'counter',
      [METRIC_NAMES.operatorAnswer]: 'histogram',
      [METRIC_NAMES.brokerRequestDuration]: 'histogram',
      [METRIC_NAMES.redisConnected]: 'gauge',
      [METRIC_NAMES.discordConnected]: 'gauge',
      [METRIC_NAMES.dmFailures]: 'counter',
      [METRIC_NAMES.halts]: 'counter',
      [METRIC_NAMES.botRequests]: 'counter',
      [METRIC_NAMES.nextLogin]: 'gauge',
      [METRIC_NAMES.halted]: 'gauge',
      [METRIC_NAMES.lastLoginFailed]: 'gauge',
    });
    for (const name of Object.keys(types)) expect(body).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
  });
});

describe('observer', () => {
  it('counts ended logins by trigger and result, with the error kind on failures only', async () => {
    const metrics = metricsFor();
    const { observer } = metrics;
    observer.loginEnded?.(ended());
    observer.loginEnded?.(ended({ reason: 'renewal' }));
    observer.loginEnded?.(ended({ reason: 'renewal' }));
    observer.loginEnded?.(
      ended({ reason: 'bot-request', outcome: 'rejected', attempts: 3, operatorId: ALICE }),
    );
    observer.loginEnded?.(ended({ reason: 'schedule', outcome: 'expired', attempts: 0 }));
    observer.loginEnded?.(ended({ reason: 'renewal', outcome: 'failed', error: 'network' }));
    observer.loginEnded?.(ended({ reason: 'renewal', outcome: 'failed', error: 'network' }));
    observer.loginEnded?.(ended({ reason: 'startup', outcome: 'failed', error: 'bad-credentials' }));

    const samples = await samplesOf(metrics);
    const logins = (trigger: string, result: string, error?: string) =>
      valueOf(samples, METRIC_NAMES.logins, { trigger, result, error });
    expect(logins('startup', 'succeeded')).toBe(1);
    expect(logins('renewal', 'succeeded')).toBe(2);
    expect(logins('bot-request', 'rejected')).toBe(1);
    expect(logins('schedule', 'expired')).toBe(1);
    expect(logins('renewal', 'failed', 'network')).toBe(2);
    expect(logins('startup', 'failed', 'bad-credentials')).toBe(1);
    expect(find(samples, METRIC_NAMES.logins)).toHaveLength(6);
  });

  it('keeps labels inside their closed lists, whatever reaches it', async () => {
    const metrics = metricsFor();
    metrics.observer.loginEnded?.({
      ...ended({ outcome: 'failed' }),
      reason: 'free text 123456' as EndedLogin['reason'],
    });
    metrics.observer.loginEnded?.(ended({ outcome: 'weird' as EndedLogin['outcome'], error: 'network' }));
    const samples = await samplesOf(metrics);
    expect(
      valueOf(samples, METRIC_NAMES.logins, { trigger: 'other', result: 'failed', error: 'other' }),
    ).toBe(1);
    expect(
      valueOf(samples, METRIC_NAMES.logins, { trigger: 'startup', result: 'other', error: undefined }),
    ).toBe(1);
    expect((await metrics.render()).body).not.toContain('123456');
  });

  it('counts started logins by trigger', async () => {
    const metrics = metricsFor();
    metrics.observer.loginStarted?.({ loginId: 'a', reason: 'schedule', startedAt: T0 });
    metrics.observer.loginStarted?.({ loginId: 'b', reason: 'schedule', startedAt: T0 });
    expect(valueOf(await samplesOf(metrics), METRIC_NAMES.loginsStarted, { trigger: 'schedule' })).toBe(2);
  });

  it("times operators' first answer in seconds, and ignores later attempts of the same login", async () => {
    const metrics = metricsFor();
    metrics.observer.codeReceived?.({ loginId: 'a', operatorId: ALICE, attempt: 1, waitedMs: 42_000 });
    metrics.observer.codeReceived?.({ loginId: 'a', operatorId: ALICE, attempt: 2, waitedMs: 70_000 });
    metrics.observer.codeReceived?.({ loginId: 'b', operatorId: ALICE, attempt: 1, waitedMs: 7_500 });

    const samples = await samplesOf(metrics);
    const name = METRIC_NAMES.operatorAnswer;
    expect(valueOf(samples, `${name}_count`)).toBe(2);
    expect(valueOf(samples, `${name}_sum`)).toBeCloseTo(49.5);
    const bucket = (le: string) => valueOf(samples, `${name}_bucket`, { le });
    expect(bucket('5')).toBe(0);
    expect(bucket('10')).toBe(1);
    expect(bucket('30')).toBe(1);
    expect(bucket('45')).toBe(2);
    expect(bucket('600')).toBe(2);
    expect(bucket('+Inf')).toBe(2);
    // No label that could identify (or grow with) operators or logins.
    expect(Object.keys(find(samples, `${name}_count`)[0]!.labels)).toEqual(['account']);
  });

  it('shows the published token generation and expiry', async () => {
    const metrics = metricsFor();
    metrics.observer.tokenPublished?.({ generation: 7, expiresAt: '2026-12-01T13:00:00.000Z' });
    let samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.tokenGeneration)).toBe(7);
    expect(valueOf(samples, METRIC_NAMES.tokenExpiry)).toBe(Date.parse('2026-12-01T13:00:00.000Z') / 1_000);

    metrics.observer.tokenPublished?.({ generation: 8, expiresAt: '2026-12-02T13:00:00.000Z' });
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.tokenGeneration)).toBe(8);
    expect(valueOf(samples, METRIC_NAMES.tokenExpiry)).toBe(1_796_216_400);
  });
});

describe('setToken', () => {
  it('shows a whole token record without its token, and no token as expiry 0 with the generation kept', async () => {
    const metrics = metricsFor();
    metrics.setToken({
      token: 'bearer-9f8e7d',
      account: 'default',
      generation: 12,
      obtainedAt: '2026-11-30T13:00:00.000Z',
      expiresAt: '2026-12-01T13:00:00.000Z',
    } as TokenSummary);
    let samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.tokenGeneration)).toBe(12);
    expect(valueOf(samples, METRIC_NAMES.tokenExpiry)).toBe(Date.parse('2026-12-01T13:00:00.000Z') / 1_000);
    expect((await metrics.render()).body).not.toContain('bearer-9f8e7d');

    metrics.setToken(undefined);
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.tokenGeneration)).toBe(12);
    expect(valueOf(samples, METRIC_NAMES.tokenExpiry)).toBe(0);
  });
});

describe('connection probes', () => {
  it('reads 0 until probes are set, then what they say at each scrape', async () => {
    const metrics = metricsFor();
    let samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.redisConnected)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.discordConnected)).toBe(0);

    let redisUp = true;
    metrics.setConnectionProbes({ redisConnected: () => redisUp, discordConnected: () => false });
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.redisConnected)).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.discordConnected)).toBe(0);

    redisUp = false;
    metrics.setConnectionProbes({ discordConnected: () => true });
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.redisConnected)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.discordConnected)).toBe(1);
  });

  it('takes probes at creation, and reads a probe that throws as 0 without failing the scrape', async () => {
    const metrics = metricsFor({
      probes: {
        redisConnected: () => true,
        discordConnected: () => {
          throw new Error('gateway state unknown');
        },
      },
    });
    const samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.redisConnected)).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.discordConnected)).toBe(0);
  });
});

describe('state probes', () => {
  const at = (iso: string) => Date.parse(iso) / 1_000;

  it('reads 0 until probes are set: no login planned, not halted, no failed login', async () => {
    const samples = await samplesOf(metricsFor());
    expect(valueOf(samples, METRIC_NAMES.nextLogin)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.halted)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.lastLoginFailed)).toBe(0);
  });

  it('shows the next login the relay starts by itself, and 0 once none is set', async () => {
    const metrics = metricsFor();
    let next: Date | undefined = new Date('2026-12-07T13:30:00.000Z');
    metrics.setStateProbes({ nextLoginAt: () => next });
    expect(valueOf(await samplesOf(metrics), METRIC_NAMES.nextLogin)).toBe(at('2026-12-07T13:30:00.000Z'));
    next = undefined;
    expect(valueOf(await samplesOf(metrics), METRIC_NAMES.nextLogin)).toBe(0);
  });

  it('shows a halt while the snapshot has one, and whether the last login ended without a token', async () => {
    const metrics = metricsFor();
    let snapshot: Pick<RelaySnapshot, 'login' | 'halted'> = {
      login: { state: 'ended', outcome: 'expired' },
      halted: { error: 'bad-credentials', at: T0.toISOString() },
    };
    metrics.setStateProbes({ snapshot: () => snapshot });
    let samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.halted)).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.lastLoginFailed)).toBe(1);

    snapshot = { login: { state: 'ended', outcome: 'succeeded' }, halted: undefined };
    samples = await samplesOf(metrics);
    expect(valueOf(samples, METRIC_NAMES.halted)).toBe(0);
    expect(valueOf(samples, METRIC_NAMES.lastLoginFailed)).toBe(0);

    // A login under way is no failed one, whatever came before it.
    snapshot = { login: { state: 'awaiting-code' }, halted: undefined };
    expect(valueOf(await samplesOf(metrics), METRIC_NAMES.lastLoginFailed)).toBe(0);
  });

  it('reads a probe that throws as 0 without failing the scrape, and keeps the account label', async () => {
    const metrics = metricsFor();
    metrics.setStateProbes({
      snapshot: () => {
        throw new Error('no snapshot');
      },
      nextLoginAt: () => new Date(Number.NaN),
    });
    const samples = await samplesOf(metrics);
    for (const name of [METRIC_NAMES.nextLogin, METRIC_NAMES.halted, METRIC_NAMES.lastLoginFailed]) {
      expect(valueOf(samples, name), name).toBe(0);
      expect(find(samples, name)[0]!.labels, name).toEqual({ account: 'default' });
    }
  });
});

/** A tiny broker whose answers each test sets, that advances the clock by `tookMs` per call. */
class FakeBroker implements Broker {
  public tookMs = 0;
  public readonly calls: unknown[][] = [];
  public next: () => Promise<unknown> = async () => ({ kind: 'code-required', interim: new Secret('x') });

  public constructor(private readonly clock: ReturnType<typeof manualClock>) {}

  public startLogin(...args: [AbortSignal?]): Promise<StartLoginResult> {
    return this.#answer(args) as Promise<StartLoginResult>;
  }

  public submitCode(...args: [Secret, Secret, AbortSignal?]): Promise<SubmitCodeResult> {
    return this.#answer(args) as Promise<SubmitCodeResult>;
  }

  public validate(...args: [Secret, AbortSignal?]): Promise<TokenValidity> {
    return this.#answer(args) as Promise<TokenValidity>;
  }

  async #answer(args: unknown[]): Promise<unknown> {
    this.calls.push(args);
    this.clock.advance(this.tookMs);
    return this.next();
  }
}

function instrumented() {
  const clock = manualClock();
  const metrics = metricsFor({ monotonicNowMs: clock.now });
  const fake = new FakeBroker(clock);
  return { metrics, fake, broker: metrics.instrumentBroker(fake) };
}

describe('instrumentBroker', () => {
  const duration = METRIC_NAMES.brokerRequestDuration;

  it('times each call by step and result kind', async () => {
    const { metrics, fake, broker } = instrumented();
    fake.tookMs = 300;
    fake.next = async () => ({ kind: 'code-required', interim: new Secret('i') });
    await broker.startLogin();
    fake.tookMs = 1_500;
    fake.next = async () => ({ kind: 'code-rejected', interimSpent: false });
    await broker.submitCode(new Secret('i'), new Secret('1'));
    fake.tookMs = 700;
    fake.next = async () => ({ kind: 'token', token: new Secret('t') });
    await broker.submitCode(new Secret('i'), new Secret('2'));
    fake.tookMs = 40;
    fake.next = async () => 'valid';
    await broker.validate(new Secret('t'));
    fake.next = async () => 'invalid';
    await broker.validate(new Secret('t'));

    const samples = await samplesOf(metrics);
    const count = (step: string, outcome: string) => valueOf(samples, `${duration}_count`, { step, outcome });
    const sum = (step: string, outcome: string) => valueOf(samples, `${duration}_sum`, { step, outcome });
    expect(count('start-login', 'code-required')).toBe(1);
    expect(sum('start-login', 'code-required')).toBeCloseTo(0.3);
    expect(count('submit-code', 'code-rejected')).toBe(1);
    expect(sum('submit-code', 'code-rejected')).toBeCloseTo(1.5);
    expect(count('submit-code', 'token')).toBe(1);
    expect(count('validate', 'valid')).toBe(1);
    expect(count('validate', 'invalid')).toBe(1);
    expect(valueOf(samples, `${duration}_bucket`, { step: 'validate', outcome: 'valid', le: '0.05' })).toBe(
      1,
    );
    expect(
      valueOf(samples, `${duration}_bucket`, { step: 'submit-code', outcome: 'code-rejected', le: '1' }),
    ).toBe(0);
    expect(
      valueOf(samples, `${duration}_bucket`, { step: 'submit-code', outcome: 'code-rejected', le: '2' }),
    ).toBe(1);
  });

  it('passes arguments and the signal through untouched and returns the very result', async () => {
    const { fake, broker } = instrumented();
    const interim = new Secret('interim');
    const code = new Secret('code');
    const signal = new AbortController().signal;
    const result = { kind: 'token' as const, token: new Secret('token') };
    fake.next = async () => result;

    await expect(broker.submitCode(interim, code, signal)).resolves.toBe(result);
    await broker.startLogin(signal);
    await broker.startLogin();
    await broker.validate(interim, signal);
    expect(fake.calls).toHaveLength(4);
    expect(fake.calls[0]).toHaveLength(3);
    expect(fake.calls[0]![0]).toBe(interim);
    expect(fake.calls[0]![1]).toBe(code);
    expect(fake.calls[0]![2]).toBe(signal);
    expect(fake.calls[1]![0]).toBe(signal);
    // A call made without a signal reaches the broker without one, not with an added `undefined`.
    expect(fake.calls[2]).toEqual([]);
    expect(fake.calls[3]).toHaveLength(2);
    expect(fake.calls[3]![1]).toBe(signal);
  });

  it('rethrows the very error, labelled with the BrokerError kind, aborted or unexpected-error', async () => {
    const { metrics, fake, broker } = instrumented();
    const brokerError = new BrokerError({ kind: 'rate-limited', step: 'start-login', status: 429 });
    fake.next = () => Promise.reject(brokerError);
    await expect(broker.startLogin()).rejects.toBe(brokerError);

    const controller = new AbortController();
    const reason = new Error('shutting down');
    controller.abort(reason);
    fake.next = () => Promise.reject(reason);
    await expect(broker.validate(new Secret('t'), controller.signal)).rejects.toBe(reason);

    const odd = new TypeError('boom');
    fake.next = () => Promise.reject(odd);
    await expect(broker.submitCode(new Secret('i'), new Secret('c'))).rejects.toBe(odd);

    const samples = await samplesOf(metrics);
    expect(valueOf(samples, `${duration}_count`, { step: 'start-login', outcome: 'rate-limited' })).toBe(1);
    expect(valueOf(samples, `${duration}_count`, { step: 'validate', outcome: 'aborted' })).toBe(1);
    expect(valueOf(samples, `${duration}_count`, { step: 'submit-code', outcome: 'unexpected-error' })).toBe(
      1,
    );
  });

  it('counts a broker that throws synchronously, and still rejects with its error', async () => {
    const { metrics } = instrumented();
    const error = new BrokerError({ kind: 'network', step: 'validate' });
    const throwing: Broker = {
      startLogin: () => {
        throw error;
      },
      submitCode: () => {
        throw error;
      },
      validate: () => {
        throw error;
      },
    };
    await expect(metrics.instrumentBroker(throwing).validate(new Secret('t'))).rejects.toBe(error);
    expect(
      valueOf(await samplesOf(metrics), `${duration}_count`, { step: 'validate', outcome: 'network' }),
    ).toBe(1);
  });
});

describe('secrets', () => {
  const SECRETS = {
    interim: 'interim-7f3a9c',
    code: '864209',
    token: 'final-token-b81e44',
    validated: 'checked-token-0d5e21',
  };
  const ALLOWED_LABEL_VALUES = new Set([
    'default',
    ...['start-login', 'submit-code', 'validate'],
    ...[
      'token',
      'code-required',
      'code-rejected',
      'valid',
      'invalid',
      'aborted',
      'unexpected-error',
      'other',
    ],
    ...['startup', 'renewal', 'schedule', 'token-invalid', 'bot-request', 'operator-request'],
    ...['succeeded', 'rejected', 'expired', 'cancelled', 'failed'],
    ...['network', 'timeout', 'server-error', 'rate-limited', 'unexpected-answer', 'bad-credentials'],
    'token.rejected',
  ]);

  it('never puts a secret passed to or returned by the broker into the output', async () => {
    const { metrics, fake, broker } = instrumented();
    const interim = new Secret(SECRETS.interim);
    const code = new Secret(SECRETS.code);

    fake.next = async () => ({ kind: 'code-required', interim });
    await broker.startLogin();
    fake.next = async () => ({ kind: 'token', token: new Secret(SECRETS.token) });
    await broker.submitCode(interim, code);
    fake.next = async () => 'valid';
    await broker.validate(new Secret(SECRETS.validated));
    // A broker misbehaving in every way a secret could reach a label: a kind that is a secret,
    // and errors whose messages, causes and fields carry one.
    fake.next = async () => ({ kind: SECRETS.code });
    await broker.submitCode(interim, code);
    fake.next = async () => SECRETS.validated;
    await broker.validate(new Secret(SECRETS.validated));
    fake.next = async () => undefined;
    await expect(broker.startLogin()).resolves.toBeUndefined();
    fake.next = () => Promise.reject(new Error(`code ${SECRETS.code} refused for ${SECRETS.interim}`));
    await expect(broker.submitCode(interim, code)).rejects.toThrow();
    fake.next = () =>
      Promise.reject(
        Object.assign(
          new BrokerError({ kind: 'unexpected-answer', step: 'submit-code', cause: SECRETS.code }),
          {
            kind: SECRETS.token,
          },
        ),
      );
    await expect(broker.submitCode(interim, code)).rejects.toThrow();

    metrics.observer.codeReceived?.({ loginId: 'l', operatorId: ALICE, attempt: 1, waitedMs: 12_000 });
    metrics.observer.loginEnded?.(
      ended({ outcome: 'failed', error: SECRETS.code as NonNullable<EndedLogin['error']> }),
    );
    metrics.observer.loginEnded?.({ ...ended(), code: SECRETS.code, interim } as EndedLogin);
    metrics.observer.tokenPublished?.({ generation: 1, expiresAt: '2026-12-01T13:00:00.000Z' });

    const { body } = await metrics.render();
    for (const secret of Object.values(SECRETS)) expect(body).not.toContain(secret);
    const samples = parseSamples(body);
    expect(samples.length).toBeGreaterThan(20);
    for (const sample of samples) {
      for (const [label, value] of Object.entries(sample.labels)) {
        if (label === 'le') continue;
        expect(ALLOWED_LABEL_VALUES, `${sample.name}{${label}="${value}"}`).toContain(value);
      }
    }
    expect(find(samples, `${METRIC_NAMES.brokerRequestDuration}_count`, { outcome: 'other' })).toHaveLength(
      3,
    );
  });
});

describe('GET /metrics', () => {
  it('serves render() through the health server', async () => {
    const metrics = metricsFor();
    metrics.observer.tokenPublished?.({ generation: 3, expiresAt: '2026-12-01T13:00:00.000Z' });
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      readiness: () => ({ ready: true }) as never,
      metrics: () => metrics.render(),
    });
    try {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(valueOf(parseSamples(await response.text()), METRIC_NAMES.tokenGeneration)).toBe(3);
    } finally {
      await server.close();
    }
  });
});
