import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  InteractionContextType,
  MessageFlags,
  Partials,
  RESTJSONErrorCodes,
  Routes,
  Status,
  escapeMarkdown,
  type ActionRowBuilder,
  type ButtonBuilder,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type DMChannel,
  type Interaction,
  type Message,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { Logger } from '../log.js';
import type { PromptRefs } from '../relay/coordination.js';
import { Secret } from '../secret.js';
import { OPERATOR_COMMANDS, operatorCommandOf } from './discord/commands.js';
import { codeModal, CODE_FIELD_ID, promptComponents } from './discord/components.js';
import { parseCustomId } from './discord/custom-ids.js';
import { describeError, discordErrorCode } from './discord/describe-error.js';
import { DiscordChannelError } from './discord/errors.js';
import { readPromptRefs, toPromptRefs, type PromptMessageRef } from './discord/prompt-refs.js';
import { DEFAULT_RETRY_OPTIONS, withRetries, type RetryOptions } from './discord/retry.js';
import { renderNotice, renderPrompt } from './messages.js';
import { DEFAULT_CODE_LENGTH, parseCode } from './parse-code.js';
import type {
  OperatorChannel,
  OperatorCommand,
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from './types.js';

export { DiscordChannelError, type DiscordChannelErrorKind } from './discord/errors.js';
export type { PromptMessageRef } from './discord/prompt-refs.js';
export type { RetryOptions } from './discord/retry.js';

/** Options of {@link DiscordOperatorChannel}. */
export interface DiscordOperatorChannelOptions {
  /** The bot's token (`DISCORD_TOKEN`). */
  token: Secret;
  /** Users who get prompts and whose answers count (`DISCORD_OPERATOR_IDS`). */
  operatorIds: readonly string[];
  /** discord.js `rest.api` (`DISCORD_API_URL`), e.g. `https://discord.com/api`. */
  apiUrl: string;
  logger: Logger;
  /** Digits in a code; the parser's default (6) when omitted. */
  codeLength?: number;
  /** How many logins' prompt messages are remembered for later edits. */
  rememberedLogins?: number;
  /** How long {@link DiscordOperatorChannel.start} waits for the gateway to be ready. */
  readyTimeoutMs?: number;
  /**
   * How long {@link DiscordOperatorChannel.start} waits for the slash commands to be registered
   * before it goes on without them (they stay as Discord last had them).
   */
  registerCommandsTimeoutMs?: number;
  /**
   * How a DM (a prompt sent or edited, a notice, a command's answer) that failed for a passing
   * reason (Discord's 5xx, a timeout, the network) is tried again. discord.js waits out a 429 by
   * itself.
   */
  dmRetry?: RetryOptions;
}

const DEFAULT_OPTIONS = {
  codeLength: DEFAULT_CODE_LENGTH,
  rememberedLogins: 16,
  readyTimeoutMs: 60_000,
  registerCommandsTimeoutMs: 15_000,
} as const satisfies Required<
  Pick<
    DiscordOperatorChannelOptions,
    'codeLength' | 'rememberedLogins' | 'readyTimeoutMs' | 'registerCommandsTimeoutMs'
  >
>;

const NOT_ALLOWED = 'Only the relay’s operators can use this, and only in a DM with the bot.';
const STALE_BUTTON = 'This button is no longer in use.';
const STALE_COMMAND = 'This command is no longer in use.';
/** Discord refuses a message longer than this. */
const MAX_MESSAGE_LENGTH = 2000;
/** Discord forgets an interaction that is not acknowledged within this. */
const INTERACTION_ACK_WINDOW_MS = 3_000;

/**
 * What Discord answers an edit of a prompt message that cannot be edited any more (deleted, or a ref
 * that points at a message the bot did not write): the operator gets a new prompt instead.
 */
const PROMPT_GONE: ReadonlySet<number | string> = new Set([
  RESTJSONErrorCodes.UnknownMessage,
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser,
]);

/** The prompt messages of one login, and the queue that keeps its edits in order. */
interface LoginPrompt {
  /** Operator ID → the prompt message in that operator's DM. */
  readonly messages: Map<string, PromptMessageRef>;
  queue: Promise<unknown>;
}

/** A prompt's text and buttons: the body of its first send and of every edit. */
interface PromptBody {
  readonly content: string;
  readonly components: ActionRowBuilder<ButtonBuilder>[];
}

/**
 * The operators' channel on Discord: prompts and notices as DMs from the bot, answers as DM replies,
 * buttons and a modal, and the slash commands `/status`, `/login` and `/cancel` in the bot's DM.
 *
 * Intents: only `DirectMessages`. DM text arrives without the privileged `MessageContent` intent
 * (Discord exempts DMs with the app), and interactions need no intent. `Partials.Channel` is needed
 * because DM channels are not cached when their first message arrives.
 *
 * Several relays: each runs its own channel with the same bot token, so every relay receives every
 * DM and every interaction. Each input carries an `inputId` (the message's or the interaction's ID)
 * by which the core claims it once for all relays. A DM is delivered by every relay, unclear text
 * included (as an `unclear` input: the core, once it has claimed it, answers with help). An
 * interaction is acknowledged by the first relay only (Discord refuses the others with 40060), and
 * only the relay whose acknowledgement went through delivers it; the others stay quiet. A prompt's
 * messages are described by {@link PromptRefs} (`{ [operatorId]: { channelId, messageId } }`), which
 * another relay, or this one after a restart, passes back to edit the same messages.
 *
 * Delivery: `showPrompt`, `notify` and `broadcast` never reject because a DM failed (closed DMs, an
 * unknown user, Discord down). A failure for a passing reason is tried again (`dmRetry`); each
 * failure is logged with the operator's user ID, and the next `showPrompt` of the login tries that
 * operator again. Sends carry a nonce Discord enforces, so a retry after a lost answer does not make
 * a second message. Only calling them before `start` throws. The prompt messages of the last
 * `rememberedLogins` logins are kept for edits; a `showPrompt` for an older login sends new messages
 * unless it is given refs.
 *
 * Commands: `start` registers them as global commands usable only in the bot's DM (see
 * {@link OPERATOR_COMMANDS}); a failed registration is logged and the channel works on. An operator's
 * command is acknowledged at once with a deferred reply (Discord allows 3 seconds), then delivered
 * as a `command` input whose `respond` turns that reply into the core's answer. A command from
 * anyone else, or outside the bot's DM, gets an ephemeral refusal and is never delivered.
 */
export class DiscordOperatorChannel implements OperatorChannel {
  readonly #token: Secret;
  readonly #operatorIds: ReadonlySet<string>;
  readonly #codeLength: number;
  readonly #rememberedLogins: number;
  readonly #readyTimeoutMs: number;
  readonly #registerCommandsTimeoutMs: number;
  readonly #dmRetry: Required<RetryOptions>;
  readonly #log: Logger;
  readonly #client: Client;
  readonly #prompts = new Map<string, LoginPrompt>();
  /** Aborted by `stop`: ends the waits between DM retries. */
  readonly #stopping = new AbortController();
  #onInput: OperatorInputHandler | undefined;
  #stopped = false;

  public constructor(options: DiscordOperatorChannelOptions) {
    const settings = { ...DEFAULT_OPTIONS, ...options };
    this.#token = settings.token;
    this.#operatorIds = new Set(settings.operatorIds);
    this.#codeLength = settings.codeLength;
    this.#rememberedLogins = settings.rememberedLogins;
    this.#readyTimeoutMs = settings.readyTimeoutMs;
    this.#registerCommandsTimeoutMs = settings.registerCommandsTimeoutMs;
    this.#dmRetry = { ...DEFAULT_RETRY_OPTIONS, ...options.dmRetry };
    this.#log = settings.logger.child({ component: 'discord' });
    this.#client = new Client({
      intents: [GatewayIntentBits.DirectMessages],
      partials: [Partials.Channel],
      rest: { api: settings.apiUrl },
      // Operator names in texts are plain text; nothing the bot sends should ping anyone.
      allowedMentions: { parse: [], repliedUser: false },
    });
  }

  /**
   * Logs in; resolves once the gateway is ready and the slash commands are registered (or their
   * registration failed, which is logged). Fails with a {@link DiscordChannelError} when the token
   * is refused or Discord is not ready within `readyTimeoutMs`; a channel whose start failed is
   * spent (make a new one to try again).
   */
  public async start(onInput: OperatorInputHandler): Promise<void> {
    if (this.#onInput !== undefined) {
      throw new DiscordChannelError('already-started', 'the Discord channel started twice');
    }
    this.#onInput = onInput;
    this.#listen();
    const done = new AbortController();
    try {
      // discord.js retries a gateway that never gets ready forever; the relay's start must not hang.
      await Promise.race([
        Promise.all([
          once(this.#client, Events.ClientReady, { signal: done.signal }),
          this.#client.login(this.#token.reveal()),
        ]),
        delay(this.#readyTimeoutMs, undefined, { signal: done.signal, ref: false }).then(() => {
          throw new DiscordChannelError(
            'login-failed',
            `Discord was not ready within ${this.#readyTimeoutMs} ms`,
          );
        }),
      ]);
    } catch (error) {
      this.#stopped = true;
      this.#log.error({ error: describeError(error) }, 'Discord login failed');
      await this.#client.destroy();
      throw error instanceof DiscordChannelError
        ? error
        : new DiscordChannelError('login-failed', 'could not log in to Discord', { cause: error });
    } finally {
      done.abort();
    }
    this.#log.info({ operators: this.#operatorIds.size }, 'connected to Discord');
    await Promise.all([this.#loadOperatorNames(), this.#registerCommands()]);
  }

  /**
   * Sends or edits the login's prompt in every operator's DM; resolves with where each operator's
   * message is. Per operator, the message edited is the one this channel sent or adopted for the
   * login, else the one `refs` names (sent by another relay, or by this one before a restart), else
   * a new one is sent; one whose edit Discord refuses as gone is sent anew. Refs of an unknown shape
   * are ignored (and logged, without their contents).
   */
  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    this.#assertStarted();
    const given =
      refs === undefined ? new Map<string, PromptMessageRef>() : this.#readRefs(view.loginId, refs);
    if (this.#stopped) {
      // Nothing is sent any more, but what is known still holds: the caller must not lose it.
      return toPromptRefs(new Map([...given, ...(this.#prompts.get(view.loginId)?.messages ?? [])]));
    }
    const prompt = this.#promptOf(view.loginId);
    // One login's renders run one after another, so the last view is the one operators see.
    const run = prompt.queue.then(() => this.#render(view, prompt, given));
    prompt.queue = run.catch(() => undefined);
    return run;
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    this.#assertStarted();
    if (this.#stopped) return;
    if (!this.#operatorIds.has(operatorId)) {
      this.#log.warn(
        { userId: operatorId, notice: notice.kind },
        'not sending a notice to a user who is not an operator',
      );
      return;
    }
    await this.#send(operatorId, renderNotice(notice, this.#nameOf), `${notice.kind} notice`);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    this.#assertStarted();
    if (this.#stopped) return;
    const text = renderNotice(notice, this.#nameOf);
    await Promise.all([...this.#operatorIds].map((id) => this.#send(id, text, `${notice.kind} notice`)));
  }

  public isConnected(): boolean {
    const { shards } = this.#client.ws;
    return (
      this.#onInput !== undefined &&
      !this.#stopped &&
      shards.size > 0 &&
      shards.every((shard) => shard.status === Status.Ready)
    );
  }

  public async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopping.abort();
    await this.#client.destroy();
    this.#log.info('disconnected from Discord');
  }

  // ---- prompts and notices --------------------------------------------------------------------

  /** Renders `view` to every operator; resolves with the refs of every prompt message known after. */
  async #render(
    view: PromptView,
    prompt: LoginPrompt,
    given: ReadonlyMap<string, PromptMessageRef>,
  ): Promise<PromptRefs> {
    const { text, actions } = renderPrompt(view, this.#nameOf);
    const body: PromptBody = { content: text, components: promptComponents(view.loginId, actions) };
    // One operator's closed DMs must not keep the prompt from the others: each one's failure is logged.
    await Promise.all(
      [...this.#operatorIds].map((operatorId) =>
        this.#renderTo(operatorId, view.loginId, prompt, given, body),
      ),
    );
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
          await this.#retrying(operatorId, 'prompt edit', () => this.#editPrompt(operatorId, known, body))
        ) {
          prompt.messages.set(operatorId, known);
          return;
        }
        this.#log.warn(
          { userId: operatorId, loginId },
          'a prompt ref is not in the operator’s DM; sending a new prompt',
        );
      } catch (error) {
        if (!PROMPT_GONE.has(discordErrorCode(error) ?? '')) {
          // The message is most likely still there: keep it, so the next render edits it again
          // rather than send the operator a second prompt.
          prompt.messages.set(operatorId, known);
          this.#log.warn(
            { userId: operatorId, loginId, error: describeError(error) },
            'could not update the prompt',
          );
          return;
        }
        this.#log.info(
          { userId: operatorId, loginId, error: describeError(error) },
          'the prompt message is gone; sending a new one',
        );
      }
      prompt.messages.delete(operatorId);
    }
    try {
      const message = await this.#sendDm(operatorId, body, 'prompt');
      prompt.messages.set(operatorId, { channelId: message.channelId, messageId: message.id });
    } catch (error) {
      this.#log.warn(
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
    const channel = await this.#dmChannel(operatorId);
    if (channel.id !== ref.channelId) return false;
    await channel.messages.edit(ref.messageId, body);
    return true;
  }

  /** Reads refs given to `showPrompt`; what is left out is logged by count, never by content. */
  #readRefs(loginId: string, refs: PromptRefs): ReadonlyMap<string, PromptMessageRef> {
    const read = readPromptRefs(refs, this.#operatorIds);
    if (read.malformed > 0) {
      this.#log.warn({ loginId, ignored: read.malformed }, 'ignored prompt refs of an unknown shape');
    }
    if (read.strangers > 0) {
      this.#log.debug(
        { loginId, ignored: read.strangers },
        'ignored prompt refs of users who are not operators',
      );
    }
    return read.refs;
  }

  #promptOf(loginId: string): LoginPrompt {
    let prompt = this.#prompts.get(loginId);
    if (prompt === undefined) {
      prompt = { messages: new Map(), queue: Promise.resolve() };
      this.#prompts.set(loginId, prompt);
      // Old logins' prompts are never edited again; forget the oldest.
      for (const oldest of this.#prompts.keys()) {
        if (this.#prompts.size <= this.#rememberedLogins) break;
        this.#prompts.delete(oldest);
      }
    }
    return prompt;
  }

  /** Sends a notice; a failure is logged, never thrown. */
  async #send(operatorId: string, text: string, what: string): Promise<void> {
    try {
      await this.#sendDm(operatorId, { content: text }, what);
    } catch (error) {
      this.#log.warn({ userId: operatorId, error: describeError(error) }, `could not send the ${what}`);
    }
  }

  /** Sends a DM, trying again after a passing failure. */
  async #sendDm(
    operatorId: string,
    body: { readonly content: string; readonly components?: PromptBody['components'] },
    what: string,
  ): Promise<Message> {
    // One nonce for every try, enforced: if Discord made the message but its answer was lost, the
    // next try gets that message back instead of making a second one.
    const nonce = randomBytes(12).toString('base64url');
    return this.#retrying(operatorId, what, async () => {
      const channel = await this.#dmChannel(operatorId);
      return channel.send({ ...body, nonce, enforceNonce: true });
    });
  }

  /** Runs one DM request with the `dmRetry` policy; each retry is logged with the user ID. */
  async #retrying<T>(operatorId: string, what: string, attempt: () => Promise<T>): Promise<T> {
    return withRetries(attempt, {
      ...this.#dmRetry,
      signal: this.#stopping.signal,
      onRetry: (error, failedTry, delayMs) =>
        this.#log.warn(
          { userId: operatorId, failedTry, retryInMs: delayMs, error: describeError(error) },
          `the ${what} failed for a passing reason; trying again`,
        ),
    });
  }

  /** The DM channel with an operator: cached by discord.js after the first call. */
  async #dmChannel(operatorId: string): Promise<DMChannel> {
    return this.#client.users.createDM(operatorId);
  }

  /**
   * Replaces the application's global commands with {@link OPERATOR_COMMANDS}. Never throws: without
   * commands, prompts, replies and buttons still work, and the commands Discord already has stay.
   */
  async #registerCommands(): Promise<void> {
    const applicationId = this.#client.application?.id ?? this.#client.user?.id;
    if (applicationId === undefined) {
      this.#log.error('could not register the slash commands: the application ID is unknown');
      return;
    }
    try {
      await this.#client.rest.put(Routes.applicationCommands(applicationId), {
        body: OPERATOR_COMMANDS,
        signal: AbortSignal.timeout(this.#registerCommandsTimeoutMs),
      });
      this.#log.info(
        { commands: OPERATOR_COMMANDS.map((command) => command.name) },
        'registered the slash commands',
      );
    } catch (error) {
      this.#log.error({ error: describeError(error) }, 'could not register the slash commands');
    }
  }

  /** Fetches the operators' users once, so texts can name them; a missing one is worth a warning. */
  async #loadOperatorNames(): Promise<void> {
    await Promise.all(
      [...this.#operatorIds].map(async (operatorId) => {
        try {
          await this.#client.users.fetch(operatorId);
        } catch (error) {
          this.#log.warn(
            { userId: operatorId, error: describeError(error) },
            'could not look up an operator',
          );
        }
      }),
    );
  }

  /** An operator's display name from the cache, or a mention (which Discord renders) when unknown. */
  readonly #nameOf = (operatorId: string): string => {
    const user = this.#client.users.cache.get(operatorId);
    return user === undefined ? `<@${operatorId}>` : escapeMarkdown(user.displayName);
  };

  #assertStarted(): void {
    if (this.#onInput === undefined)
      throw new DiscordChannelError('not-started', 'the Discord channel is not started');
  }

  // ---- inputs ---------------------------------------------------------------------------------

  #listen(): void {
    const client = this.#client;
    client.on(Events.MessageCreate, (message) => void this.#onMessage(message));
    client.on(Events.InteractionCreate, (interaction) => void this.#onInteraction(interaction));
    client.on(Events.Error, (error) =>
      this.#log.error({ error: describeError(error) }, 'Discord client error'),
    );
    client.on(Events.Warn, (warning) => this.#log.warn({ warning }, 'Discord client warning'));
    client.on(Events.ShardDisconnect, (event) =>
      this.#log.error({ closeCode: event.code }, 'Discord gateway closed for good'),
    );
    client.on(Events.ShardReconnecting, () => {
      // destroy() closes the socket too; that is no reconnect.
      if (!this.#stopped) this.#log.warn('Discord gateway reconnecting');
    });
    client.on(Events.ShardResume, (_shardId, replayed) =>
      this.#log.info({ replayedEvents: replayed }, 'Discord gateway resumed'),
    );
  }

  async #onMessage(message: Message): Promise<void> {
    if (this.#stopped || message.author.bot) return;
    const userId = message.author.id;
    // Logged by user ID only: the text may be a code, or anything at all.
    if (message.inGuild() || message.channel.type !== ChannelType.DM) {
      this.#log.info({ userId }, 'ignored a message outside DMs');
      return;
    }
    if (!this.#operatorIds.has(userId)) {
      this.#log.info({ userId }, 'ignored a DM from a user who is not an operator');
      return;
    }
    const parsed = parseCode(message.content, { length: this.#codeLength });
    if (!parsed.ok) {
      // Every relay gets this DM: the core answers it with help, once, after claiming it.
      this.#log.info({ operatorId: userId, reason: parsed.reason }, 'a DM reply is not one code');
      this.#deliver({ kind: 'unclear', operatorId: userId, inputId: message.id });
      return;
    }
    this.#log.info({ operatorId: userId, via: 'dm' }, 'code received');
    this.#deliver({ kind: 'code', operatorId: userId, code: new Secret(parsed.code), inputId: message.id });
  }

  async #onInteraction(interaction: Interaction): Promise<void> {
    if (this.#stopped) return;
    if (interaction.isButton()) await this.#onButton(interaction);
    else if (interaction.isModalSubmit()) await this.#onModal(interaction);
    else if (interaction.isChatInputCommand()) await this.#onCommand(interaction);
  }

  async #onCommand(interaction: ChatInputCommandInteraction): Promise<void> {
    const userId = interaction.user.id;
    if (!this.#allowed(interaction)) {
      const refused = await this.#acknowledge(interaction, () =>
        interaction.reply({ content: NOT_ALLOWED, flags: MessageFlags.Ephemeral }),
      );
      if (refused) {
        this.#log.info(
          {
            userId,
            command: interaction.commandName,
            context: interaction.context,
            guildId: interaction.guildId,
          },
          'refused a command from a non-operator or outside a DM',
        );
      }
      return;
    }
    const command = operatorCommandOf(interaction.commandName);
    if (command === undefined) {
      // A command of an older version, still in Discord's cache on the operator's device.
      const answered = await this.#acknowledge(interaction, () =>
        interaction.reply({ content: STALE_COMMAND, flags: MessageFlags.Ephemeral }),
      );
      if (answered) {
        this.#log.info({ operatorId: userId, command: interaction.commandName }, 'an unknown command');
      }
      return;
    }
    // Acknowledge first: Discord gives 3 seconds, and the core's answer may take longer. Only the
    // relay whose acknowledgement went through acts on it; a command Discord has already shown as
    // failed is not acted on either: the operator will try again.
    if (!(await this.#acknowledge(interaction, () => interaction.deferReply()))) return;
    this.#log.info({ operatorId: userId, command }, 'command received');
    this.#deliver({
      kind: 'command',
      operatorId: userId,
      command,
      respond: this.#responder(interaction, command),
      inputId: interaction.id,
    });
  }

  /**
   * The `respond` of one command: turns the deferred reply into the rendered notice. The first call
   * counts; later ones are dropped (and logged, as the core should not make them). Never rejects.
   */
  #responder(
    interaction: ChatInputCommandInteraction,
    command: OperatorCommand,
  ): (notice: OperatorNotice) => Promise<void> {
    const operatorId = interaction.user.id;
    let answered = false;
    return async (notice) => {
      if (answered) {
        this.#log.warn({ operatorId, command, notice: notice.kind }, 'dropped a second answer to a command');
        return;
      }
      answered = true;
      if (this.#stopped) return;
      const content = fitMessage(renderNotice(notice, this.#nameOf));
      try {
        await this.#retrying(operatorId, 'command answer', () => interaction.editReply({ content }));
      } catch (error) {
        this.#log.warn(
          { userId: operatorId, command, error: describeError(error) },
          'could not answer a command',
        );
      }
    };
  }

  async #onButton(interaction: ButtonInteraction): Promise<void> {
    const target = parseCustomId(interaction.customId);
    if (target?.kind !== 'button') {
      await this.#acknowledge(interaction, () =>
        interaction.reply({ content: STALE_BUTTON, flags: MessageFlags.Ephemeral }),
      );
      return;
    }
    const operatorId = interaction.user.id;
    const { loginId, action } = target;
    if (!this.#allowed(interaction)) {
      if (
        await this.#acknowledge(interaction, () =>
          interaction.reply({ content: NOT_ALLOWED, flags: MessageFlags.Ephemeral }),
        )
      ) {
        this.#log.info({ userId: operatorId, action }, 'refused a button press from a non-operator');
      }
      return;
    }
    const inputId = interaction.id;
    switch (action) {
      case 'code':
        if (
          await this.#acknowledge(interaction, () =>
            interaction.showModal(codeModal(loginId, this.#codeLength)),
          )
        ) {
          this.#log.info({ operatorId, loginId, action }, 'button pressed');
        }
        return;
      case 'resend':
      case 'cancel':
        // Acknowledge first: Discord gives 3 seconds, and the core's answer may take longer. Only
        // the relay whose acknowledgement went through delivers the press.
        if (!(await this.#acknowledge(interaction, () => interaction.deferUpdate()))) return;
        this.#log.info({ operatorId, loginId, action }, 'button pressed');
        this.#deliver(
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
        interaction.reply({ content: STALE_BUTTON, flags: MessageFlags.Ephemeral }),
      );
      return;
    }
    const operatorId = interaction.user.id;
    const { loginId } = target;
    if (!this.#allowed(interaction)) {
      if (
        await this.#acknowledge(interaction, () =>
          interaction.reply({ content: NOT_ALLOWED, flags: MessageFlags.Ephemeral }),
        )
      ) {
        this.#log.info({ userId: operatorId }, 'refused a code modal from a non-operator');
      }
      return;
    }
    const parsed = parseCode(this.#fieldValue(interaction), { length: this.#codeLength });
    if (!parsed.ok) {
      // Answered here, not by the core: only one relay can acknowledge an interaction, so the help
      // goes out once without a claim, and nothing is delivered.
      const answered = await this.#acknowledge(interaction, () =>
        interaction.reply({
          content: renderNotice({ kind: 'help' }, this.#nameOf),
          flags: MessageFlags.Ephemeral,
        }),
      );
      if (answered) {
        this.#log.info(
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
            content: renderNotice({ kind: 'code-received' }, this.#nameOf),
            flags: MessageFlags.Ephemeral,
          }),
    );
    if (!acknowledged) return;
    this.#log.info({ operatorId, loginId, via: 'modal' }, 'code received');
    this.#deliver({
      kind: 'code',
      operatorId,
      code: new Secret(parsed.code),
      loginId,
      inputId: interaction.id,
    });
  }

  #fieldValue(interaction: ModalSubmitInteraction): string {
    try {
      return interaction.fields.getTextInputValue(CODE_FIELD_ID);
    } catch {
      return '';
    }
  }

  /** Operators only, and only in the DM with the bot. */
  #allowed(interaction: Interaction): boolean {
    return this.#inBotDm(interaction) && this.#operatorIds.has(interaction.user.id);
  }

  #inBotDm(interaction: Interaction): boolean {
    if (interaction.inGuild()) return false;
    // Discord tells the context of every interaction; the channel's type is the fallback if it did not.
    return interaction.context === null
      ? interaction.channel?.type === ChannelType.DM
      : interaction.context === InteractionContextType.BotDM;
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
        discordCode === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged ||
        (discordCode === RESTJSONErrorCodes.UnknownInteraction &&
          Date.now() - interaction.createdTimestamp <= INTERACTION_ACK_WINDOW_MS);
      if (answeredElsewhere) {
        this.#log.debug(
          { userId: interaction.user.id, interactionId: interaction.id, discordCode },
          'another relay answered this interaction',
        );
        return false;
      }
      this.#log.warn(
        { userId: interaction.user.id, interactionId: interaction.id, error: describeError(error) },
        'could not answer an interaction',
      );
      return false;
    }
  }

  #deliver(input: OperatorInput): void {
    if (this.#stopped || this.#onInput === undefined) return;
    try {
      this.#onInput(input);
    } catch (error) {
      // The handler must not throw; if it does, the gateway's event loop must not suffer for it.
      this.#log.error(
        { error: describeError(error), input: input.kind, inputId: input.inputId },
        'the input handler threw',
      );
    }
  }
}

/** Cuts a text Discord would refuse for its length; the core's notices stay well below it. */
function fitMessage(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}
