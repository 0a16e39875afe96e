import type { ActionRowBuilder, ButtonBuilder, ButtonStyle, ModalBuilder } from 'discord.js';
import { discord } from './discord-js.js';
import { ACTION_LABELS, NOTICE_ACTION_LABELS, noticeActions, type PromptAction } from '../messages.js';
import type { OperatorNotice } from '../../relay/ports/operators.js';
import type { CodeDigits } from '../../domain/code-digits.js';
import { exampleCode } from '../text-format.js';
import { buttonCustomId, modalCustomId, noticeCustomId } from './custom-ids.js';

/** The custom ID of the modal's only field. */
export const CODE_FIELD_ID = 'code';

const BUTTON_STYLES = {
  code: discord.ButtonStyle.Primary,
  resend: discord.ButtonStyle.Secondary,
  cancel: discord.ButtonStyle.Danger,
} as const satisfies Record<PromptAction, ButtonStyle>;

/**
 * The prompt's buttons: only the live `actions`, in their order. Dead buttons are removed rather
 * than greyed out, so a phone screen shows only what can be done now; no action, no row.
 */
export function promptComponents(
  loginId: string,
  actions: readonly PromptAction[],
): ActionRowBuilder<ButtonBuilder>[] {
  if (actions.length === 0) return [];
  return [
    new discord.ActionRowBuilder<ButtonBuilder>().addComponents(
      actions.map((action) =>
        new discord.ButtonBuilder()
          .setCustomId(buttonCustomId(action, loginId))
          .setLabel(ACTION_LABELS[action])
          .setStyle(BUTTON_STYLES[action]),
      ),
    ),
  ];
}

/**
 * A notice's buttons (the "Try anyway" of a `halt-confirm` answer, naming the halt it is offered
 * for); none, and so no row, for every other notice: an answer edited into one without actions
 * loses the button.
 */
export function noticeComponents(notice: OperatorNotice): ActionRowBuilder<ButtonBuilder>[] {
  const actions = noticeActions(notice);
  if (actions.length === 0) return [];
  const haltAt = notice.kind === 'login-request' ? notice.haltAt : undefined;
  return [
    new discord.ActionRowBuilder<ButtonBuilder>().addComponents(
      actions.map((action) =>
        new discord.ButtonBuilder()
          .setCustomId(noticeCustomId(action, haltAt))
          .setLabel(NOTICE_ACTION_LABELS[action])
          // Red: it retries credentials the broker refused.
          .setStyle(discord.ButtonStyle.Danger),
      ),
    ),
  ];
}

/**
 * The "Enter code" modal: one short field. Its length bounds follow `CODE_DIGITS` and let the code
 * through cut into groups (`1234 5678`, and a few stray spaces), so the parser, not Discord,
 * explains what is wrong.
 */
export function codeModal(loginId: string, codeDigits: CodeDigits): ModalBuilder {
  return new discord.ModalBuilder()
    .setCustomId(modalCustomId(loginId))
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
