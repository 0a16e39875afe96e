import type { Dispatcher } from 'undici';
import { undici } from './undici.js';
import type { Logger } from '../shared/log.js';
import type { Secret } from '../shared/secret.js';
import { BrokerError, type BrokerErrorKind, type BrokerStep } from '../domain/broker-errors.js';
import {
  interpretTokenAnswer,
  interpretValidateAnswer,
  type RawAnswer,
  type TokenAnswer,
} from './parse-answer.js';
import { assertHeaderSafe, sendOnce } from './etna-http.js';
import type { Broker, StartLoginResult, SubmitCodeResult, TokenValidity } from '../relay/ports/broker.js';

/** Options of {@link EtnaBroker}. */
export interface EtnaBrokerOptions {
  /**
   * The broker's base URL, e.g. `https://pub-api-et-demo-prod.etnasoft.us/api/`. `token` and
   * `v1.0/users/@me/info` are resolved under it (a missing trailing `/` is added).
   */
  apiUrl: URL;
  appKey: Secret;
  username: string;
  password: Secret;
  /** The account's security PIN, sent only when the broker asks for it (`SecutityPin`). */
  pin?: Secret | undefined;
  /** Longest wait for one HTTP call (connect, headers and body), in milliseconds. Default 15000. */
  requestTimeoutMs?: number;
  /**
   * The undici dispatcher to send through. When omitted the broker makes its own `Agent`, which
   * {@link EtnaBroker.close} closes; a dispatcher passed in is never closed here.
   */
  dispatcher?: Dispatcher;
  /** Gets one `debug` line per HTTP call (step, call, status, duration, outcome; never a header or body). Silent when omitted. */
  logger?: Logger;
}

type TunableOptions = Required<Pick<EtnaBrokerOptions, 'requestTimeoutMs'>>;

const DEFAULTS = {
  requestTimeoutMs: 15_000,
} as const satisfies TunableOptions;

/** Which HTTP call, for the log: a PIN answer belongs to a step but is its own request. */
type CallName = 'step1' | 'pin' | 'step2' | 'validate';

/**
 * The ETNA Trader login over HTTP (undici): step 1, step 2, the PIN answer, and the token check.
 *
 * Never retries anything: a second factor must reach the broker at most once per code, and a retry
 * loop on login failures can lock the account. Retries, if any, belong to the caller.
 */
export class EtnaBroker implements Broker {
  readonly #tokenUrl: URL;
  readonly #infoUrl: URL;
  readonly #appKey: Secret;
  readonly #username: string;
  readonly #password: Secret;
  readonly #pin: Secret | undefined;
  readonly #requestTimeoutMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #logger: Logger | undefined;

  /**
   * @throws TypeError when a credential cannot be sent as an HTTP header (CR, LF, non-ASCII), or the
   * time-out is not a positive number. The message names the option, never its value.
   */
  public constructor(options: EtnaBrokerOptions) {
    const { requestTimeoutMs } = { ...DEFAULTS, ...options };
    if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
      throw new TypeError('EtnaBroker: requestTimeoutMs must be a positive number of milliseconds');
    }
    assertHeaderSafe('appKey', options.appKey.reveal());
    assertHeaderSafe('username', options.username);
    assertHeaderSafe('password', options.password.reveal());
    if (options.pin) assertHeaderSafe('pin', options.pin.reveal());

    const base = new URL(options.apiUrl);
    // `new URL('token', 'https://x/api')` would drop `api`: a base is a folder.
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#tokenUrl = new URL('token', base);
    this.#infoUrl = new URL('v1.0/users/@me/info', base);
    this.#appKey = options.appKey;
    this.#username = options.username;
    this.#password = options.password;
    this.#pin = options.pin;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#logger = options.logger;
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      this.#dispatcher = new undici.Agent({
        connect: { timeout: requestTimeoutMs },
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
      this.#ownsDispatcher = true;
    }
  }

  /**
   * Step 1: credentials only. Sends the configured PIN, once, if the broker asks for one.
   *
   * @throws BrokerError for every failure (`pin-required` when a PIN is asked and none is configured,
   * `bad-pin` when the PIN is refused or asked for again); the caller's abort reason when `signal`
   * aborts.
   */
  public async startLogin(signal?: AbortSignal): Promise<StartLoginResult> {
    const step: BrokerStep = 'start-login';
    const first = await this.#post(step, 'step1', this.#baseHeaders(), signal);
    if (first.kind !== 'pin-expected') return this.#toStartResult(step, 'step1', first);
    if (!this.#pin) return this.#fail(step, 'step1', 'pin-required', first);
    this.#log(step, 'step1', first.status, first.durationMs, 'pin-expected');

    const pinHeaders = this.#pinHeaders(first.ticket);
    const second = await this.#post(step, 'pin', pinHeaders, signal);
    // Asked for the PIN again right after getting it: sending it again could lock the account.
    if (second.kind === 'pin-expected') return this.#fail(step, 'pin', 'bad-pin', second);
    return this.#toStartResult(step, 'pin', second);
  }

  /**
   * Step 2: the interim token and the code, sent exactly once. Should the broker then ask for the PIN,
   * the PIN answer carries no code.
   *
   * @throws BrokerError for every failure other than a refused code; after `timeout` or `network` the
   * code may or may not have reached the broker, so it must not be sent again. The caller's abort
   * reason when `signal` aborts.
   * @throws TypeError when the code or the interim token cannot be sent as a header (nothing is sent).
   */
  public async submitCode(interim: Secret, code: Secret, signal?: AbortSignal): Promise<SubmitCodeResult> {
    const step: BrokerStep = 'submit-code';
    assertHeaderSafe('code', code.reveal());
    assertHeaderSafe('interim', interim.reveal());
    const headers = {
      ...this.#baseHeaders(),
      Authorization: `Bearer ${interim.reveal()}`,
      VerificationCode: code.reveal(),
    };
    const answer = await this.#post(step, 'step2', headers, signal);
    if (answer.kind !== 'pin-expected') return this.#toSubmitResult(step, 'step2', answer);
    if (!this.#pin) return this.#fail(step, 'step2', 'pin-required', answer);
    this.#log(step, 'step2', answer.status, answer.durationMs, 'pin-expected');

    // Without a ticket of its own, the PIN answer can only refer to the login by its interim token.
    const pinAnswer = await this.#post(step, 'pin', this.#pinHeaders(answer.ticket ?? interim), signal);
    if (pinAnswer.kind === 'pin-expected') return this.#fail(step, 'pin', 'bad-pin', pinAnswer);
    return this.#toSubmitResult(step, 'pin', pinAnswer);
  }

  /**
   * Checks a token with `GET v1.0/users/@me/info`.
   *
   * @returns `valid` on 200, `invalid` on the broker's 401.
   * @throws BrokerError on 5xx, 429, network errors, time-outs, a wrong app key or an answer it does not
   * understand: none of those says the token is dead.
   */
  public async validate(token: Secret, signal?: AbortSignal): Promise<TokenValidity> {
    const step: BrokerStep = 'validate';
    assertHeaderSafe('token', token.reveal());
    const headers = {
      Accept: 'application/json',
      'Et-App-Key': this.#appKey.reveal(),
      Authorization: `Bearer ${token.reveal()}`,
    };
    const raw = await this.#send(step, 'validate', 'GET', this.#infoUrl, headers, signal);
    const answer = interpretValidateAnswer(raw.answer);
    if (answer.kind === 'error') {
      return this.#fail(step, 'validate', answer.error, {
        status: raw.answer.status,
        durationMs: raw.durationMs,
        retryAfterMs: answer.retryAfterMs,
      });
    }
    this.#log(step, 'validate', raw.answer.status, raw.durationMs, answer.kind);
    return answer.kind;
  }

  /** Closes the agent this broker made (waiting for calls in flight); a dispatcher passed in stays open. */
  public async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  #baseHeaders(): Record<string, string> {
    return {
      Accept: 'application/json',
      'Et-App-Key': this.#appKey.reveal(),
      Username: this.#username,
      Password: this.#password.reveal(),
    };
  }

  /** Step-1 headers plus `PinCode`, and the ticket as Bearer when there is one. */
  #pinHeaders(ticket: Secret | undefined): Record<string, string> {
    if (ticket) assertHeaderSafe('interim', ticket.reveal());
    return {
      ...this.#baseHeaders(),
      ...(ticket ? { Authorization: `Bearer ${ticket.reveal()}` } : {}),
      PinCode: this.#pin?.reveal() ?? '',
    };
  }

  #toStartResult(step: BrokerStep, call: CallName, answer: TimedTokenAnswer): StartLoginResult {
    switch (answer.kind) {
      case 'succeeded':
        return this.#token(step, call, answer);
      case 'code-expected':
        this.#log(step, call, answer.status, answer.durationMs, 'code-required');
        return { kind: 'code-required', interim: answer.interim };
      case 'error':
        return this.#fail(step, call, refusedAtStart(answer.error, answer.status), answer);
      case 'pin-expected':
      case 'code-failed':
        // A refused code before any code was sent: not an answer this step can have.
        return this.#fail(step, call, refusedAtStart('unexpected-answer', answer.status), answer);
    }
  }

  #toSubmitResult(step: BrokerStep, call: CallName, answer: TimedTokenAnswer): SubmitCodeResult {
    switch (answer.kind) {
      case 'succeeded':
        return this.#token(step, call, answer);
      case 'code-failed':
        this.#log(
          step,
          call,
          answer.status,
          answer.durationMs,
          answer.interimSpent ? 'code-rejected:spent' : 'code-rejected',
        );
        return { kind: 'code-rejected', interimSpent: answer.interimSpent };
      case 'error':
        return this.#fail(step, call, answer.error, answer);
      case 'pin-expected':
      case 'code-expected':
        // Asked for a code again after one was sent: whether that one counted is unknown, so do not
        // claim it was refused, and never send it again.
        return this.#fail(step, call, 'unexpected-answer', answer);
    }
  }

  #token(
    step: BrokerStep,
    call: CallName,
    answer: Extract<TimedTokenAnswer, { kind: 'succeeded' }>,
  ): { kind: 'token'; token: Secret } {
    this.#log(step, call, answer.status, answer.durationMs, 'token');
    return { kind: 'token', token: answer.token };
  }

  /** Logs the failure and throws it as a {@link BrokerError}. */
  #fail(
    step: BrokerStep,
    call: CallName,
    kind: BrokerErrorKind,
    info: {
      status?: number | undefined;
      durationMs: number;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    },
  ): never {
    this.#log(step, call, info.status, info.durationMs, kind);
    throw new BrokerError({
      kind,
      step,
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.retryAfterMs === undefined ? {} : { retryAfterMs: info.retryAfterMs }),
      ...(info.cause === undefined ? {} : { cause: info.cause }),
    });
  }

  async #post(
    step: BrokerStep,
    call: CallName,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<TimedTokenAnswer> {
    const raw = await this.#send(
      step,
      call,
      'POST',
      this.#tokenUrl,
      { ...headers, 'Content-Length': '0' },
      signal,
    );
    return { ...interpretTokenAnswer(raw.answer), status: raw.answer.status, durationMs: raw.durationMs };
  }

  /** One HTTP call (see {@link sendOnce}); a network failure or time-out is thrown as BrokerError. */
  async #send(
    step: BrokerStep,
    call: CallName,
    method: 'GET' | 'POST',
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<{ answer: RawAnswer; durationMs: number }> {
    const outcome = await sendOnce({
      dispatcher: this.#dispatcher,
      method,
      url,
      headers,
      timeoutMs: this.#requestTimeoutMs,
      signal,
    });
    switch (outcome.kind) {
      case 'answer':
        return outcome;
      case 'aborted':
        this.#log(step, call, undefined, outcome.durationMs, 'aborted');
        throw outcome.reason;
      case 'timeout':
      case 'network':
        return this.#fail(step, call, outcome.kind, { durationMs: outcome.durationMs, cause: outcome.cause });
    }
  }

  #log(
    step: BrokerStep,
    call: CallName,
    status: number | undefined,
    durationMs: number,
    outcome: string,
  ): void {
    this.#logger?.debug({ step, call, status, durationMs, outcome }, 'etna call');
  }
}

type TimedTokenAnswer = TokenAnswer & { readonly status: number; readonly durationMs: number };

/**
 * Step 1 (and its PIN answer) sends only the credentials and the app key, so a 401 or 403 there is
 * the broker refusing them, whatever its body says: ETNA documents some bodies, not all, and a body
 * the relay does not recognise must not turn a refusal into a retryable "unexpected answer" that an
 * operator repeats until the account locks. 403 is the documented status of a bad app key.
 */
function refusedAtStart(kind: BrokerErrorKind, status: number | undefined): BrokerErrorKind {
  if (kind !== 'unexpected-answer') return kind;
  if (status === 401) return 'bad-credentials';
  if (status === 403) return 'bad-app-key';
  return kind;
}
