import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, expect } from 'vitest';
import { BrokerError, type BrokerErrorKind } from '../../src/domain/broker-errors.js';
import { EtnaBroker, type EtnaBrokerOptions } from '../../src/broker/etna-client.js';
import { createLogger, type Logger } from '../../src/shared/log.js';
import { Secret } from '../../src/shared/secret.js';
import { startEtnaServer, type EtnaServer, type EtnaServerOptions } from '../fakes/etna.js';

/** Credentials unique to each test, long enough to search for in logs and error texts. */
export interface TestCredentials {
  appKey: string;
  username: string;
  password: string;
  pin: string;
}

export function freshCredentials(): TestCredentials {
  return {
    appKey: `appkey-${randomUUID()}`,
    username: `user-${randomUUID().slice(0, 8)}`,
    password: `password-${randomUUID()}`,
    pin: `pin-${randomUUID()}`,
  };
}

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Servers first: that also ends hanging requests, so closing the brokers' agents never waits.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Registers something to close after the test. */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Log lines written through a debug-level relay logger. */
export interface CapturedLog {
  logger: Logger;
  lines: string[];
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

export interface Setup {
  server: EtnaServer;
  broker: EtnaBroker;
  credentials: TestCredentials;
  log: CapturedLog;
}

/**
 * A fake broker and a real EtnaBroker pointed at it, both closed after the test. `brokerOptions`
 * override what the broker is given (e.g. a wrong password, a PIN).
 */
export async function setup(
  serverOptions: EtnaServerOptions = {},
  brokerOptions: Partial<EtnaBrokerOptions> = {},
  credentials: TestCredentials = freshCredentials(),
): Promise<Setup> {
  const server = await startEtnaServer({
    appKey: credentials.appKey,
    username: credentials.username,
    password: credentials.password,
    ...serverOptions,
  });
  const log = captureLog();
  const broker = new EtnaBroker({
    apiUrl: server.url,
    appKey: new Secret(credentials.appKey),
    username: credentials.username,
    password: new Secret(credentials.password),
    logger: log.logger,
    ...brokerOptions,
  });
  onCleanup(() => broker.close());
  onCleanup(() => server.close());
  return { server, broker, credentials, log };
}

/** Awaits a rejection with a BrokerError of `kind` and returns it. */
export async function expectBrokerError(
  promise: Promise<unknown>,
  kind: BrokerErrorKind,
): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(BrokerError);
  const brokerError = error as BrokerError;
  expect(brokerError.kind).toBe(kind);
  return brokerError;
}

/** The headers the fake received for the request at `index` (negative counts from the end). */
export function headersOf(server: EtnaServer, index: number): IncomingHttpHeaders {
  const request = server.requests.at(index);
  if (!request) throw new Error(`no request at ${index}`);
  return request.headers;
}

/** One canned answer of {@link startScriptedServer}. */
export interface ScriptedAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/**
 * A server that answers a fixed script, in order, whatever is asked: for answers the fake broker
 * never gives (shapes ETNA does not document). Records the headers of each request.
 */
export async function startScriptedServer(
  script: ScriptedAnswer[],
): Promise<{ url: URL; received: IncomingHttpHeaders[] }> {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    received.push(req.headers);
    const answer = script.shift() ?? { status: 599, body: 'script exhausted' };
    res.writeHead(answer.status, { 'Content-Length': Buffer.byteLength(answer.body), ...answer.headers });
    res.end(answer.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/api/`), received };
}
