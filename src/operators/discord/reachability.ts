import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import type { DmFailureReason, UnreachableOperator } from '../delivery.js';
import { describeError, discordErrorCode } from './describe-error.js';

/** A DM that failed for good, as {@link ReachabilityOptions.onDmFailure} hears of it. */
export interface DmFailure {
  readonly operatorId: string;
  readonly reason: DmFailureReason;
}

/** Options of {@link Reachability}. */
export interface ReachabilityOptions {
  /** The configured operators, in their order: lists follow it. */
  readonly operatorIds: ReadonlySet<string>;
  readonly log: Logger;
  /** Called for every DM that failed for good (a metric counts them). Must not throw. */
  readonly onDmFailure: (failure: DmFailure) => void;
  readonly now: () => Date;
}

/** Why a DM failed for good, from Discord's error. */
export function dmFailureReason(error: unknown): DmFailureReason {
  switch (discordErrorCode(error)) {
    case discord.RESTJSONErrorCodes.CannotSendMessagesToThisUser:
    case discord.RESTJSONErrorCodes.CannotSendMessagesToThisUserDueToHavingNoMutualGuilds:
      return 'dms-closed';
    case discord.RESTJSONErrorCodes.UnknownUser:
      return 'unknown-user';
    default:
      return 'failed';
  }
}

/**
 * Which operators the channel's DMs cannot reach right now: an operator is unreachable from a DM
 * (a prompt, its edit, a notice) that failed for good until one goes through. Each failure is
 * reported to `onDmFailure`; each change is logged once, by operator ID (never a text).
 */
export class Reachability {
  readonly #options: ReachabilityOptions;
  readonly #unreachable = new Map<string, UnreachableOperator>();

  public constructor(options: ReachabilityOptions) {
    this.#options = options;
  }

  /** A DM to `operatorId` went through. */
  public reached(operatorId: string): void {
    const was = this.#unreachable.get(operatorId);
    if (was === undefined) return;
    this.#unreachable.delete(operatorId);
    this.#options.log.info(
      { operatorId, unreachableSince: was.since.toISOString() },
      'operator reachable again: a DM went through',
    );
  }

  /** A DM to `operatorId` failed for good with `error`. */
  public failed(operatorId: string, error: unknown): void {
    const reason = dmFailureReason(error);
    try {
      this.#options.onDmFailure({ operatorId, reason });
    } catch (hookError) {
      this.#options.log.error({ error: describeError(hookError) }, 'the DM failure hook threw');
    }
    const was = this.#unreachable.get(operatorId);
    if (was?.reason === reason) return;
    this.#unreachable.set(operatorId, { operatorId, reason, since: was?.since ?? this.#options.now() });
    this.#options.log.warn(
      { operatorId, reason, discordCode: discordErrorCode(error) },
      reason === 'dms-closed'
        ? 'operator unreachable: Discord refuses DMs to them (DMs closed)'
        : 'operator unreachable: a DM to them failed',
    );
  }

  /** The operators the last DM could not reach, in the configured order. */
  public unreachable(): readonly UnreachableOperator[] {
    return [...this.#options.operatorIds].flatMap((id) => this.#unreachable.get(id) ?? []);
  }

  /** Changes whenever the list of unreachable operators (or a reason) does. */
  public key(): string {
    return this.unreachable()
      .map(({ operatorId, reason }) => `${operatorId}:${reason}`)
      .join(',');
  }
}
