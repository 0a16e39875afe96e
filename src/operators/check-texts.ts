import type { DmFailureReason } from './delivery.js';
import { unreachableList, type OperatorNames } from './labels.js';

// The texts of `/check`, in Discord's Markdown: the command is the Discord channel's own (the core
// never sees it). Pure, like messages.ts.

/** What `/check` found: whom the test message reached, and whose DMs Discord refused, and why. */
export interface CheckReport {
  /** Operators who have the test message, in the configured order. */
  readonly reached: readonly string[];
  /** Operators whose test message failed (after the channel's retries), in the configured order. */
  readonly refused: readonly { readonly operatorId: string; readonly reason: DmFailureReason }[];
}

/** What a refusal means and what to do about it, for the operator who ran `/check`. */
const REFUSAL_ADVICE = {
  'dms-closed':
    'they get no login prompts until they share a server with the bot and allow its DMs there (right-click the server’s icon → Privacy Settings → Direct Messages)',
  'unknown-user': 'no Discord user has that ID: check DISCORD_OPERATOR_IDS',
  failed:
    'Discord did not take the message this time: run `/check` again in a moment (the relay’s log says why)',
} as const satisfies Record<DmFailureReason, string>;

/**
 * The test message every operator gets: who asked for it, that nothing needs doing, and what a
 * notification for it means. Its first line is what a phone's notification shows.
 */
export function renderCheckMessage(askedBy: string): string {
  return [
    `**Test message** from \`/check\`, run by ${askedBy}. Nothing to do.`,
    'If your phone showed a notification for this message, it will show the relay’s login prompts too. ' +
      'If it did not, check the notification settings of this DM and of the Discord app.',
  ].join('\n');
}

/** The answer to `/check`, for the operator who ran it. */
export function renderCheckReport(report: CheckReport, names: OperatorNames): string {
  const total = report.reached.length + report.refused.length;
  const lines = [
    `**Check done**: a test message was sent to ${total === 1 ? 'the only operator' : `each of the ${total} operators`}.`,
    report.reached.length === 0
      ? 'Nobody got it.'
      : `Got it: ${report.reached.map((id) => names(id)).join(', ')}.`,
  ];
  if (report.refused.length > 0) {
    lines.push(`Discord refused: ${unreachableList(report.refused, names)}. They did not get it.`);
    const reasons = [...new Set(report.refused.map((refusal) => refusal.reason))];
    for (const reason of reasons) lines.push(`- ${REASON_LABEL[reason]}: ${REFUSAL_ADVICE[reason]}.`);
  } else {
    lines.push('Discord refused nobody. Whoever’s phone showed it will be notified of login prompts too.');
  }
  return lines.join('\n');
}

/** The heading of each piece of advice. */
const REASON_LABEL = {
  'dms-closed': 'DMs closed',
  'unknown-user': 'No such Discord user',
  failed: 'The DM failed',
} as const satisfies Record<DmFailureReason, string>;
