import type { Logger } from '../../shared/log.js';
import type { OperatorNotice } from '../../relay/ports/operators.js';
import { noticeComponents } from './components.js';
import type { DmSender } from './dm-sender.js';
import { fitMessage } from './interaction-answers.js';

/** A Discord snowflake: only such an ID can be replied to. */
const SNOWFLAKE = /^\d{15,21}$/;

/** What {@link NoticeDms} needs of its channel. */
export interface NoticeDmsOptions {
  readonly operatorIds: ReadonlySet<string>;
  readonly dms: Pick<DmSender, 'send'>;
  readonly log: Logger;
  /** Renders a notice as the channel's DMs show it. */
  readonly render: (notice: OperatorNotice) => string;
}

/**
 * The channel's notices as DMs: the text with the notice's buttons (a "which account?" question's,
 * a "Try anyway"), to one operator or to all. A failed DM is logged, never thrown.
 */
export class NoticeDms {
  readonly #options: NoticeDmsOptions;

  public constructor(options: NoticeDmsOptions) {
    this.#options = options;
  }

  /**
   * Tells one operator something; with `replyTo`, as a Discord reply to that message of their DM.
   * A "which account is this code for?" question is a reply to the operator's message by itself
   * (its `inputId`), so the question shows the message it is about, never the code in a text of ours.
   */
  public async notify(operatorId: string, notice: OperatorNotice, replyTo?: string): Promise<void> {
    if (!this.#options.operatorIds.has(operatorId)) {
      this.#options.log.warn(
        { userId: operatorId, notice: notice.kind },
        'not sending a notice to a user who is not an operator',
      );
      return;
    }
    const target = replyTo ?? questionMessage(notice);
    const reply = target !== undefined && SNOWFLAKE.test(target) ? { replyTo: target } : {};
    await this.#options.dms.send(operatorId, { ...this.#body(notice), ...reply }, `${notice.kind} notice`);
  }

  /** Tells every operator something. */
  public async broadcast(notice: OperatorNotice): Promise<void> {
    const body = this.#body(notice);
    await Promise.all(
      [...this.#options.operatorIds].map((id) => this.#options.dms.send(id, body, `${notice.kind} notice`)),
    );
  }

  #body(notice: OperatorNotice): { content: string; components: ReturnType<typeof noticeComponents> } {
    return { content: fitMessage(this.#options.render(notice)), components: noticeComponents(notice) };
  }
}

/** The operator's message a "which account?" question about a code is about. */
function questionMessage(notice: OperatorNotice): string | undefined {
  return notice.kind === 'choose-account' && notice.question.kind === 'code'
    ? notice.question.inputId
    : undefined;
}
