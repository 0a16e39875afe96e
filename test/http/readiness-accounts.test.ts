import { afterEach, describe, expect, it } from 'vitest';
import { readiness, type ReadinessInput, type ReadinessReport } from '../../src/http/readiness.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import type { RelaySnapshot } from '../../src/relay/state.js';
import { createLogger } from '../../src/shared/log.js';

/** Issue 19: `/readyz` of a process that serves several accounts. */

const NOW = Date.parse('2026-03-04T08:00:00Z');
const TOMORROW = '2026-03-05T08:00:00.000Z';
const AN_HOUR_AGO = '2026-03-04T07:00:00.000Z';

function snapshot(account: string, overrides: Partial<RelaySnapshot> = {}): RelaySnapshot {
  return {
    account,
    token: { generation: 3, expiresAt: TOMORROW },
    login: { state: 'none' },
    halted: undefined,
    lastFailure: undefined,
    ...overrides,
  };
}

const connected = { redisConnected: true, discordConnected: true, now: NOW } as const;

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** `/readyz` of a health server that answers `input`: its status and JSON body. */
async function readyz(input: ReadinessInput): Promise<{ status: number; body: ReadinessReport }> {
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    readiness: () => readiness(input),
  });
  servers.push(server);
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadinessReport };
}

describe('readiness: several accounts', () => {
  it('answers 503 while one account has no token, and says which', async () => {
    const { status, body } = await readyz({
      ...connected,
      relays: [snapshot('live'), snapshot('paper', { token: undefined })],
    });
    expect(status).toBe(503);
    expect(body.ready).toBe(false);
    expect(body.accounts).toEqual({
      live: {
        ready: true,
        token: { generation: 3, expiresAt: TOMORROW, valid: true },
        login: { state: 'none' },
        halted: null,
        lastFailure: null,
        configMismatch: null,
      },
      paper: {
        ready: false,
        token: null,
        login: { state: 'none' },
        halted: null,
        lastFailure: null,
        configMismatch: null,
      },
    });
  });

  it('answers 503 for an expired token, or an account that stands aside, beside a valid one', async () => {
    const expired = await readyz({
      ...connected,
      relays: [snapshot('live'), snapshot('paper', { token: { generation: 8, expiresAt: AN_HOUR_AGO } })],
    });
    expect(expired.status).toBe(503);
    expect(expired.body.accounts.paper).toMatchObject({
      ready: false,
      token: { generation: 8, valid: false },
    });
    const mismatch = readiness({
      ...connected,
      relays: [snapshot('live', { configMismatch: { loginId: 'login-9' } }), snapshot('paper')],
    });
    expect(mismatch.ready).toBe(false);
    expect(mismatch.accounts.live).toMatchObject({ ready: false, configMismatch: { loginId: 'login-9' } });
    expect(mismatch.accounts.paper!.ready).toBe(true);
  });

  it('answers 200 when every account has a valid token', async () => {
    const { status, body } = await readyz({
      ...connected,
      relays: [snapshot('live'), snapshot('paper', { token: { generation: 5, expiresAt: TOMORROW } })],
    });
    expect(status).toBe(200);
    expect(body.ready).toBe(true);
    expect(Object.keys(body.accounts)).toEqual(['live', 'paper']);
    expect(body.accounts.paper!.token).toEqual({ generation: 5, expiresAt: TOMORROW, valid: true });
  });

  it('shows a halted account beside a healthy one: ready while its token lasts, 503 once it has none', () => {
    const halted = { error: 'bad-credentials', at: AN_HOUR_AGO } as const;
    const lastFailure = { reason: 'bad-credentials', at: AN_HOUR_AGO, fatal: true };
    const withToken = readiness({
      ...connected,
      relays: [snapshot('live'), snapshot('paper', { halted, lastFailure })],
    });
    expect(withToken.ready).toBe(true);
    expect(withToken.accounts.paper).toMatchObject({ ready: true, halted, lastFailure });
    expect(withToken.accounts.live).toMatchObject({ ready: true, halted: null, lastFailure: null });

    const without = readiness({
      ...connected,
      relays: [snapshot('live'), snapshot('paper', { halted, lastFailure, token: undefined })],
    });
    expect(without.ready).toBe(false);
    expect(without.accounts.paper).toMatchObject({ ready: false, halted, token: null });
    expect(without.accounts.live!.ready).toBe(true);
    // The top-level fields are the first account's: the healthy one here.
    expect(without).toMatchObject({ account: 'live', halted: null, token: { valid: true } });
  });

  it('makes every account unready while Redis or Discord is down', () => {
    const report = readiness({
      ...connected,
      discordConnected: false,
      discordState: 'reconnecting',
      relays: [snapshot('live'), snapshot('paper')],
    });
    expect(report).toMatchObject({ ready: false, redis: 'connected', discord: 'reconnecting' });
    expect(Object.values(report.accounts).map((account) => account.ready)).toEqual([false, false]);
  });

  it('is not ready with no account at all', () => {
    const report = readiness({ ...connected, relays: [] });
    expect(report).toMatchObject({ ready: false, account: null, token: null, accounts: {} });
  });
});

describe('readiness: one account', () => {
  it('keeps the top-level fields of old, and describes the account under accounts too', () => {
    const relay = snapshot('default', {
      login: { state: 'awaiting-code', loginId: 'login-2', reason: 'renewal', attemptsUsed: 0 },
    });
    const report = readiness({ ...connected, relay });
    const fields = {
      token: { generation: 3, expiresAt: TOMORROW, valid: true },
      login: relay.login,
      halted: null,
      lastFailure: null,
      configMismatch: null,
    };
    expect(report).toEqual({
      ready: true,
      redis: 'connected',
      discord: 'connected',
      account: 'default',
      ...fields,
      operators: { unreachable: [] },
      accounts: { default: { ready: true, ...fields } },
    });
    expect(readiness({ ...connected, relays: [relay] })).toEqual(report);
  });
});

describe('readiness: what the body holds', () => {
  it('names each account as it is, `__proto__` included, and copies no field a snapshot carries beyond its own', () => {
    const token = { generation: 2, expiresAt: TOMORROW, token: 'bearer-5c1d9e' };
    const report = readiness({ ...connected, relays: [snapshot('__proto__', { token })] });
    const body = JSON.stringify(report);
    expect(body).not.toContain('bearer-5c1d9e');
    expect(Object.keys(JSON.parse(body).accounts)).toEqual(['__proto__']);
  });
});
