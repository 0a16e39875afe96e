import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  ModalSubmitInteraction,
} from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import { Secret } from '../../shared/secret.js';
import type { CodeDigits } from '../../domain/code-digits.js';
import { parseCode } from '../parse-code.js';
import type { OperatorCommand, OperatorInput, OperatorNotice } from '../../relay/ports/operators.js';
import { channelCommandOf, operatorCommandOf, type ChannelCommand } from './commands.js';
import { codeModal, CODE_FIELD_ID, noticeComponents } from './components.js';
import { parseCustomId } from './custom-ids.js';
import { runCheck } from './check.js';
import { describeError, discordErrorCode } from './describe-error.js';
import type { DmSender } from './dm-sender.js';
import type { OperatorNames } from '../labels.js';
import type { DiscordClock } from './discord-clock.js';
import type { StrangerLimit } from './stranger-limit.js';

const NOT_ALLOWED = 'Only the relay’s operators can use this, and only in a DM with the bot.';
const STALE_BUTTON = 'This button is no longer in use.';
const STALE_COMMAND = 'This command is no longer in use.';
/** Discord refuses a message longer than this. */
const MAX_MESSAGE_LENGTH = 2000;
/** Discord forgets an interaction that is not acknowledged within this. */
const INTERACTION_ACK_WINDOW_MS = 3_000;

/** What {@link DiscordInteractions} needs of its channel. */
export interface InteractionContext {
  /** Users whose interactions count (`DISCORD_OPERATOR_IDS`). */
  readonly operatorIds: ReadonlySet<string>;
  readonly log: Logger;
  readonly codeDigits: CodeDigits;
  /** Rations the refusals sent to users who are not operators. */
  readonly strangers: StrangerLimit;
  /** Renders a notice as the channel's DMs show it (names, `CODE_DIGITS`). */
  readonly render: (notice: OperatorNotice) => string;
  /** Hands an input to the core. */
  readonly deliver: (input: OperatorInput) => void;
  /** The channel's DMs: `/check`'s test messages, and its retry policy for every answer. */
  readonly dms: Pick<DmSender, 'sendDm' | 'retrying'>;
  /** Display names (or mentions), escaped for Markdown: `/check` names who got its message. */
  readonly names: OperatorNames;
  /** Whether the channel is stopped: answers are then dropped. */
  readonly stopped: () => boolean;
  /** Puts Discord's timestamps on the relay's clock. */
  readonly clock: DiscordClock;
}

/** An interaction whose deferred reply (or update) carries the core's answer to a command. */
type AnsweredInteraction = ChatInputCommandInteraction | ButtonInteraction;

/**
 * The interactions of the operators' channel: the prompt's buttons and code modal, the slash
 * commands (the core's, and the channel's own `/check`), and the "Try anyway" button of a
 * `halt-confirm` answer.
 *
 * Every relay receives every interaction and Discord takes the first answer only: each one is
 * acknowledged first, and only the relay whose acknowledgement went through delivers it. Users who
 * are not operators, and interactions outside the bot's DM, get an ephemeral refusal, at most one
 * per user per the {@link StrangerLimit}'s interval; the rest are left unanswered (Discord shows the
 * user that it failed), so a stranger costs no more than one REST call a minute.
 */
export class DiscordInteractions {
  readonly #context: InteractionContext;

  public constructor(context: InteractionContext) {
    this.#context = context;
  }

  /** Handles one interaction. Never throws. */
  public async handle(interaction: Interaction): Promise<void> {
    if (interaction.isButton()) await this.#onButton(interaction);
    else if (interaction.isModalSubmit()) await this.#onModal(interaction);
    else if (interaction.isChatInputCommand()) await this.#onCommand(interaction);
  }

  async #onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const userId = interaction.user.id;
    if (!this.#allowed(interaction)) {
      await this.#refuse(interaction, 'refused a command from a non-operator or outside a DM', {
        command: interaction.commandName,
        context: interaction.context,
        guildId: interaction.guildId,
      });
      return;
    }
    if (channelCommandOf(interaction.commandName) === 'check') {
      await this.#onCheck(interaction);
      return;
    }
    const command = operatorCommandOf(interaction.commandName);
    if (command === undefined) {
      // A command of an older version, still in Discord's cache on the operator's device.
      const answered = await this.#acknowledge(interaction, () =>
        interaction.reply({ content: STALE_COMMAND, flags: discord.MessageFlags.Ephemeral }),
      );
      if (answered) {
        this.#context.log.info(
          { operatorId: userId, command: interaction.commandName },
          'an unknown command',
        );
      }
      return;
    }
    // Acknowledge first: Discord gives 3 seconds, and the core's answer may take longer. Only the
    // relay whose acknowledgement went through acts on it; a command Discord has already shown as
    // failed is not acted on either: the operator will try again.
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply()))) return;
    this.#context.log.info({ operatorId: userId, command }, 'command received');
    this.#context.deliver({
      kind: 'command',
      operatorId: userId,
      command,
      respond: this.#responder(interaction, command),
      inputId: interaction.id,
    });
  }

  /**
   * `/check`, the channel's own command: run by the relay whose acknowledgement went through (one,
   * with replicas), and answered in the deferred reply once every test DM went out or failed.
   */
  async #onCheck(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply()))) return;
    this.#context.log.info({ operatorId: interaction.user.id, command: 'check' }, 'command received');
    const { operatorIds, dms, log, names } = this.#context;
    const report = await runCheck(interaction.user.id, { operatorIds, dms, log, names });
    await this.#answer(interaction, 'check', report, []);
  }

  /**
   * The `respond` of one command: turns the deferred reply (or, for "Try anyway", the message that
   * held the button) into the rendered notice, with the notice's buttons and no others. The first
   * call counts; later ones are dropped (and logged, as the core should not make them). Never rejects.
   */
  #responder(
    interaction: AnsweredInteraction,
    command: OperatorCommand,
  ): (notice: OperatorNotice) => Promise<void> {
    const operatorId = interaction.user.id;
    let answered = false;
    return async (notice) => {
      if (answered) {
        this.#context.log.warn(
          { operatorId, command, notice: notice.kind },
          'dropped a second answer to a command',
        );
        return;
      }
      answered = true;
      await this.#answer(interaction, command, this.#context.render(notice), noticeComponents(notice));
    };
  }

  /** Edits a command's deferred reply into its answer; a failure is logged. Never rejects. */
  async #answer(
    interaction: AnsweredInteraction,
    command: OperatorCommand | ChannelCommand,
    text: string,
    components: ReturnType<typeof noticeComponents>,
  ): Promise<void> {
    if (this.#context.stopped()) return;
    const operatorId = interaction.user.id;
    const content = fitMessage(text);
    try {
      await this.#context.dms.retrying(operatorId, 'command answer', () =>
        interaction.editReply({ content, components }),
      );
    } catch (error) {
      this.#context.log.warn(
        { userId: operatorId, command, error: describeError(error) },
        'could not answer a command',
      );
    }
  }

  async #onButton(interaction: ButtonInteraction): Promise<void> {
    const target = parseCustomId(interaction.customId);
    if (target?.kind !== 'button' && target?.kind !== 'notice') {
      await this.#acknowledge(interaction, () =>
        interaction.reply({ content: STALE_BUTTON, flags: discord.MessageFlags.Ephemeral }),
      );
      return;
    }
    const operatorId = interaction.user.id;
    if (!this.#allowed(interaction)) {
      await this.#refuse(interaction, 'refused a button press from a non-operator', {
        action: target.action,
      });
      return;
    }
    const inputId = interaction.id;
    if (target.kind === 'notice') {
      // "Try anyway": the login command with the operator's consent, for the halt it was offered
      // for. The answer replaces the message that held the button, and so removes the button: one
      // press is one consent.
      if (!(await this.#acknowledge(interaction, () => interaction.deferUpdate()))) return;
      this.#context.log.info({ operatorId, action: target.action, haltAt: target.haltAt }, 'button pressed');
      this.#context.deliver({
        kind: 'command',
        operatorId,
        command: 'login',
        force: true,
        ...(target.haltAt === undefined ? {} : { forHalt: target.haltAt }),
        respond: this.#responder(interaction, 'login'),
        inputId,
      });
      return;
    }
    const { loginId, action } = target;
    switch (action) {
      case 'code':
        if (
          await this.#acknowledge(interaction, () =>
            interaction.showModal(codeModal(loginId, this.#context.codeDigits)),
          )
        ) {
          this.#context.log.info({ operatorId, loginId, action }, 'button pressed');
        }
        return;
      case 'resend':
      case 'cancel':
        // Acknowledge first: Discord gives 3 seconds, and the core's answer may take longer. Only
        // the relay whose acknowledgement went through delivers the press.
        if (!(await this.#acknowledge(interaction, () => interaction.deferUpdate()))) return;
        this.#context.log.info({ operatorId, loginId, action }, 'button pressed');
        this.#context.deliver(
          action === 'resend'
            ? { kind: 'resend', operatorId, loginId, inputId }
            : { kind: 'cancel', operatorId, loginId, inputId },
        );
        return;
    }
  }

  async #onModal(interaction: ModalSubmitInteraction): Promise<void> {
    const target = parseCustomId(interaction.customId);
    if (target?.kind !== 'modal') {
      await this.#acknowledge(interaction, () =>
        interaction.reply({ content: STALE_BUTTON, flags: discord.MessageFlags.Ephemeral }),
      );
      return;
    }
    const operatorId = interaction.user.id;
    const { loginId } = target;
    if (!this.#allowed(interaction)) {
      await this.#refuse(interaction, 'refused a code modal from a non-operator', {});
      return;
    }
    const parsed = parseCode(fieldValue(interaction), this.#context.codeDigits);
    if (!parsed.ok) {
      // Answered here, not by the core: only one relay can acknowledge an interaction, so the help
      // goes out once without a claim, and nothing is delivered.
      const answered = await this.#acknowledge(interaction, () =>
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
    const acknowledged = await this.#acknowledge(interaction, () =>
      interaction.isFromMessage()
        ? interaction.deferUpdate()
        : interaction.reply({
            content: this.#context.render({ kind: 'code-received' }),
            flags: discord.MessageFlags.Ephemeral,
          }),
    );
    if (!acknowledged) return;
    this.#context.log.info({ operatorId, loginId, via: 'modal' }, 'code received');
    this.#context.deliver({
      kind: 'code',
      operatorId,
      code: new Secret(parsed.code),
      loginId,
      // When the operator submitted it: Discord's timestamp, put on the relay's clock as a DM's is.
      sentAt: this.#context.clock.toRelay(interaction.createdAt),
      inputId: interaction.id,
    });
  }

  /**
   * Refuses an interaction from a non-operator or from outside the bot's DM: an ephemeral answer
   * and a log line (user ID and `details`, never text), at most once per user per interval. The
   * others are left unanswered.
   */
  async #refuse(
    interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
    what: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    const userId = interaction.user.id;
    if (!this.#context.strangers.allow(userId)) {
      this.#context.log.debug(
        { userId },
        'left an interaction unanswered: refusals to this user are rationed',
      );
      return;
    }
    const refused = await this.#acknowledge(interaction, () =>
      interaction.reply({ content: NOT_ALLOWED, flags: discord.MessageFlags.Ephemeral }),
    );
    if (refused) this.#context.log.info({ userId, ...details }, what);
  }

  /** Operators only, and only in the DM with the bot. */
  #allowed(interaction: Interaction): boolean {
    return inBotDm(interaction) && this.#context.operatorIds.has(interaction.user.id);
  }

  /**
   * Answers (acknowledges) an interaction. Resolves with whether this relay's answer went through:
   * only then may it act on the interaction. Every relay receives every interaction and Discord takes
   * the first answer only; the others get 40060 (already acknowledged) or 10062 (unknown
   * interaction). That is how a relay learns another one has it: logged at debug, and nothing else.
   * Any other failure (e.g. past Discord's 3 seconds) is logged as a warning. Never throws.
   */
  async #acknowledge(interaction: Interaction, answer: () => Promise<unknown>): Promise<boolean> {
    try {
      await answer();
      return true;
    } catch (error) {
      const discordCode = discordErrorCode(error);
      // 10062 also comes to a relay too slow for Discord's window: that one is worth a warning.
      const answeredElsewhere =
        discordCode === discord.RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged ||
        (discordCode === discord.RESTJSONErrorCodes.UnknownInteraction &&
          this.#context.clock.nowMs() - this.#context.clock.toRelay(interaction.createdAt).getTime() <=
            INTERACTION_ACK_WINDOW_MS);
      if (answeredElsewhere) {
        this.#context.log.debug(
          { userId: interaction.user.id, interactionId: interaction.id, discordCode },
          'another relay answered this interaction',
        );
        return false;
      }
      this.#context.log.warn(
        { userId: interaction.user.id, interactionId: interaction.id, error: describeError(error) },
        'could not answer an interaction',
      );
      return false;
    }
  }
}

function inBotDm(interaction: Interaction): boolean {
  if (interaction.inGuild()) return false;
  // Discord tells the context of every interaction; the channel's type is the fallback if it did not.
  return interaction.context === null
    ? interaction.channel?.type === discord.ChannelType.DM
    : interaction.context === discord.InteractionContextType.BotDM;
}

function fieldValue(interaction: ModalSubmitInteraction): string {
  try {
    return interaction.fields.getTextInputValue(CODE_FIELD_ID);
  } catch {
    return '';
  }
}

/** Cuts a text Discord would refuse for its length; the core's notices stay well below it. */
export function fitMessage(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
