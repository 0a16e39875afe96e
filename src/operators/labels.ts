import type { BrokerErrorKind } from '../domain/broker-errors.js';
import type { DmFailureReason, UnreachableOperator } from './delivery.js';
import type { LoginReason } from '../domain/vocabulary.js';
import { parseCliOperatorId } from '../contract/cli-message.js';

// The words that prompts, notices and `/status` share: login reasons and broker errors.

/** Turns an operator ID into what a message shows for that person (a mention, a name). */
export type OperatorNames = (operatorId: string) => string;

/**
 * How every channel's texts name someone who answered with `otp-relay code`: their OS user and
 * where they typed it. `undefined` for an operator ID that is not the CLI's.
 */
export function cliOperatorName(operatorId: string): string | undefined {
  const cli = parseCliOperatorId(operatorId);
  return cli === undefined ? undefined : `${cli.user} (command line)`;
}

/** Why a login started, as a prompt says it. */
export const REASON_TEXT = {
  startup: 'the relay just started and has no valid token',
  renewal: 'the current token expires soon',
  schedule: 'a planned login',
  'token-invalid': 'the broker no longer accepts the current token',
  'bot-request': 'a trading bot reported that the broker rejected the token',
  'operator-request': 'an operator asked for a new login',
} as const satisfies Record<LoginReason, string>;

/** A login's reason in a few words, for lists (`/status`). */
export const REASON_LABEL = {
  startup: 'at start',
  renewal: 'renewal',
  schedule: 'planned',
  'token-invalid': 'token refused',
  'bot-request': 'bot report',
  'operator-request': 'operator request',
} as const satisfies Record<LoginReason, string>;

/** What went wrong in a few words, per broker error: the status line's "last failure". */
export const ERROR_SUMMARY = {
  'bad-credentials': 'username or password refused',
  'bad-app-key': 'app key refused',
  'password-expired': 'password expired',
  'pin-required': 'security PIN required',
  'bad-pin': 'security PIN refused',
  'unexpected-answer': 'unexpected answer from the broker',
  network: 'broker unreachable',
  timeout: 'broker timed out',
  'server-error': 'broker server error',
  'rate-limited': 'broker asked to slow down',
} as const satisfies Record<BrokerErrorKind, string>;

/**
 * What went wrong and what a person should do, per broker error. Fatal kinds name the setting to fix;
 * the relay reads its configuration at start, hence the restart.
 */
export const ERROR_ADVICE = {
  'bad-credentials':
    'the broker refused the username or password. Check ETNA_USERNAME and ETNA_PASSWORD, then restart the relay',
  'bad-app-key': 'the broker refused the app key. Check ETNA_APP_KEY, then restart the relay',
  'password-expired':
    'the account password has expired. Change it at the broker, then update ETNA_PASSWORD and restart the relay',
  'pin-required': 'the account asks for a security PIN. Set ETNA_PIN, then restart the relay',
  'bad-pin': 'the broker refused the security PIN. Check ETNA_PIN, then restart the relay',
  'unexpected-answer': 'the broker gave an answer the relay does not understand (details in the relay logs)',
  network: 'the broker could not be reached (network error)',
  timeout: 'the broker did not answer in time',
  'server-error': 'the broker had a server error',
  'rate-limited': 'the broker asked the relay to slow down',
} as const satisfies Record<BrokerErrorKind, string>;

/** Why a DM could not reach an operator, in a few words. */
const DM_FAILURE_TEXT = {
  'dms-closed': 'DMs closed',
  'unknown-user': 'no such Discord user',
  failed: 'the DM failed',
} as const satisfies Record<DmFailureReason, string>;

/** Operators a DM could not reach, and why: `Bob (DMs closed), Carol (no such Discord user)`. */
export function unreachableList(
  operators: readonly Pick<UnreachableOperator, 'operatorId' | 'reason'>[],
  names: OperatorNames,
): string {
  return operators
    .map((operator) => `${names(operator.operatorId)} (${DM_FAILURE_TEXT[operator.reason]})`)
    .join(', ');
}
