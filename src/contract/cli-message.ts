import { parseJsonObject } from './json-object.js';

/**
 * The messages of `otp-relay code` (docs/contract.md#running), on the channels of `cliChannels`
 * (keys.ts): the CLI publishes one {@link CliCodeMessage} on `P:cli:A`, and the relay answers on
 * `P:cli-replies:A:<inputId>` with {@link CliReply}s. Both ends are this repository's: the relay's
 * own channels, on the relay's Redis user, never the bots'.
 */

/** A code the CLI enters for the login that waits, as an operator's DM would. */
export interface CliCodeMessage {
  readonly type: 'code';
  /** `cli-` and random hex: the input's ID for the relays' claim, and the name of its reply channel. */
  readonly inputId: string;
  /** The code as given to the CLI (which checked it already); the relay parses it again. A secret. */
  readonly code: string;
  /** When the CLI sent it (ISO 8601, the CLI's clock). */
  readonly sentAt: string;
  /** The OS user who ran the CLI: the audit trail and the prompts name them. */
  readonly user: string;
}

/** `cli-` and 16 to 64 lower-case hex digits: safe in a channel name, unguessable. */
export const CLI_INPUT_ID_PATTERN = /^cli-[0-9a-f]{16,64}$/;
/** An OS user name as the CLI sends it: what a key or a log field can hold without escaping. */
export const CLI_USER_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Longer messages are not parsed: a code message is about 150 bytes. */
export const MAX_CLI_MESSAGE_LENGTH = 1024;
/** A code's text longer than this is not a code (12 digits and their separators at most). */
const MAX_CODE_TEXT_LENGTH = 64;
/** Exactly what `Date.prototype.toISOString` writes. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The JSON of one code message: only its own fields, in order. */
export function serializeCliCode(message: CliCodeMessage): string {
  const { type, inputId, code, sentAt, user } = message;
  return JSON.stringify({ type, inputId, code, sentAt, user });
}

/** What {@link parseCliCode} read. */
export type CliCodeParseResult =
  { readonly ok: true; readonly message: CliCodeMessage } | { readonly ok: false; readonly error: string };

/**
 * Reads one message of `P:cli:A`. Never throws, and its reasons never quote the message: it holds a
 * code. Other fields are ignored.
 */
export function parseCliCode(text: string): CliCodeParseResult {
  const parsed = parseJsonObject(text, MAX_CLI_MESSAGE_LENGTH);
  if (!parsed.ok) return parsed;
  const { type, inputId, code, sentAt, user } = parsed.value;
  if (type !== 'code') return { ok: false, error: 'unknown type' };
  if (typeof inputId !== 'string' || !CLI_INPUT_ID_PATTERN.test(inputId)) {
    return { ok: false, error: 'inputId is not cli- and hex' };
  }
  if (typeof code !== 'string' || code.length > MAX_CODE_TEXT_LENGTH) {
    return { ok: false, error: 'code is not a short string' };
  }
  if (typeof sentAt !== 'string' || !ISO_8601.test(sentAt) || Number.isNaN(Date.parse(sentAt))) {
    return { ok: false, error: 'sentAt is not an ISO 8601 time' };
  }
  if (typeof user !== 'string' || !CLI_USER_PATTERN.test(user)) {
    return { ok: false, error: 'user is not a plain user name' };
  }
  return { ok: true, message: { type, inputId, code, sentAt, user } };
}

/** What the OS gives as a user name, made fit for {@link CLI_USER_PATTERN}. */
export function cliUserName(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return clean === '' ? 'unknown' : clean;
}

/**
 * The operator ID of one CLI run, in the relay's inputs, notices, logs and audit trail:
 * `cli:<user>:<inputId>`. One ID per run, so that each answer goes to the run it is for.
 */
export function cliOperatorId(user: string, inputId: string): string {
  return `cli:${user}:${inputId}`;
}

/** The user and input of a {@link cliOperatorId}, or `undefined` for any other operator ID. */
export function parseCliOperatorId(
  operatorId: string,
): { readonly user: string; readonly inputId: string } | undefined {
  const match = /^cli:([^:]+):([^:]+)$/.exec(operatorId);
  if (match === null) return undefined;
  const [, user = '', inputId = ''] = match;
  return CLI_USER_PATTERN.test(user) && CLI_INPUT_ID_PATTERN.test(inputId) ? { user, inputId } : undefined;
}

/** An answer of the relay to one CLI input. */
export interface CliReply {
  /**
   * `received` (a relay has the message), `checking` (the code is at the broker), or the kind of
   * the operator notice the text renders (`logged-in`, `code-rejected`, …).
   */
  readonly kind: string;
  /** Plain text, no Discord markdown, never a code or a token. */
  readonly text: string;
}

/** Longer replies are not parsed: the longest notice is a few hundred characters. */
export const MAX_CLI_REPLY_LENGTH = 8192;

export function serializeCliReply(reply: CliReply): string {
  return JSON.stringify({ kind: reply.kind, text: reply.text });
}

/** Reads one reply; `undefined` for anything that is not one. Never throws. */
export function parseCliReply(text: string): CliReply | undefined {
  const parsed = parseJsonObject(text, MAX_CLI_REPLY_LENGTH);
  if (!parsed.ok) return undefined;
  const { kind, text: body } = parsed.value;
  if (typeof kind !== 'string' || !/^[a-z-]{1,40}$/.test(kind) || typeof body !== 'string') return undefined;
  return { kind, text: body };
}

/** Replies on the way to an outcome: the CLI prints them and waits on. */
export const CLI_PROGRESS_KINDS = ['received', 'checking', 'code-taken-after-all'] as const;
/** The one reply that means the code was taken and the login succeeded. */
export const CLI_SUCCESS_KIND = 'logged-in';
/** Replies that end the CLI's wait without a token: the code was refused, or never sent. */
export const CLI_REFUSAL_KINDS = [
  'code-rejected',
  'stale-code',
  'no-pending-login',
  'busy',
  'prompt-inactive',
  'no-attempts-left',
  'code-already-tried',
  'login-failed',
  'input-not-taken',
  'config-mismatch',
  'restarting',
  'help',
] as const;

/** What a reply of `kind` means for the CLI; a kind it does not know is printed and waited past. */
export function cliReplyOutcome(kind: string): 'progress' | 'success' | 'refused' | 'unknown' {
  if (kind === CLI_SUCCESS_KIND) return 'success';
  if ((CLI_REFUSAL_KINDS as readonly string[]).includes(kind)) return 'refused';
  if ((CLI_PROGRESS_KINDS as readonly string[]).includes(kind)) return 'progress';
  return 'unknown';
}
