import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  LabelBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { ACTION_LABELS, type PromptAction } from '../messages.js';
import { buttonCustomId, modalCustomId } from './custom-ids.js';

/** The custom ID of the modal's only field. */
export const CODE_FIELD_ID = 'code';

const BUTTON_STYLES = {
  code: ButtonStyle.Primary,
  resend: ButtonStyle.Secondary,
  cancel: ButtonStyle.Danger,
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
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      actions.map((action) =>
        new ButtonBuilder()
          .setCustomId(buttonCustomId(action, loginId))
          .setLabel(ACTION_LABELS[action])
          .setStyle(BUTTON_STYLES[action]),
      ),
    ),
  ];
}

/**
 * The "Enter code" modal: one short field. Its length bounds let `123456`, `123 456` and `123-456`
 * through (and a few stray spaces), so the parser, not Discord, explains what is wrong.
 */
export function codeModal(loginId: string, codeLength: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(modalCustomId(loginId))
    .setTitle('Enter the SMS code')
    .addLabelComponents(
      new LabelBuilder().setLabel('Code from the SMS').setTextInputComponent(
        new TextInputBuilder()
          .setCustomId(CODE_FIELD_ID)
          .setStyle(TextInputStyle.Short)
          .setRequired(true)
          .setMinLength(codeLength)
          .setMaxLength(codeLength * 2 + 4)
          .setPlaceholder('1234567890'.repeat(Math.ceil(codeLength / 10)).slice(0, codeLength)),
      ),
    );
}
