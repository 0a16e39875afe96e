/**
 * What a channel knows of its own deliveries: which operators its DMs could not reach, and whom a
 * login's prompt reached. The core never sees this (it is the channel's business); the channel
 * shows it to the other operators, in `/status`, in `/readyz` and in metrics.
 */

/**
 * Why a DM to an operator failed for good (after the channel's retries): `dms-closed` (Discord error
 * 50007, or 50278: the operator does not take DMs from the bot, e.g. their privacy setting for
 * server members is off, or they share no server with it); `unknown-user` (10013: no such Discord
 * user, a wrong ID in `DISCORD_OPERATOR_IDS`); `failed` (anything else: Discord down, the network).
 */
export type DmFailureReason = 'dms-closed' | 'unknown-user' | 'failed';

/** Every {@link DmFailureReason}: a closed list, so metric labels stay bounded. */
export const DM_FAILURE_REASONS: readonly DmFailureReason[] = ['dms-closed', 'unknown-user', 'failed'];

/** An operator the channel's last DM could not reach. */
export interface UnreachableOperator {
  readonly operatorId: string;
  readonly reason: DmFailureReason;
  /** When the DMs to this operator started failing (the first failure since the last success). */
  readonly since: Date;
}

/** Whom a login's prompt reached, as the channel last showed it. */
export interface PromptDelivery {
  readonly loginId: string;
  /** When the channel first showed this login's prompt. */
  readonly at: Date;
  /** Operators who have the prompt in their DM. */
  readonly reached: readonly string[];
  /** Operators the prompt could not reach. */
  readonly unreachable: readonly UnreachableOperator[];
}

/** What texts may say of the channel's deliveries; each part is optional (the terminal has none). */
export interface DeliveryContext {
  /** Operators the channel cannot reach right now: a prompt names them for the others. */
  readonly unreachable?: readonly UnreachableOperator[] | undefined;
  /** The last prompt this channel showed: `/status` lists whom it reached. */
  readonly lastPrompt?: PromptDelivery | undefined;
}
