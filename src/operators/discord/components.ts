import type { ActionRowBuilder, ButtonBuilder, ButtonStyle, ModalBuilder } from 'discord.js';
import { discord } from './discord-js.js';
import {
  ACTION_LABELS,
  NOTICE_ACTION_LABELS,
  accountChoices,
  noticeActions,
  type PromptAction,
} from '../messages.js';
import type { OperatorNotice } from '../../relay/ports/operators.js';
import type { CodeDigits } from '../../domain/code-digits.js';
import { exampleCode } from '../text-format.js';
import {
  buttonCustomId,
  isIdAccount,
  modalCustomId,
  noticeCustomId,
  pickCustomId,
  routeCustomId,
} from './custom-ids.js';

/** The custom ID of the modal's only field. */
export const CODE_FIELD_ID = 'code';

/** Discord puts at most this many buttons in one row (and at most 5 rows under a message). */
const BUTTONS_PER_ROW = 5;

const BUTTON_STYLES = {
  code: discord.ButtonStyle.Primary,
  resend: discord.ButtonStyle.Secondary,
  cancel: discord.ButtonStyle.Danger,
} as const satisfies Record<PromptAction, ButtonStyle>;

/**
 * The prompt's buttons: only the live `actions`, in their order. Dead buttons are removed rather
 * than greyed out, so a phone screen shows only what can be done now; no action, no row. Each names
 * the prompt's `account` (so a press goes to that account's login), unless no custom ID can carry
 * it: a one-account relay's `RELAY_ACCOUNT` may be any name, and needs none.
 */
export function promptComponents(
  loginId: string,
  actions: readonly PromptAction[],
  account?: string,
): ActionRowBuilder<ButtonBuilder>[] {
  if (actions.length === 0) return [];
  const named = carried(account);
  return [
    new discord.ActionRowBuilder<ButtonBuilder>().addComponents(
      actions.map((action) =>
        new discord.ButtonBuilder()
          .setCustomId(buttonCustomId(action, loginId, named))
          .setLabel(ACTION_LABELS[action])
          .setStyle(BUTTON_STYLES[action]),
      ),
    ),
  ];
}

/**
 * A notice's buttons: the "Try anyway" of a `halt-confirm` answer (naming the halt it is offered for,
 * and the account when the answer names one), or one button per account under a "which account?"
 * question, labelled with the account's name; none, and so no row, for every other notice: an
 * answer edited into one without actions loses the buttons.
 */
export function noticeComponents(notice: OperatorNotice): ActionRowBuilder<ButtonBuilder>[] {
  if (notice.kind === 'choose-account') return accountButtons(notice);
  const actions = noticeActions(notice);
  if (actions.length === 0) return [];
  const haltAt = notice.kind === 'login-request' ? notice.haltAt : undefined;
  const account = carried(notice.kind === 'login-request' ? notice.account : undefined);
  return [
    new discord.ActionRowBuilder<ButtonBuilder>().addComponents(
      actions.map((action) =>
        new discord.ButtonBuilder()
          .setCustomId(noticeCustomId(action, haltAt, account))
          .setLabel(NOTICE_ACTION_LABELS[action])
          // Red: it retries credentials the broker refused.
          .setStyle(discord.ButtonStyle.Danger),
      ),
    ),
  ];
}

/**
 * One button per account offered ({@link accountChoices}: at most 25, in rows of 5): for a code, it
 * routes the operator's message's code (`otp:route:<account>:<message>`); for a command, it picks
 * the command's account (`otp:pick:<command>:<account>`). An account no custom ID can carry (a name
 * not of `RELAY_ACCOUNTS`, or a message ID too long for Discord's 100 characters) gets no button
 * rather than failing the whole notice: its text still says what to do.
 */
function accountButtons(
  notice: Extract<OperatorNotice, { kind: 'choose-account' }>,
): ActionRowBuilder<ButtonBuilder>[] {
  const { question } = notice;
  const customIdOf = (account: string): string | undefined => {
    try {
      return question.kind === 'code'
        ? routeCustomId(account, question.inputId)
        : pickCustomId(question.command, account);
    } catch (error) {
      if (error instanceof RangeError) return undefined;
      throw error;
    }
  };
  const buttons = accountChoices(notice).flatMap((account) => {
    const customId = customIdOf(account);
    return customId === undefined
      ? []
      : [
          new discord.ButtonBuilder()
            .setCustomId(customId)
            .setLabel(account)
            .setStyle(discord.ButtonStyle.Primary),
        ];
  });
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let start = 0; start < buttons.length; start += BUTTONS_PER_ROW) {
    rows.push(
      new discord.ActionRowBuilder<ButtonBuilder>().addComponents(
        buttons.slice(start, start + BUTTONS_PER_ROW),
      ),
    );
  }
  return rows;
}

/** `account` when a custom ID can carry it, else nothing. */
function carried(account: string | undefined): string | undefined {
  return account !== undefined && isIdAccount(account) ? account : undefined;
}

/**
 * The "Enter code" modal: one short field. Its length bounds follow `CODE_DIGITS` and let the code
 * through cut into groups (`1234 5678`, and a few stray spaces), so the parser, not Discord,
 * explains what is wrong. Its custom ID names the prompt's account as the button did.
 */
export function codeModal(loginId: string, codeDigits: CodeDigits, account?: string): ModalBuilder {
  return new discord.ModalBuilder()
    .setCustomId(modalCustomId(loginId, carried(account)))
    .setTitle('Enter the SMS code')
    .addLabelComponents(
      new discord.LabelBuilder().setLabel('Code from the SMS').setTextInputComponent(
        new discord.TextInputBuilder()
          .setCustomId(CODE_FIELD_ID)
          .setStyle(discord.TextInputStyle.Short)
          .setRequired(true)
          .setMinLength(codeDigits.minDigits)
          .setMaxLength(codeDigits.maxDigits * 2 + 4)
          .setPlaceholder(exampleCode(codeDigits)),
      ),
    );
}
