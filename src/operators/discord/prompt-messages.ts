import type { ActionRowBuilder, ButtonBuilder, DMChannel, Message } from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import type { PromptRefs } from '../../relay/ports/coordination.js';
import type { PromptDelivery } from '../delivery.js';
import { describeError, discordErrorCode } from './describe-error.js';
import type { Reachability } from './reachability.js';
import { readPromptRefs, toPromptRefs, type PromptMessageRef } from './prompt-refs.js';

/**
 * What Discord answers an edit of a prompt message that cannot be edited any more (deleted, or a ref
 * that points at a message the bot did not write): the operator gets a new prompt instead.
 */
const PROMPT_GONE: ReadonlySet<number | string> = new Set([
  discord.RESTJSONErrorCodes.UnknownMessage,
  discord.RESTJSONErrorCodes.UnknownChannel,
  discord.RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser,
]);

/** The prompt messages of one login, and the queue that keeps its edits in order. */
interface LoginPrompt {
  /** Operator ID → the prompt message in that operator's DM. */
  readonly messages: Map<string, PromptMessageRef>;
  queue: Promise<unknown>;
  /** When this channel first showed the login's prompt. */
  readonly firstShownAt: Date;
  /** Who gets it: the operators its last `show` named. */
  recipients: ReadonlySet<string>;
}

/** A prompt's text and buttons: the body of its first send and of every edit. */
export interface PromptBody {
  readonly content: string;
  readonly components: ActionRowBuilder<ButtonBuilder>[];
}

/** Where one `show` goes: its recipients, and the account they are of. */
export interface PromptAudience {
  /** Operators of the channel who get the prompt: all of them, or those of the prompt's account. */
  readonly recipients: ReadonlySet<string>;
  /** The prompt's account: `/status` of an account tells whom that account's last prompt reached. */
  readonly account: string;
}

/** What {@link PromptMessages} needs of its channel. */
export interface PromptMessagesOptions {
  readonly operatorIds: ReadonlySet<string>;
  readonly log: Logger;
  /** How many logins' prompt messages are remembered for later edits. */
  readonly rememberedLogins: number;
  /** The channel's DMs (its `DmSender`). */
  readonly dms: {
    /** Runs one request with the channel's DM retry policy. */
    retrying<T>(operatorId: string, what: string, attempt: () => Promise<T>): Promise<T>;
    /** Sends a DM (retried, with an enforced nonce). */
    sendDm(operatorId: string, body: PromptBody, what: string): Promise<Message>;
    /** The DM channel with an operator. */
    dmChannel(operatorId: string): Promise<DMChannel>;
  };
  /** Which operators the DMs reach; an edit's outcome goes there (a send's is the channel's). */
  readonly reach: Reachability;
  readonly now: () => Date;
}

/**
 * The prompt messages of the last `rememberedLogins` logins, one per operator, and their edits: see
 * `DiscordOperatorChannel.showPrompt`.
 */
export class PromptMessages {
  readonly #options: PromptMessagesOptions;
  readonly #prompts = new Map<string, LoginPrompt>();
  /** The login whose prompt was shown last. */
  #lastLoginId: string | undefined;
  /** Per account, the login whose prompt was shown last (few accounts: never pruned). */
  readonly #lastLoginOf = new Map<string, string>();

  public constructor(options: PromptMessagesOptions) {
    this.#options = options;
  }

  /**
   * Sends or edits one login's prompt in the DM of each of the audience's recipients; `body` is
   * rendered when its turn comes, from the channel's state then. Resolves with where each
   * recipient's message is. When the operators the DMs cannot reach changed meanwhile (one's DMs are
   * closed), the prompts that went out are edited once more, so that they name who did not get
   * them. When `stopped`, sends nothing and resolves with what is known.
   */
  public async show(
    loginId: string,
    body: () => PromptBody,
    refs: PromptRefs | undefined,
    stopped: boolean,
    audience: PromptAudience,
  ): Promise<PromptRefs> {
    const { recipients, account } = audience;
    const given = refs === undefined ? new Map<string, PromptMessageRef>() : this.#readRefs(loginId, refs);
    if (stopped) {
      // Nothing is sent any more, but what is known still holds: the caller must not lose it.
      return toPromptRefs(new Map([...given, ...(this.#prompts.get(loginId)?.messages ?? [])]));
    }
    const prompt = this.#promptOf(loginId, recipients);
    prompt.recipients = recipients;
    this.#lastLoginId = loginId;
    this.#lastLoginOf.set(account, loginId);
    // One login's renders run one after another, so the last view is the one operators see.
    const run = prompt.queue.then(() => this.#render(loginId, body, prompt, given));
    prompt.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Whom the last login's prompt reached (of `account`, when given), and whom of its recipients not;
   * `undefined` before any such prompt. Operators the prompt was not for are in neither list.
   */
  public lastDelivery(account?: string): PromptDelivery | undefined {
    const loginId = account === undefined ? this.#lastLoginId : this.#lastLoginOf.get(account);
    const prompt = loginId === undefined ? undefined : this.#prompts.get(loginId);
    if (loginId === undefined || prompt === undefined) return undefined;
    const { recipients, messages } = prompt;
    const reached = [...this.#options.operatorIds].filter((id) => messages.has(id));
    return {
      loginId,
      at: prompt.firstShownAt,
      reached,
      unreachable: this.#options.reach
        .unreachable()
        .filter((op) => recipients.has(op.operatorId) && !messages.has(op.operatorId)),
    };
  }

  /** Renders `body` to every recipient; resolves with the refs of every prompt message known after. */
  async #render(
    loginId: string,
    body: () => PromptBody,
    prompt: LoginPrompt,
    given: ReadonlyMap<string, PromptMessageRef>,
  ): Promise<PromptRefs> {
    const reach = this.#options.reach;
    const before = reach.key();
    const first = body();
    // One operator's closed DMs must not keep the prompt from the others: each one's failure is logged.
    await Promise.all(
      [...prompt.recipients].map((operatorId) => this.#renderTo(operatorId, loginId, prompt, given, first)),
    );
    if (reach.key() !== before && prompt.messages.size > 0) {
      // Who cannot be reached changed: the operators who have the prompt learn it now. Edits only,
      // once: the others were just tried.
      const again = body();
      await Promise.all(
        [...prompt.messages.keys()].map((operatorId) =>
          this.#renderTo(operatorId, loginId, prompt, given, again),
        ),
      );
    }
    return toPromptRefs(prompt.messages);
  }

  async #renderTo(
    operatorId: string,
    loginId: string,
    prompt: LoginPrompt,
    given: ReadonlyMap<string, PromptMessageRef>,
    body: PromptBody,
  ): Promise<void> {
    const known = prompt.messages.get(operatorId) ?? given.get(operatorId);
    if (known !== undefined) {
      try {
        if (
          await this.#options.dms.retrying(operatorId, 'prompt edit', () =>
            this.#editPrompt(operatorId, known, body),
          )
        ) {
          prompt.messages.set(operatorId, known);
          this.#options.reach.reached(operatorId);
          return;
        }
        this.#options.log.warn(
          { userId: operatorId, loginId },
          'a prompt ref is not in the operator’s DM; sending a new prompt',
        );
      } catch (error) {
        if (!PROMPT_GONE.has(discordErrorCode(error) ?? '')) {
          // The message is most likely still there: keep it, so the next render edits it again
          // rather than send the operator a second prompt.
          prompt.messages.set(operatorId, known);
          this.#options.log.warn(
            { userId: operatorId, loginId, error: describeError(error) },
            'could not update the prompt',
          );
          this.#options.reach.failed(operatorId, error);
          return;
        }
        this.#options.log.info(
          { userId: operatorId, loginId, error: describeError(error) },
          'the prompt message is gone; sending a new one',
        );
      }
      prompt.messages.delete(operatorId);
    }
    try {
      const message = await this.#options.dms.sendDm(operatorId, body, 'prompt');
      prompt.messages.set(operatorId, { channelId: message.channelId, messageId: message.id });
    } catch (error) {
      this.#options.log.warn(
        { userId: operatorId, loginId, error: describeError(error) },
        'could not send the prompt',
      );
    }
  }

  /**
   * Edits a prompt message. Resolves to `false`, without a request, when the ref is not in the
   * operator's DM: refs come from outside, and must not make the bot edit anything else.
   */
  async #editPrompt(operatorId: string, ref: PromptMessageRef, body: PromptBody): Promise<boolean> {
    const channel = await this.#options.dms.dmChannel(operatorId);
    if (channel.id !== ref.channelId) return false;
    await channel.messages.edit(ref.messageId, body);
    return true;
  }

  /** Reads refs given to `showPrompt`; what is left out is logged by count, never by content. */
  #readRefs(loginId: string, refs: PromptRefs): ReadonlyMap<string, PromptMessageRef> {
    const read = readPromptRefs(refs, this.#options.operatorIds);
    if (read.malformed > 0) {
      this.#options.log.warn({ loginId, ignored: read.malformed }, 'ignored prompt refs of an unknown shape');
    }
    if (read.strangers > 0) {
      this.#options.log.debug(
        { loginId, ignored: read.strangers },
        'ignored prompt refs of users who are not operators',
      );
    }
    return read.refs;
  }

  #promptOf(loginId: string, recipients: ReadonlySet<string>): LoginPrompt {
    let prompt = this.#prompts.get(loginId);
    if (prompt === undefined) {
      prompt = {
        messages: new Map(),
        queue: Promise.resolve(),
        firstShownAt: this.#options.now(),
        recipients,
      };
      this.#prompts.set(loginId, prompt);
      // Old logins' prompts are never edited again; forget the oldest.
      for (const oldest of this.#prompts.keys()) {
        if (this.#prompts.size <= this.#options.rememberedLogins) break;
        this.#prompts.delete(oldest);
      }
    }
    return prompt;
  }
}
