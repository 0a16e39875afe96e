import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Secret } from '../shared/secret.js';

/**
 * A fake ETNA Trader broker on 127.0.0.1 that answers as `ETNA.md` describes: the two-step login,
 * the security PIN, the token check. Tests drive it; `npm run demo` uses it as the sandbox broker
 * that "sends" the code through {@link EtnaServerOptions.onCodeSent}.
 *
 * Where the real broker's behaviour is undocumented it takes the worst case by default: a wrong
 * code burns the interim token. It records what it received (headers included, so secrets too):
 * keep it to tests and the demo.
 */

/** How the next requests fail, whatever they ask (see {@link EtnaServer.failNext}). */
export type EtnaFailMode =
  | { readonly status: 500 | 502 | 503 }
  /** 429 with `Retry-After` in seconds, or as an HTTP date when `retryAfterDate` is given. */
  | { readonly status: 429; readonly retryAfterSeconds?: number; readonly retryAfterDate?: Date }
  /** Destroys the socket without an answer. */
  | 'drop'
  /** Never answers; {@link EtnaServer.close} still ends the connection. */
  | 'hang'
  /** 200 with an HTML body. */
  | 'not-json';

/** The behaviour a fake broker starts with; every field can be changed later in {@link EtnaServer.settings}. */
export interface EtnaServerSettings {
  appKey: string;
  username: string;
  password: string;
  /** The PIN it accepts when {@link EtnaServerSettings.requirePin} is on. */
  pin: string | undefined;
  /** `sms`: step 1 answers 202 and "sends" a code; `none`: step 1 returns the final token. */
  secondFactor: 'sms' | 'none';
  /** Step 1 first answers `Expecting`/`SecutityPin`; the PIN comes back in a `PinCode` header. */
  requirePin: boolean;
  /** The PIN request carries a ticket (`Token`) that the PIN answer must bring back as Bearer. */
  pinTicket: boolean;
  /** Every login with the right credentials fails with "Your Password has expired and must be changed". */
  passwordExpired: boolean;
  /** Status of the unknown-app-key answer: 403 per most pages, 401 per some. */
  appKeyErrorStatus: 401 | 403;
  /**
   * Digits in each code it "sends": 6 by default, a whole number from 1 to 12. The real broker does
   * not document its length; tests and the demo run other lengths (8) against the relay's `CODE_DIGITS`.
   */
  codeLength: number;
  /** A wrong code spends the interim token (the worst case, and the default). */
  wrongCodeBurnsInterim: boolean;
  interimTtlMs: number;
  tokenTtlMs: number;
  /** Waits this long before answering each request. */
  delayMs: number;
}

/** Options of {@link startEtnaServer}: the starting {@link EtnaServerSettings}, and where to listen. */
export interface EtnaServerOptions extends Partial<Omit<EtnaServerSettings, 'appKey' | 'password' | 'pin'>> {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  appKey?: string | Secret;
  password?: string | Secret;
  pin?: string | Secret | undefined;
  /** The "SMS": called with every code minted by step 1. */
  onCodeSent?: (code: string) => void;
  /** The clock of interim and token expiry, in epoch milliseconds; default `Date.now`. */
  now?: () => number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  appKey: 'sandbox-app-key',
  username: 'sandbox',
  password: 'sandbox-password',
  pin: undefined,
  secondFactor: 'sms',
  requirePin: false,
  pinTicket: true,
  passwordExpired: false,
  appKeyErrorStatus: 403,
  codeLength: 6,
  wrongCodeBurnsInterim: true,
  interimTtlMs: 10 * 60_000,
  tokenTtlMs: 24 * 60 * 60_000,
  delayMs: 0,
  onCodeSent: () => undefined,
  now: Date.now,
} as const satisfies Required<Omit<EtnaServerOptions, 'pin'>> & Pick<EtnaServerOptions, 'pin'>;

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

interface Interim {
  readonly code: string;
  readonly expiresAtMs: number;
  spent: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const APP_KEY_ERROR = { error: 'Application key is not defined or does not exist' };
const CORRUPTED_TICKET = { State: 'Failed', Step: 'VerificationCode', Reason: 'Corrupted ticket' };
const INVALID_CODE = { State: 'Failed', Step: 'VerificationCode', Reason: 'Invalid verification code' };
const DENIED = { Message: 'Authorization has been denied for this request.' };

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
  public readonly sentCodes: string[] = [];
  /** Every interim token minted, in order. */
  public readonly issuedInterims: string[] = [];
  /** Every final token minted, in order. */
  public readonly issuedTokens: string[] = [];

  readonly #server: ReturnType<typeof createServer>;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #failures: EtnaFailMode[] = [];
  readonly #interims = new Map<string, Interim>();
  readonly #pinTickets = new Map<string, number>();
  readonly #tokens = new Map<string, number>();
  readonly #onCodeSent: (code: string) => void;
  readonly #now: () => number;
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
    this.#onCodeSent = onCodeSent;
    this.#now = now;
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
    this.#tokens.delete(token);
  }

  /** Whether a final token would pass the token check now. */
  public isTokenValid(token: string): boolean {
    const expiresAtMs = this.#tokens.get(token);
    return expiresAtMs !== undefined && expiresAtMs > this.#now();
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
    switch (request.call) {
      case 'step1':
        this.counts.step1Calls += 1;
        break;
      case 'pin':
        this.counts.pinCalls += 1;
        break;
      case 'step2':
        this.counts.step2Calls += 1;
        this.codesSubmitted.push(header(request.headers, 'verificationcode') ?? '');
        break;
      case 'validate':
        this.counts.validateCalls += 1;
        break;
      case 'logout':
        this.counts.logoutCalls += 1;
        break;
      case 'other':
        break;
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
    const { headers } = request;
    switch (request.call) {
      case 'step1':
      case 'pin':
      case 'step2': {
        if (header(headers, 'et-app-key') !== this.settings.appKey) {
          sendJson(res, this.settings.appKeyErrorStatus, APP_KEY_ERROR);
          return;
        }
        if (
          header(headers, 'username') !== this.settings.username ||
          header(headers, 'password') !== this.settings.password
        ) {
          sendJson(res, 401, { State: 'Failed', Step: 'BaseAuthentication', Reason: 'Invalid credentials' });
          return;
        }
        if (this.settings.passwordExpired) {
          sendJson(res, 401, {
            State: 'Failed',
            Step: 'BaseAuthentication',
            Reason: 'Your Password has expired and must be changed',
          });
          return;
        }
        if (request.call === 'step2') this.#step2(headers, res);
        else this.#step1(headers, res);
        return;
      }
      case 'validate': {
        if (header(headers, 'et-app-key') !== this.settings.appKey) {
          sendJson(res, this.settings.appKeyErrorStatus, APP_KEY_ERROR);
          return;
        }
        const token = bearer(headers);
        if (token === undefined || !this.isTokenValid(token)) {
          sendJson(res, 401, DENIED);
          return;
        }
        sendJson(res, 200, {
          UserId: 1,
          FirstName: 'Sandbox',
          LastName: 'Trader',
          Login: this.settings.username,
          Email: 'sandbox@example.invalid',
        });
        return;
      }
      case 'logout': {
        const token = bearer(headers);
        if (token !== undefined) this.#tokens.delete(token);
        sendJson(res, 200, {});
        return;
      }
      case 'other':
        sendJson(res, 404, { Message: 'No HTTP resource was found that matches the request URI.' });
        return;
    }
  }

  /** Step 1, or its PIN answer: the PIN first when required, then the code or the token. */
  #step1(headers: IncomingHttpHeaders, res: ServerResponse): void {
    if (this.settings.requirePin) {
      const pin = header(headers, 'pincode');
      if (pin === undefined) {
        const body: Record<string, string> = {
          State: 'Expecting',
          Step: 'SecutityPin',
          Reason: 'Expecting security pin',
        };
        if (this.settings.pinTicket) {
          const ticket = randomToken('pin');
          this.#pinTickets.set(ticket, this.#now() + this.settings.interimTtlMs);
          body['Token'] = ticket;
        }
        sendJson(res, 202, body);
        return;
      }
      if (this.settings.pinTicket) {
        const ticket = bearer(headers);
        const expiresAtMs = ticket === undefined ? undefined : this.#pinTickets.get(ticket);
        if (ticket !== undefined) this.#pinTickets.delete(ticket);
        if (expiresAtMs === undefined || expiresAtMs <= this.#now()) {
          sendJson(res, 401, { State: 'Failed', Step: 'SecutityPin', Reason: 'Corrupted ticket' });
          return;
        }
      }
      if (pin !== this.settings.pin) {
        sendJson(res, 401, { State: 'Failed', Step: 'SecutityPin', Reason: 'Invalid pin' });
        return;
      }
    }
    if (this.settings.secondFactor === 'none') {
      sendJson(res, 200, { State: 'Succeeded', Token: this.#mintToken() });
      return;
    }
    const interim = randomToken('interim');
    const code = String(randomInt(0, 10 ** this.settings.codeLength)).padStart(this.settings.codeLength, '0');
    this.#interims.set(interim, {
      code,
      expiresAtMs: this.#now() + this.settings.interimTtlMs,
      spent: false,
    });
    this.issuedInterims.push(interim);
    this.sentCodes.push(code);
    this.#onCodeSent(code);
    this.events.emit('code', code);
    sendJson(res, 202, {
      Step: 'VerificationCode',
      Reason: 'Expecting confirmation code',
      State: 'Expecting',
      Token: interim,
    });
  }

  #step2(headers: IncomingHttpHeaders, res: ServerResponse): void {
    const token = bearer(headers);
    const interim = token === undefined ? undefined : this.#interims.get(token);
    if (interim === undefined || interim.spent || interim.expiresAtMs <= this.#now()) {
      sendJson(res, 401, CORRUPTED_TICKET);
      return;
    }
    if (header(headers, 'verificationcode') !== interim.code) {
      if (this.settings.wrongCodeBurnsInterim) interim.spent = true;
      sendJson(res, 401, INVALID_CODE);
      return;
    }
    interim.spent = true;
    sendJson(res, 200, { State: 'Succeeded', Token: this.#mintToken() });
  }

  #mintToken(): string {
    const token = randomToken('final');
    this.#tokens.set(token, this.#now() + this.settings.tokenTtlMs);
    this.issuedTokens.push(token);
    return token;
  }
}

/**
 * Starts a fake ETNA broker and resolves once it listens.
 *
 * @throws TypeError when `requirePin` is on without a `pin`, or `codeLength` is not from 1 to 12.
 */
export async function startEtnaServer(options: EtnaServerOptions = {}): Promise<EtnaServer> {
  const merged = { ...DEFAULTS, ...options };
  const settings: EtnaServerSettings = {
    appKey: reveal(merged.appKey),
    username: merged.username,
    password: reveal(merged.password),
    pin: merged.pin === undefined ? undefined : reveal(merged.pin),
    secondFactor: merged.secondFactor,
    requirePin: merged.requirePin,
    pinTicket: merged.pinTicket,
    passwordExpired: merged.passwordExpired,
    appKeyErrorStatus: merged.appKeyErrorStatus,
    codeLength: merged.codeLength,
    wrongCodeBurnsInterim: merged.wrongCodeBurnsInterim,
    interimTtlMs: merged.interimTtlMs,
    tokenTtlMs: merged.tokenTtlMs,
    delayMs: merged.delayMs,
  };
  if (settings.requirePin && settings.pin === undefined) {
    throw new TypeError('startEtnaServer: requirePin needs a pin');
  }
  if (!Number.isSafeInteger(settings.codeLength) || settings.codeLength < 1 || settings.codeLength > 12) {
    throw new TypeError(
      `startEtnaServer: codeLength must be a whole number from 1 to 12, got ${settings.codeLength}`,
    );
  }
  const server = createServer();
  server.listen(merged.port, merged.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = merged.host.includes(':') ? `[${merged.host}]` : merged.host;
  return new EtnaServer(
    server,
    new URL(`http://${host}:${port}/api/`),
    settings,
    merged.onCodeSent,
    merged.now,
  );
}

function reveal(value: string | Secret): string {
  return typeof value === 'string' ? value : value.reveal();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer (\S+)$/.exec(header(headers, 'authorization') ?? '');
  return match?.[1];
}

/** A long random token, so tests can search logs for it without false hits. */
function randomToken(kind: string): string {
  return `${kind}-${randomBytes(32).toString('base64url')}`;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), JSON_TYPE);
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
