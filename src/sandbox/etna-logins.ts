import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EtnaServerSettings } from './etna-settings.js';

/** An answer of the fake broker: a status and a JSON body. */
export interface EtnaAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface Interim {
  readonly code: string;
  readonly expiresAtMs: number;
  spent: boolean;
}

const APP_KEY_ERROR = { error: 'Application key is not defined or does not exist' };
const CORRUPTED_TICKET = { State: 'Failed', Step: 'VerificationCode', Reason: 'Corrupted ticket' };
const INVALID_CODE = { State: 'Failed', Step: 'VerificationCode', Reason: 'Invalid verification code' };
const DENIED = { Message: 'Authorization has been denied for this request.' };

/**
 * What the fake broker knows and how it answers the calls that need it: the two-step login (with
 * the security PIN), the token check and logout. It mints interim tokens, codes, PIN tickets and
 * final tokens, and records every one it minted, in order. No HTTP here: the server routes
 * requests to it and sends its answers.
 */
export class EtnaLogins {
  /** Every code "sent" by step 1, in order. */
  public readonly sentCodes: string[] = [];
  /** Every interim token minted, in order. */
  public readonly issuedInterims: string[] = [];
  /** Every final token minted, in order. */
  public readonly issuedTokens: string[] = [];

  readonly #settings: EtnaServerSettings;
  readonly #now: () => number;
  readonly #onCodeSent: (code: string) => void;
  readonly #interims = new Map<string, Interim>();
  readonly #pinTickets = new Map<string, number>();
  readonly #tokens = new Map<string, number>();

  /**
   * @param settings Live: read on every call.
   * @param onCodeSent The "SMS": called with every code minted, once it is recorded.
   */
  public constructor(settings: EtnaServerSettings, now: () => number, onCodeSent: (code: string) => void) {
    this.#settings = settings;
    this.#now = now;
    this.#onCodeSent = onCodeSent;
  }

  /** `POST token`: step 1, its PIN answer, or step 2 (the code), after the app key and credentials. */
  public login(step: 'step1' | 'pin' | 'step2', headers: IncomingHttpHeaders): EtnaAnswer {
    const refused = this.#refuseAppKey(headers);
    if (refused !== undefined) return refused;
    if (
      header(headers, 'username') !== this.#settings.username ||
      header(headers, 'password') !== this.#settings.password
    ) {
      return failed(401, 'BaseAuthentication', 'Invalid credentials');
    }
    if (this.#settings.passwordExpired) {
      return failed(401, 'BaseAuthentication', 'Your Password has expired and must be changed');
    }
    return step === 'step2' ? this.#step2(headers) : this.#step1(headers);
  }

  /** `GET v1.0/users/@me/info`: the token check. */
  public validate(headers: IncomingHttpHeaders): EtnaAnswer {
    const refused = this.#refuseAppKey(headers);
    if (refused !== undefined) return refused;
    const token = bearer(headers);
    if (token === undefined || !this.isTokenValid(token)) return { status: 401, body: DENIED };
    return {
      status: 200,
      body: {
        UserId: 1,
        FirstName: 'Sandbox',
        LastName: 'Trader',
        Login: this.#settings.username,
        Email: 'sandbox@example.invalid',
      },
    };
  }

  /** `POST logout`: the bearer token stops working. */
  public logout(headers: IncomingHttpHeaders): EtnaAnswer {
    const token = bearer(headers);
    if (token !== undefined) this.#tokens.delete(token);
    return { status: 200, body: {} };
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

  #refuseAppKey(headers: IncomingHttpHeaders): EtnaAnswer | undefined {
    if (header(headers, 'et-app-key') === this.#settings.appKey) return undefined;
    return { status: this.#settings.appKeyErrorStatus, body: APP_KEY_ERROR };
  }

  /** Step 1, or its PIN answer: the PIN first when required, then the code or the token. */
  #step1(headers: IncomingHttpHeaders): EtnaAnswer {
    if (this.#settings.requirePin) {
      const refused = this.#checkPin(headers);
      if (refused !== undefined) return refused;
    }
    if (this.#settings.secondFactor === 'none') {
      return { status: 200, body: { State: 'Succeeded', Token: this.#mintToken() } };
    }
    const interim = randomToken('interim');
    const { codeLength } = this.#settings;
    const code = String(randomInt(0, 10 ** codeLength)).padStart(codeLength, '0');
    this.#interims.set(interim, {
      code,
      expiresAtMs: this.#now() + this.#settings.interimTtlMs,
      spent: false,
    });
    this.issuedInterims.push(interim);
    this.sentCodes.push(code);
    this.#onCodeSent(code);
    return {
      status: 202,
      body: {
        Step: 'VerificationCode',
        Reason: 'Expecting confirmation code',
        State: 'Expecting',
        Token: interim,
      },
    };
  }

  /** The PIN step: asks for it (with a ticket), or checks it; `undefined` once it is right. */
  #checkPin(headers: IncomingHttpHeaders): EtnaAnswer | undefined {
    const pin = header(headers, 'pincode');
    if (pin === undefined) {
      const body: Record<string, string> = {
        State: 'Expecting',
        Step: 'SecutityPin',
        Reason: 'Expecting security pin',
      };
      if (this.#settings.pinTicket) {
        const ticket = randomToken('pin');
        this.#pinTickets.set(ticket, this.#now() + this.#settings.interimTtlMs);
        body['Token'] = ticket;
      }
      return { status: 202, body };
    }
    if (this.#settings.pinTicket) {
      const ticket = bearer(headers);
      const expiresAtMs = ticket === undefined ? undefined : this.#pinTickets.get(ticket);
      if (ticket !== undefined) this.#pinTickets.delete(ticket);
      if (expiresAtMs === undefined || expiresAtMs <= this.#now()) {
        return failed(401, 'SecutityPin', 'Corrupted ticket');
      }
    }
    if (pin !== this.#settings.pin) return failed(401, 'SecutityPin', 'Invalid pin');
    return undefined;
  }

  #step2(headers: IncomingHttpHeaders): EtnaAnswer {
    const token = bearer(headers);
    const interim = token === undefined ? undefined : this.#interims.get(token);
    if (interim === undefined || interim.spent || interim.expiresAtMs <= this.#now()) {
      return { status: 401, body: CORRUPTED_TICKET };
    }
    if (header(headers, 'verificationcode') !== interim.code) {
      if (this.#settings.wrongCodeBurnsInterim) interim.spent = true;
      return { status: 401, body: INVALID_CODE };
    }
    interim.spent = true;
    return { status: 200, body: { State: 'Succeeded', Token: this.#mintToken() } };
  }

  #mintToken(): string {
    const token = randomToken('final');
    this.#tokens.set(token, this.#now() + this.#settings.tokenTtlMs);
    this.issuedTokens.push(token);
    return token;
  }
}

/** A header's value (the first, if sent more than once). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer (\S+)$/.exec(header(headers, 'authorization') ?? '');
  return match?.[1];
}

function failed(status: number, step: string, reason: string): EtnaAnswer {
  return { status, body: { State: 'Failed', Step: step, Reason: reason } };
}

/** A long random token, so tests can search logs for it without false hits. */
function randomToken(kind: string): string {
  return `${kind}-${randomBytes(32).toString('base64url')}`;
}

/** The shape of the final tokens a fake broker mints: `final-` and 32 random bytes, base64url. */
const FINAL_TOKEN = /^final-[A-Za-z0-9_-]{43}$/;

/**
 * Whether `token` has the shape of a final token a fake broker minted (any fake broker, any run):
 * a real broker's token is taken for one only by a chance not worth counting.
 */
export function isSandboxToken(token: string): boolean {
  return FINAL_TOKEN.test(token);
}
