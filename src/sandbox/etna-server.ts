import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EtnaLogins, header, type EtnaAnswer } from './etna-logins.js';
import {
  readEtnaServerOptions,
  type EtnaFailMode,
  type EtnaServerOptions,
  type EtnaServerSettings,
} from './etna-settings.js';

export type { EtnaFailMode, EtnaServerOptions, EtnaServerSettings } from './etna-settings.js';

/**
 * A fake ETNA Trader broker on 127.0.0.1 that answers as docs/broker.md describes: the two-step login,
 * the security PIN, the token check. Tests drive it; `npm run demo` uses it as the sandbox broker
 * that "sends" the code through {@link EtnaServerOptions.onCodeSent}.
 *
 * Where the real broker's behaviour is undocumented it takes the worst case by default: a wrong
 * code burns the interim token. It records what it received (headers included, so secrets too):
 * keep it to tests and the demo.
 */

/** Which call a request was, by its path and headers. */
export type EtnaCall = 'step1' | 'pin' | 'step2' | 'validate' | 'logout' | 'other';

/** One request as the fake broker received it. Headers are lower-case and hold secrets. */
export interface EtnaRecordedRequest {
  readonly call: EtnaCall;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** Events of {@link EtnaServer.events}. */
export interface EtnaServerEvents {
  /** Step 1 minted a code (the "SMS" went out). */
  code: [code: string];
  /** A request arrived (before any delay or failure). */
  request: [request: EtnaRecordedRequest];
}

/** Counts of requests received, failed ones included: what reached the broker. */
export interface EtnaCallCounts {
  /** `POST token` with neither `VerificationCode` nor `PinCode`. */
  step1Calls: number;
  /** `POST token` with `PinCode` and no `VerificationCode`. */
  pinCalls: number;
  /** `POST token` with `VerificationCode`. */
  step2Calls: number;
  validateCalls: number;
  logoutCalls: number;
}

/** Which count of {@link EtnaCallCounts} a call adds to. */
const COUNTER_OF_CALL: Readonly<Record<EtnaCall, keyof EtnaCallCounts | undefined>> = {
  step1: 'step1Calls',
  pin: 'pinCalls',
  step2: 'step2Calls',
  validate: 'validateCalls',
  logout: 'logoutCalls',
  other: undefined,
};

const JSON_TYPE = 'application/json; charset=utf-8';

/** A running fake broker: its address, its live settings, what it saw, and knobs for failures. */
export class EtnaServer {
  /** The API base, ending in `/api/`: pass it as the broker's `apiUrl`. */
  public readonly url: URL;
  /** Live settings: changes apply to the next request. */
  public readonly settings: EtnaServerSettings;
  /** `code` when a code is "sent", `request` for every request. */
  public readonly events = new EventEmitter<EtnaServerEvents>();
  /** Requests received per call, failed ones included. */
  public readonly counts: EtnaCallCounts = {
    step1Calls: 0,
    pinCalls: 0,
    step2Calls: 0,
    validateCalls: 0,
    logoutCalls: 0,
  };
  /** TCP connections accepted so far: a client that reuses its sockets opens few. */
  public connectionsAccepted = 0;
  /** Every request received, in order. */
  public readonly requests: EtnaRecordedRequest[] = [];
  /** Every `VerificationCode` received, in order, failed requests included. */
  public readonly codesSubmitted: string[] = [];
  /** Every code "sent" by step 1, in order. */
  public readonly sentCodes: string[];
  /** Every interim token minted, in order. */
  public readonly issuedInterims: string[];
  /** Every final token minted, in order. */
  public readonly issuedTokens: string[];

  readonly #server: ReturnType<typeof createServer>;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #failures: EtnaFailMode[] = [];
  readonly #logins: EtnaLogins;
  #closed = false;

  /** @internal Use {@link startEtnaServer}. */
  public constructor(
    server: ReturnType<typeof createServer>,
    url: URL,
    settings: EtnaServerSettings,
    onCodeSent: (code: string) => void,
    now: () => number,
  ) {
    this.#server = server;
    this.url = url;
    this.settings = settings;
    this.#logins = new EtnaLogins(settings, now, (code) => {
      onCodeSent(code);
      this.events.emit('code', code);
    });
    this.sentCodes = this.#logins.sentCodes;
    this.issuedInterims = this.#logins.issuedInterims;
    this.issuedTokens = this.#logins.issuedTokens;
    server.on('connection', (socket) => {
      this.connectionsAccepted += 1;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req, res) => this.#onRequest(req, res));
  }

  /** The last code "sent", if any. */
  public get lastCode(): string | undefined {
    return this.sentCodes.at(-1);
  }

  /** The last interim token minted, if any. */
  public get lastInterim(): string | undefined {
    return this.issuedInterims.at(-1);
  }

  /** The last final token minted, if any. */
  public get lastToken(): string | undefined {
    return this.issuedTokens.at(-1);
  }

  /** Resolves with the next code "sent". */
  public async nextCode(signal?: AbortSignal): Promise<string> {
    const [code] = (await once(this.events, 'code', signal ? { signal } : {})) as [string];
    return code;
  }

  /** The next `n` requests, whatever they ask, fail as `mode` says. */
  public failNext(n: number, mode: EtnaFailMode): void {
    for (let i = 0; i < n; i += 1) this.#failures.push(mode);
  }

  /** Makes a final token invalid: the token check answers 401 for it from now on. */
  public revoke(token: string): void {
    this.#logins.revoke(token);
  }

  /** Whether a final token would pass the token check now. */
  public isTokenValid(token: string): boolean {
    return this.#logins.isTokenValid(token);
  }

  /** Stops listening and destroys every open connection, hanging ones included. */
  public async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // No request of this API has a body: drain whatever comes so the connection stays usable.
    req.resume();
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const call = this.#classify(req.method ?? 'GET', path, req.headers);
    const recorded: EtnaRecordedRequest = {
      call,
      method: req.method ?? 'GET',
      path,
      headers: { ...req.headers },
    };
    this.requests.push(recorded);
    this.#count(recorded);
    this.events.emit('request', recorded);

    const answer = (): void => {
      if (this.#closed) return;
      const failure = this.#failures.shift();
      if (failure !== undefined) {
        this.#fail(req, res, failure);
        return;
      }
      this.#route(recorded, res);
    };
    if (this.settings.delayMs > 0) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        answer();
      }, this.settings.delayMs);
      this.#timers.add(timer);
    } else {
      answer();
    }
  }

  #classify(method: string, path: string, headers: IncomingHttpHeaders): EtnaCall {
    const apiPath = this.url.pathname;
    if (method === 'POST' && path === `${apiPath}token`) {
      if (headers['verificationcode'] !== undefined) return 'step2';
      return headers['pincode'] !== undefined ? 'pin' : 'step1';
    }
    if (method === 'GET' && path === `${apiPath}v1.0/users/@me/info`) return 'validate';
    if (method === 'POST' && path === `${apiPath}logout`) return 'logout';
    return 'other';
  }

  #count(request: EtnaRecordedRequest): void {
    const counter = COUNTER_OF_CALL[request.call];
    if (counter !== undefined) this.counts[counter] += 1;
    if (request.call === 'step2') {
      this.codesSubmitted.push(header(request.headers, 'verificationcode') ?? '');
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, mode: EtnaFailMode): void {
    if (mode === 'drop') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') return;
    if (mode === 'not-json') {
      send(res, 200, '<html><body>Service temporarily unavailable</body></html>', 'text/html');
      return;
    }
    if (mode.status === 429) {
      const retryAfter = mode.retryAfterDate?.toUTCString() ?? String(mode.retryAfterSeconds ?? 60);
      res.setHeader('Retry-After', retryAfter);
      sendJson(res, 429, { Message: 'Too many requests' });
      return;
    }
    send(res, mode.status, '<html><body>Server error</body></html>', 'text/html');
  }

  #route(request: EtnaRecordedRequest, res: ServerResponse): void {
    const answer = this.#answer(request);
    sendJson(res, answer.status, answer.body);
  }

  #answer({ call, headers }: EtnaRecordedRequest): EtnaAnswer {
    switch (call) {
      case 'step1':
      case 'pin':
      case 'step2':
        return this.#logins.login(call, headers);
      case 'validate':
        return this.#logins.validate(headers);
      case 'logout':
        return this.#logins.logout(headers);
      case 'other':
        return { status: 404, body: { Message: 'No HTTP resource was found that matches the request URI.' } };
    }
  }
}

/**
 * Starts a fake ETNA broker and resolves once it listens.
 *
 * @throws TypeError when `requirePin` is on without a `pin`, or `codeLength` is not from 1 to 12.
 */
export async function startEtnaServer(options: EtnaServerOptions = {}): Promise<EtnaServer> {
  const { settings, host: listenHost, port: listenPort, onCodeSent, now } = readEtnaServerOptions(options);
  const server = createServer();
  server.listen(listenPort, listenHost);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  return new EtnaServer(server, new URL(`http://${host}:${port}/api/`), settings, onCodeSent, now);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), JSON_TYPE);
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
