import type { ButtonInteraction, ModalSubmitInteraction } from 'discord.js';
import { discord } from './discord-js.js';
import { Secret } from '../../shared/secret.js';
import { parseCode } from '../parse-code.js';
import { codeModal, CODE_FIELD_ID } from './components.js';
import { parseCustomId, type PromptCustomId } from './custom-ids.js';
import type { InteractionAnswers, InteractionContext } from './interaction-answers.js';

const STALE_BUTTON = 'This button is no longer in use.';

/** A button's custom ID, parsed: every kind but the modal's. */
type ButtonTarget = Exclude<PromptCustomId, { kind: 'modal' }>;

/**
 * The buttons and the code modal: a prompt's (code, resend, cancel), a `halt-confirm` answer's "Try
 * anyway", and the account buttons of a "which account?" question. Each press names its account
 * when its custom ID does (`account` on the input), so the operator hub hands it to that account.
 * Every press is acknowledged before it is delivered, and only by the relay whose acknowledgement
 * went through (see {@link InteractionAnswers.acknowledge}).
 */
export class Presses {
  readonly #context: InteractionContext;
  readonly #answers: InteractionAnswers;

  public constructor(context: InteractionContext, answers: InteractionAnswers) {
    this.#context = context;
    this.#answers = answers;
  }

  /** Handles one button press. Never throws. */
  public async onButton(interaction: ButtonInteraction): Promise<void> {
    const target = parseCustomId(interaction.customId);
    if (target === undefined || target.kind === 'modal') {
      await this.#answers.acknowledge(interaction, () =>
        interaction.reply({ content: STALE_BUTTON, flags: discord.MessageFlags.Ephemeral }),
      );
      return;
    }
    if (!this.#answers.allowed(interaction)) {
      await this.#answers.refuse(interaction, 'refused a button press from a non-operator', {
        action: target.kind === 'button' || target.kind === 'notice' ? target.action : target.kind,
      });
      return;
    }
    if (target.kind === 'button' && target.action === 'code') {
      await this.#openModal(interaction, target.loginId, target.account);
      return;
    }
    // Acknowledge first: Discord gives 3 seconds, and the core's answer may take longer. Only the
    // relay whose acknowledgement went through delivers the press. An update, not a reply: the
    // answers that come through `respond` replace the message that held the button, buttons
    // included, so a question is answered once on screen too.
    if (!(await this.#answers.acknowledge(interaction, () => interaction.deferUpdate()))) return;
    this.#deliver(interaction, target);
  }

  /** Delivers an acknowledged press. */
  #deliver(interaction: ButtonInteraction, target: ButtonTarget): void {
    const operatorId = interaction.user.id;
    const inputId = interaction.id;
    const { log, deliver } = this.#context;
    const account = target.account === undefined ? {} : { account: target.account };
    switch (target.kind) {
      case 'notice':
        // "Try anyway": the login command with the operator's consent, for the halt (and the
        // account) it was offered for. One press is one consent: the answer removes the button.
        log.info({ operatorId, action: target.action, haltAt: target.haltAt, ...account }, 'button pressed');
        deliver({
          kind: 'command',
          operatorId,
          command: 'login',
          force: true,
          ...(target.haltAt === undefined ? {} : { forHalt: target.haltAt }),
          ...account,
          respond: this.#answers.responder(interaction, 'login'),
          inputId,
        });
        return;
      case 'route':
        // The message ID is the operator's, not a secret; the code it held stays in the hub.
        log.info(
          { operatorId, account: target.account, codeInputId: target.inputId },
          'account chosen for a code',
        );
        deliver({
          kind: 'account-chosen',
          operatorId,
          account: target.account,
          codeInputId: target.inputId,
          respond: this.#answers.responder(interaction, 'route'),
          inputId,
        });
        return;
      case 'pick':
        log.info(
          { operatorId, command: target.command, account: target.account },
          'account chosen for a command',
        );
        deliver({
          kind: 'command',
          operatorId,
          command: target.command,
          account: target.account,
          respond: this.#answers.responder(interaction, target.command),
          inputId,
        });
        return;
      case 'button': {
        const { action, loginId } = target;
        log.info({ operatorId, loginId, action, ...account }, 'button pressed');
        deliver(
          action === 'resend'
            ? { kind: 'resend', operatorId, loginId, ...account, inputId }
            : { kind: 'cancel', operatorId, loginId, ...account, inputId },
        );
        return;
      }
    }
  }

  /** "Enter code": the modal is the acknowledgement; its submit is the input. */
  async #openModal(
    interaction: ButtonInteraction,
    loginId: string,
    account: string | undefined,
  ): Promise<void> {
    const opened = await this.#answers.acknowledge(interaction, () =>
      interaction.showModal(codeModal(loginId, this.#context.codeDigits, account)),
    );
    if (opened) {
      this.#context.log.info(
        {
          operatorId: interaction.user.id,
          loginId,
          action: 'code',
          ...(account === undefined ? {} : { account }),
        },
        'button pressed',
      );
    }
  }

  /** Handles one submit of the code modal. Never throws; never logs the code. */
  public async onModal(interaction: ModalSubmitInteraction): Promise<void> {
    const target = parseCustomId(interaction.customId);
    if (target?.kind !== 'modal') {
      await this.#answers.acknowledge(interaction, () =>
        interaction.reply({ content: STALE_BUTTON, flags: discord.MessageFlags.Ephemeral }),
      );
      return;
    }
    const operatorId = interaction.user.id;
    const { loginId } = target;
    const account = target.account === undefined ? {} : { account: target.account };
    if (!this.#answers.allowed(interaction)) {
      await this.#answers.refuse(interaction, 'refused a code modal from a non-operator', {});
      return;
    }
    const parsed = parseCode(fieldValue(interaction), this.#context.codeDigits);
    if (!parsed.ok) {
      // Answered here, not by the core: only one relay can acknowledge an interaction, so the help
      // goes out once without a claim, and nothing is delivered.
      const answered = await this.#answers.acknowledge(interaction, () =>
        interaction.reply({
          content: this.#context.render({ kind: 'help' }),
          flags: discord.MessageFlags.Ephemeral,
        }),
      );
      if (answered) {
        this.#context.log.info(
          { operatorId, loginId, reason: parsed.reason },
          'a modal entry is not one code; sent help',
        );
      }
      return;
    }
    // Closes the modal without a message of its own: the core answers by updating the prompt.
    const acknowledged = await this.#answers.acknowledge(interaction, () =>
      interaction.isFromMessage()
        ? interaction.deferUpdate()
        : interaction.reply({
            content: this.#context.render({ kind: 'code-received' }),
            flags: discord.MessageFlags.Ephemeral,
          }),
    );
    if (!acknowledged) return;
    this.#context.log.info({ operatorId, loginId, ...account, via: 'modal' }, 'code received');
    this.#context.deliver({
      kind: 'code',
      operatorId,
      code: new Secret(parsed.code),
      loginId,
      ...account,
      // When the operator submitted it: Discord's timestamp, put on the relay's clock as a DM's is.
      sentAt: this.#context.clock.toRelay(interaction.createdAt),
      inputId: interaction.id,
    });
  }
}

function fieldValue(interaction: ModalSubmitInteraction): string {
  try {
    return interaction.fields.getTextInputValue(CODE_FIELD_ID);
  } catch {
    return '';
  }
}
