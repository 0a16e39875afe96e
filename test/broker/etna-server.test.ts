import { once } from 'node:events';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startEtnaServer, type EtnaServer } from '../fakes/etna.js';
import { onCleanup } from './setup.js';

/** The fake broker's own promises: what tests and the demo rely on besides the ETNA answers. */

async function started(options: Parameters<typeof startEtnaServer>[0] = {}): Promise<EtnaServer> {
  const server = await startEtnaServer(options);
  onCleanup(() => server.close());
  return server;
}

function agent(): Agent {
  const dispatcher = new Agent();
  onCleanup(() => dispatcher.destroy());
  return dispatcher;
}

function step1(server: EtnaServer, dispatcher: Agent, extra: Record<string, string> = {}) {
  return request(new URL('token', server.url), {
    dispatcher,
    method: 'POST',
    headers: {
      'Et-App-Key': server.settings.appKey,
      Username: server.settings.username,
      Password: server.settings.password,
      'Content-Length': '0',
      ...extra,
    },
  });
}

describe('the fake ETNA broker', () => {
  it('listens on 127.0.0.1 under /api/', async () => {
    const server = await started();
    expect(server.url.hostname).toBe('127.0.0.1');
    expect(server.url.pathname).toBe('/api/');
  });

  it('"sends" each code through onCodeSent and the code event', async () => {
    const sent: string[] = [];
    const server = await started({ onCodeSent: (code) => sent.push(code), codeLength: 8 });
    const event = server.nextCode();

    const response = await step1(server, agent());
    const body = (await response.body.json()) as Record<string, unknown>;

    expect(response.statusCode).toBe(202);
    expect(body).toMatchObject({ State: 'Expecting', Step: 'VerificationCode', Token: server.lastInterim });
    expect(sent).toEqual([server.lastCode]);
    expect(await event).toBe(server.lastCode);
    expect(server.lastCode).toMatch(/^\d{8}$/);
  });

  it('sends 6-digit codes by default, any length from 1 to 12 when told, and refuses others', async () => {
    const dispatcher = agent();
    const byDefault = await started();
    await (await step1(byDefault, dispatcher)).body.dump();
    expect(byDefault.lastCode).toMatch(/^\d{6}$/);
    // A live setting: the next step 1 follows it.
    byDefault.settings.codeLength = 12;
    await (await step1(byDefault, dispatcher)).body.dump();
    expect(byDefault.lastCode).toMatch(/^\d{12}$/);
    for (const codeLength of [0, 13, 1.5, Number.NaN]) {
      await expect(startEtnaServer({ codeLength })).rejects.toThrow(/codeLength/);
    }
  });

  it('mints a fresh interim and code for every step 1', async () => {
    const server = await started({ codeLength: 8 });
    const dispatcher = agent();
    for (let i = 0; i < 3; i += 1) await (await step1(server, dispatcher)).body.dump();

    expect(new Set(server.issuedInterims).size).toBe(3);
    expect(server.sentCodes).toHaveLength(3);
    expect(server.issuedInterims.every((interim) => interim.length > 40)).toBe(true);
  });

  it('counts requests that were made to fail', async () => {
    const server = await started();
    server.failNext(2, { status: 503 });
    const dispatcher = agent();

    const first = await step1(server, dispatcher, { VerificationCode: '123456', Authorization: 'Bearer x' });
    await first.body.dump();
    const second = await step1(server, dispatcher);
    await second.body.dump();

    expect([first.statusCode, second.statusCode]).toEqual([503, 503]);
    expect(server.counts).toMatchObject({ step1Calls: 1, step2Calls: 1 });
    expect(server.codesSubmitted).toEqual(['123456']);
    expect(server.sentCodes).toEqual([]);
  });

  it('ends a hanging request on close()', async () => {
    const server = await startEtnaServer();
    server.failNext(1, 'hang');
    const arrived = once(server.events, 'request');
    const pending = step1(server, agent()).then(
      () => 'answered',
      () => 'failed',
    );
    await arrived;

    await server.close();

    expect(await pending).toBe('failed');
  });

  it('ends a delayed request on close() without answering it', async () => {
    const server = await startEtnaServer({ delayMs: 60_000 });
    const arrived = once(server.events, 'request');
    const pending = step1(server, agent()).then(
      () => 'answered',
      () => 'failed',
    );
    await arrived;

    await server.close();

    expect(await pending).toBe('failed');
    expect(server.sentCodes).toEqual([]);
  });

  it('revokes a token on logout', async () => {
    const server = await started({ secondFactor: 'none' });
    const dispatcher = agent();
    await (await step1(server, dispatcher)).body.dump();
    const token = server.lastToken!;
    expect(server.isTokenValid(token)).toBe(true);

    const response = await request(new URL('logout', server.url), {
      dispatcher,
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Length': '0' },
    });
    await response.body.dump();

    expect(server.isTokenValid(token)).toBe(false);
    expect(server.counts.logoutCalls).toBe(1);
  });

  it('answers 404 outside the API', async () => {
    const server = await started();
    const response = await request(new URL('/elsewhere', server.url), { dispatcher: agent() });
    await response.body.dump();
    expect(response.statusCode).toBe(404);
  });

  it('needs a PIN to require one', async () => {
    await expect(startEtnaServer({ requirePin: true })).rejects.toThrow(TypeError);
  });
});
