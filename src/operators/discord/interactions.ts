import type { ChatInputCommandInteraction, Interaction } from 'discord.js';
import { discord } from './discord-js.js';
import { channelCommandOf, operatorCommandOf, ACCOUNT_OPTION } from './commands.js';
import { runCheck } from './check.js';
import { InteractionAnswers, type InteractionContext } from './interaction-answers.js';
import { Presses } from './presses.js';

export { fitMessage, type InteractionContext } from './interaction-answers.js';

const STALE_COMMAND = 'This command is no longer in use.';

/**
 * The interactions of the operators' channel: the slash commands (the core's, and the channel's own
 * `/check`), and the presses of {@link Presses} (the prompt's buttons and code modal, the "Try
 * anyway" of a `halt-confirm` answer, the account buttons of a "which account?" question).
 *
 * Every relay receives every interaction and Discord takes the first answer only: each one is
 * acknowledged first, and only the relay whose acknowledgement went through delivers it. Users who
 * are not operators, and interactions outside the bot's DM, get an ephemeral refusal, at most one
 * per user per the {@link StrangerLimit}'s interval; the rest are left unanswered (Discord shows the
 * user that it failed), so a stranger costs no more than one REST call a minute.
 */
export class DiscordInteractions {
  readonly #context: InteractionContext;
  readonly #answers: InteractionAnswers;
  readonly #presses: Presses;

  public constructor(context: InteractionContext) {
    this.#context = context;
    this.#answers = new InteractionAnswers(context);
    this.#presses = new Presses(context, this.#answers);
  }

  /** Handles one interaction. Never throws. */
  public async handle(interaction: Interaction): Promise<void> {
    if (interaction.isButton()) await this.#presses.onButton(interaction);
    else if (interaction.isModalSubmit()) await this.#presses.onModal(interaction);
    else if (interaction.isChatInputCommand()) await this.#onCommand(interaction);
  }

  async #onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const userId = interaction.user.id;
    if (!this.#answers.allowed(interaction)) {
      await this.#answers.refuse(interaction, 'refused a command from a non-operator or outside a DM', {
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
      const answered = await this.#answers.acknowledge(interaction, () =>
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
    if (!(await this.#answers.acknowledge(interaction, () => interaction.deferReply()))) return;
    const account = accountOption(interaction);
    this.#context.log.info({ operatorId: userId, command, ...account }, 'command received');
    this.#context.deliver({
      kind: 'command',
      operatorId: userId,
      command,
      ...account,
      respond: this.#answers.responder(interaction, command),
      inputId: interaction.id,
    });
  }

  /**
   * `/check`, the channel's own command: run by the relay whose acknowledgement went through (one,
   * with replicas), and answered in the deferred reply once every test DM went out or failed.
   */
  async #onCheck(interaction: ChatInputCommandInteraction): Promise<void> {
    if (!(await this.#answers.acknowledge(interaction, () => interaction.deferReply()))) return;
    this.#context.log.info({ operatorId: interaction.user.id, command: 'check' }, 'command received');
    const { operatorIds, dms, log, names } = this.#context;
    const report = await runCheck(interaction.user.id, { operatorIds, dms, log, names });
    await this.#answers.answer(interaction, 'check', report, []);
  }
}

/**
 * The `account:` option, when given: as picked from Discord's choices, or as typed when there are
 * too many accounts for choices (names are lower-case, so a typed `Live` is `live`). The hub answers
 * a name that is not the operator's with `unknown-account`. Absent on a command registered without
 * the option (one account, or a command cached from before).
 */
function accountOption(interaction: ChatInputCommandInteraction): { account?: string } {
  const given = interaction.options.getString(ACCOUNT_OPTION)?.trim().toLowerCase() ?? '';
  return given === '' ? {} : { account: given };
}
