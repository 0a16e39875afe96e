import type { Logger } from '../../shared/log.js';
import { renderCheckMessage, renderCheckReport, type CheckReport } from '../check-texts.js';
import type { OperatorNames } from '../labels.js';
import type { DmSender } from './dm-sender.js';
import { dmFailureReason } from './reachability.js';

/** What {@link runCheck} needs of its channel. */
export interface CheckContext {
  readonly operatorIds: ReadonlySet<string>;
  /** Sends each test message (retried, its outcome told to the channel's reachability). */
  readonly dms: Pick<DmSender, 'sendDm'>;
  readonly log: Logger;
  /** Display names (or mentions), escaped for Markdown. */
  readonly names: OperatorNames;
}

/**
 * `/check`, run by `askerId`: a test DM to every operator, sent as a prompt is (so an operator it
 * reaches is reachable again, and one Discord refuses is unreachable, counted and named in the next
 * prompts), then the answer for the asker: who got it, and whose DMs Discord refused and why. Needs
 * no login and no Redis. Never rejects.
 */
export async function runCheck(askerId: string, context: CheckContext): Promise<string> {
  const text = renderCheckMessage(context.names(askerId));
  const outcomes = await Promise.all(
    [...context.operatorIds].map(async (operatorId) => {
      try {
        await context.dms.sendDm(operatorId, { content: text }, '/check test message');
        return { operatorId, reached: true as const };
      } catch (error) {
        return { operatorId, reached: false as const, reason: dmFailureReason(error) };
      }
    }),
  );
  const report: CheckReport = {
    reached: outcomes.filter((outcome) => outcome.reached).map((outcome) => outcome.operatorId),
    refused: outcomes.flatMap((outcome) =>
      outcome.reached ? [] : [{ operatorId: outcome.operatorId, reason: outcome.reason }],
    ),
  };
  context.log.info(
    { operatorId: askerId, reached: report.reached, refused: report.refused },
    '/check: a test message sent to every operator',
  );
  return renderCheckReport(report, context.names);
}
