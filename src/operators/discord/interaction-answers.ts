import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  ModalSubmitInteraction,
} from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import type { CodeDigits } from '../../domain/code-digits.js';
import type { OperatorInput, OperatorNotice } from '../../relay/ports/operators.js';
import { noticeComponents } from './components.js';
import { describeError, discordErrorCode } from './describe-error.js';
import type { DmSender } from './dm-sender.js';
import type { OperatorNames } from '../labels.js';
import type { DiscordClock } from './discord-clock.js';
import type { StrangerLimit } from './stranger-limit.js';

const NOT_ALLOWED = 'Only the relay’s operators can use this, and only in a DM with the bot.';
/** Discord refuses a message longer than this. */
const MAX_MESSAGE_LENGTH = 2000;
/** Discord forgets an interaction that is not acknowledged within this. */
const INTERACTION_ACK_WINDOW_MS = 3_000;

/** What the channel's interactions need of it. */
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

/** An interaction whose deferred reply (or update) carries the core's answer. */
export type AnsweredInteraction = ChatInputCommandInteraction | ButtonInteraction;

/** What an answer is to, for the logs: a command, or the press of a "which account?" button. */
export type AnswerTopic = 'status' | 'login' | 'cancel' | 'check' | 'route';

/** An interaction an operator or a stranger can start. */
type UserInteraction = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction;

/**
 * How the channel answers interactions: the acknowledgement that tells which relay has one, the
 * refusal of strangers, and the edit of a deferred reply (or of the message a button was on) into
 * the core's answer.
 */
export class InteractionAnswers {
  readonly #context: InteractionContext;

  public constructor(context: InteractionContext) {
    this.#context = context;
  }

  /**
   * The `respond` of one input: turns the deferred reply (or, for a button acknowledged with an
   * update, the message that held the button) into the rendered notice, with the notice's buttons
   * and no others, so a question's buttons go with its answer. The first call counts; later ones
   * are dropped (and logged, as the core should not make them). Never rejects.
   */
  public responder(
    interaction: AnsweredInteraction,
    topic: AnswerTopic,
  ): (notice: OperatorNotice) => Promise<void> {
    const operatorId = interaction.user.id;
    let answered = false;
    return async (notice) => {
      if (answered) {
        this.#context.log.warn(
          { operatorId, command: topic, notice: notice.kind },
          'dropped a second answer to a command',
        );
        return;
      }
      answered = true;
      await this.answer(interaction, topic, this.#context.render(notice), noticeComponents(notice));
    };
  }

  /** Edits a deferred reply (or update) into its answer; a failure is logged. Never rejects. */
  public async answer(
    interaction: AnsweredInteraction,
    topic: AnswerTopic,
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
        { userId: operatorId, command: topic, error: describeError(error) },
        'could not answer a command',
      );
    }
  }

  /**
   * Refuses an interaction from a non-operator or from outside the bot's DM: an ephemeral answer
   * and a log line (user ID and `details`, never text), at most once per user per interval. The
   * others are left unanswered.
   */
  public async refuse(
    interaction: UserInteraction,
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
    const refused = await this.acknowledge(interaction, () =>
      interaction.reply({ content: NOT_ALLOWED, flags: discord.MessageFlags.Ephemeral }),
    );
    if (refused) this.#context.log.info({ userId, ...details }, what);
  }

  /** Operators only, and only in the DM with the bot. */
  public allowed(interaction: Interaction): boolean {
    return inBotDm(interaction) && this.#context.operatorIds.has(interaction.user.id);
  }

  /**
   * Answers (acknowledges) an interaction. Resolves with whether this relay's answer went through:
   * only then may it act on the interaction. Every relay receives every interaction and Discord takes
   * the first answer only; the others get 40060 (already acknowledged) or 10062 (unknown
   * interaction). That is how a relay learns another one has it: logged at debug, and nothing else.
   * Any other failure (e.g. past Discord's 3 seconds) is logged as a warning. Never throws.
   */
  public async acknowledge(interaction: Interaction, answer: () => Promise<unknown>): Promise<boolean> {
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

/** Cuts a text Discord would refuse for its length; the core's notices stay well below it. */
export function fitMessage(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
