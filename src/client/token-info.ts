import { inspect } from 'node:util';
import { readTokenEnvelope } from '../contract/token-envelope.js';

/** The current token of an account, as {@link TokenClient.getToken} serves it. */
export interface TokenInfo {
  /** The bearer token, without `Bearer `: send it as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** The account's name (`RELAY_ACCOUNT`). */
  readonly account: string;
  /** Grows by one with every new token of the account; pass it to `reportRejected()`. */
  readonly generation: number;
  /** When the relay obtained the token. */
  readonly obtainedAt: Date;
  /** When the token stops being served (the relay renews it before then). */
  readonly expiresAt: Date;
}

const REDACTED = '[redacted]';

/**
 * The {@link TokenInfo} the client hands out. The token lives in a `#private` field behind a getter,
 * so `JSON.stringify`, `console.log` and loggers print `[redacted]` instead: a bot that logs the
 * whole object does not leak the token. Built once per generation and shared by every caller, so
 * `getToken()` allocates nothing; treat it (and its dates) as read-only.
 */
export class ClientTokenInfo implements TokenInfo {
  readonly #token: string;
  public readonly account: string;
  public readonly generation: number;
  public readonly obtainedAt: Date;
  public readonly expiresAt: Date;

  public constructor(token: string, account: string, generation: number, obtainedAt: Date, expiresAt: Date) {
    this.#token = token;
    this.account = account;
    this.generation = generation;
    this.obtainedAt = obtainedAt;
    this.expiresAt = expiresAt;
    Object.freeze(this);
  }

  public get token(): string {
    return this.#token;
  }

  public toJSON(): Record<string, unknown> {
    return {
      token: REDACTED,
      account: this.account,
      generation: this.generation,
      obtainedAt: this.obtainedAt.toISOString(),
      expiresAt: this.expiresAt.toISOString(),
    };
  }

  public [inspect.custom](): string {
    return `TokenInfo ${inspect(this.toJSON())}`;
  }
}

/** What one read of `P:token:A` found. */
export type StoredToken =
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed'; readonly problem: string }
  | { readonly kind: 'expired'; readonly generation: number }
  | { readonly kind: 'token'; readonly info: ClientTokenInfo; readonly expiresAtMs: number };

/**
 * Reads the reply of `GET P:token:A` (see {@link readTokenEnvelope}). Never throws, and a `problem`
 * never quotes the value.
 */
export function parseStoredToken(reply: unknown, nowMs: number): StoredToken {
  if (reply === null || reply === undefined) return { kind: 'absent' };
  // A client with a type mapping may answer a bulk string as a Buffer.
  const text = Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
  if (typeof text !== 'string') return { kind: 'malformed', problem: 'not a string' };
  const read = readTokenEnvelope(text);
  if (!read.ok) return { kind: 'malformed', problem: read.problem };
  const { record, expiresAtMs } = read;
  if (!(expiresAtMs > nowMs)) return { kind: 'expired', generation: record.generation };
  const info = new ClientTokenInfo(
    record.token,
    record.account,
    record.generation,
    new Date(record.obtainedAt),
    new Date(expiresAtMs),
  );
  return { kind: 'token', info, expiresAtMs };
}
