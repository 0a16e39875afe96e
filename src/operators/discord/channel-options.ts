import type { Logger } from '../../shared/log.js';
import type { Secret } from '../../shared/secret.js';
import type { DiscordChannelError } from './errors.js';
import type { DmFailure } from './reachability.js';
import type { RetryOptions } from './retry.js';
import { DEFAULT_CODE_DIGITS, type CodeDigits } from '../../domain/code-digits.js';

/** Options of {@link DiscordOperatorChannel}. */
export interface DiscordOperatorChannelOptions {
  /** The bot's token (`DISCORD_TOKEN`). */
  token: Secret;
  /** Users who get prompts and whose answers count (`DISCORD_OPERATOR_IDS`). */
  operatorIds: readonly string[];
  /**
   * The accounts the relay serves (`RELAY_ACCOUNTS`): with two or more, `/status`, `/login` and
   * `/cancel` take an `account` option (a choice of these names, or typed when more than 25). With
   * one or none, the commands are registered exactly as a one-account relay's.
   */
  accounts?: readonly string[];
  /** discord.js `rest.api` (`DISCORD_API_URL`), e.g. `https://discord.com/api`. */
  apiUrl: string;
  logger: Logger;
  /** How many digits a code has (`CODE_DIGITS`); the parser's default (4 to 8) when omitted. */
  codeDigits?: CodeDigits;
  /** How many logins' prompt messages are remembered for later edits. */
  rememberedLogins?: number;
  /** How long {@link DiscordOperatorChannel.start} waits for the gateway to be ready. */
  readyTimeoutMs?: number;
  /**
   * How long {@link DiscordOperatorChannel.start} waits for the slash commands to be registered
   * before it goes on without them (they stay as Discord last had them).
   */
  registerCommandsTimeoutMs?: number;
  /**
   * How a DM (a prompt sent or edited, a notice, a command's answer) that failed for a passing
   * reason (Discord's 5xx, a timeout, the network) is tried again. discord.js waits out a 429 by
   * itself.
   */
  dmRetry?: RetryOptions;
  /**
   * Users who are not operators get at most one refusal (an interaction's ephemeral answer) and one
   * log line per this long; their other interactions are left unanswered.
   */
  strangerReplyIntervalMs?: number;
  /** How many such users are remembered for that (a bound on memory, whoever writes to the bot). */
  rememberedStrangers?: number;
  /**
   * Called once when Discord closes the gateway for good after `start` (a revoked token, disallowed
   * intents: close codes 4004 and 4010-4014): the channel will never receive anything again, and the
   * process should exit so that an orchestrator or a person sees it. Must not throw.
   */
  onFatal?: (error: DiscordChannelError) => void;
  /**
   * Called for every DM (a prompt, its edit, a notice) that failed for good, after the retries:
   * which operator, and why (`dms-closed` for Discord's 50007). For a metric; must not throw.
   */
  onDmFailure?: (failure: DmFailure) => void;
  /** The clock of "unreachable since" and of prompts' times; the system clock by default. */
  now?: () => Date;
}

/** The defaults of the optional {@link DiscordOperatorChannelOptions}. */
export const DEFAULT_OPTIONS = {
  codeDigits: DEFAULT_CODE_DIGITS,
  rememberedLogins: 16,
  readyTimeoutMs: 60_000,
  registerCommandsTimeoutMs: 15_000,
  strangerReplyIntervalMs: 60_000,
  rememberedStrangers: 1_000,
  onFatal: () => undefined,
  onDmFailure: () => undefined,
  now: () => new Date(),
} as const satisfies Required<
  Pick<
    DiscordOperatorChannelOptions,
    | 'codeDigits'
    | 'rememberedLogins'
    | 'readyTimeoutMs'
    | 'registerCommandsTimeoutMs'
    | 'strangerReplyIntervalMs'
    | 'rememberedStrangers'
    | 'onFatal'
    | 'onDmFailure'
    | 'now'
  >
>;

/**
 * Where the gateway connection stands, for readiness: `connected`; `reconnecting` (discord.js is
 * resuming or identifying again: inputs are not received meanwhile); `closed` (Discord closed it for
 * good, see `onFatal`); `disconnected` (not started, or stopped).
 */
export type DiscordConnectionState = 'connected' | 'reconnecting' | 'closed' | 'disconnected';
