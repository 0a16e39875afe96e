import type { Secret } from '../shared/secret.js';

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

/** {@link EtnaServerOptions} checked and merged over the defaults. */
export interface EtnaServerConfig {
  readonly settings: EtnaServerSettings;
  readonly host: string;
  readonly port: number;
  readonly onCodeSent: (code: string) => void;
  readonly now: () => number;
}

/**
 * {@link EtnaServerOptions} merged over the defaults, secrets revealed.
 *
 * @throws TypeError when `requirePin` is on without a `pin`, or `codeLength` is not from 1 to 12.
 */
export function readEtnaServerOptions(options: EtnaServerOptions): EtnaServerConfig {
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
  return { settings, host: merged.host, port: merged.port, onCodeSent: merged.onCodeSent, now: merged.now };
}

function reveal(value: string | Secret): string {
  return typeof value === 'string' ? value : value.reveal();
}
