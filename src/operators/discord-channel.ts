import type { Client, Interaction, Message } from 'discord.js';
import { logClientEvents, loginWhenReady } from './discord/client.js';
import { fatalCloseReason, gatewayClosedError } from './discord/close-codes.js';
import { discord } from './discord/discord-js.js';
import type { Logger } from '../shared/log.js';
import type { PromptRefs } from '../relay/ports/coordination.js';
import {
  DEFAULT_OPTIONS,
  type DiscordConnectionState,
  type DiscordOperatorChannelOptions,
} from './discord/channel-options.js';
import { readDm } from './discord/dm-input.js';
import { createChannelParts, type ChannelSettings } from './discord/channel-parts.js';
import { promptComponents } from './discord/components.js';
import { describeError } from './discord/describe-error.js';
import { DiscordChannelError } from './discord/errors.js';
import type { DiscordInteractions } from './discord/interactions.js';
import type { DiscordClock } from './discord/discord-clock.js';
import type { NoticeDms } from './discord/notice-dms.js';
import type { PromptMessages } from './discord/prompt-messages.js';
import type { Reachability } from './discord/reachability.js';
import { afterLogin } from './discord/startup.js';
import type { StrangerLimit } from './discord/stranger-limit.js';
import type { DeliveryContext, PromptDelivery, UnreachableOperator } from './delivery.js';
import { cliOperatorName } from './labels.js';
import { renderNotice, renderPrompt, type RenderOptions } from './messages.js';
import type {
  OperatorChannel,
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../relay/ports/operators.js';

export { DiscordChannelError, type DiscordChannelErrorKind } from './discord/errors.js';
export type { DiscordConnectionState, DiscordOperatorChannelOptions } from './discord/channel-options.js';
export type { PromptMessageRef } from './discord/prompt-refs.js';
export type { RetryOptions } from './discord/retry.js';
export type { DmFailure } from './discord/reachability.js';

/**
 * The operators' channel on Discord: prompts and notices as DMs from the bot, answers as DM replies,
 * buttons and a modal, and the slash commands `/status`, `/login`, `/cancel` and `/check` in the
 * bot's DM.
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
 * Unreachable operators: an operator whose DM failed for good (Discord's 50007 when their DMs are
 * closed) is unreachable until a DM to them goes through: logged once by ID, counted through
 * `onDmFailure`, listed by {@link DiscordOperatorChannel.unreachableOperators} (`/readyz`), and
 * named at the end of every prompt the others get ("Could not reach: …"). `/status` lists whom the
 * last prompt reached ({@link DiscordOperatorChannel.lastPrompt}).
 *
 * Commands: `start` registers them as global commands usable only in the bot's DM (see
 * {@link operatorCommands}); a failed registration is logged and the channel works on. An operator's
 * command is acknowledged at once with a deferred reply (Discord allows 3 seconds), then delivered
 * as a `command` input whose `respond` turns that reply into the core's answer. A command from
 * anyone else, or outside the bot's DM, gets an ephemeral refusal and is never delivered. An answer
 * that offers an action (`halt-confirm`: "Try anyway") carries its button; pressing it delivers
 * `/login` with `force` and the halt it was offered for, and the answer replaces the message, button
 * included. `/check` is the channel's own: a test DM to every operator (reachability learns from
 * each, as from a prompt), then the asker's answer names who got it and whose DMs Discord refused.
 *
 * Codes: DM replies and modal entries are parsed under `codeDigits` (`CODE_DIGITS`), and each code
 * carries `sentAt`, Discord's timestamp of the message or interaction put on the relay's clock (the
 * {@link DiscordClock} learns the offset from the bot's own DMs), so the core can tell a reply
 * written before the current login's prompt however far the relay's clock is from Discord's.
 *
 * Several accounts: a prompt goes to its account's operators (`view.operatorIds`), and its buttons'
 * and modal's custom IDs name its account, so a press or a modal's code carries `account`; a DM
 * that is a Discord reply carries `replyTo`. A "which account?" question has one button per account:
 * for a code, it delivers `account-chosen`; for `/login` or `/cancel`, the command with `account`;
 * either answer replaces the question, buttons included. With `accounts` (two or more), the
 * commands take an `account` option (see {@link operatorCommands}).
 *
 * Strangers: a DM from anyone but an operator is never answered; a stranger's interaction gets at
 * most one refusal per `strangerReplyIntervalMs` (and one log line), so nobody can make the bot
 * spend REST calls or log lines at will.
 *
 * Lifecycle: a gateway Discord closes for good (close codes 4004, 4010-4014) is reported once
 * through `onFatal`; while discord.js reconnects, {@link DiscordOperatorChannel.connectionState}
 * says `reconnecting`. A shutdown calls {@link DiscordOperatorChannel.stopInputs} before it stops the
 * core, then {@link DiscordOperatorChannel.stop}.
 */
export class DiscordOperatorChannel implements OperatorChannel {
  /** The options, every default filled in. */
  readonly #settings: ChannelSettings;
  readonly #operatorIds: ReadonlySet<string>;
  readonly #renderOptions: RenderOptions;
  readonly #log: Logger;
  readonly #client: Client;
  readonly #interactions: DiscordInteractions;
  readonly #strangers: StrangerLimit;
  readonly #promptMessages: PromptMessages;
  readonly #notices: NoticeDms;
  readonly #reach: Reachability;
  readonly #clock: DiscordClock;
  /** Aborted by `stop`: ends the waits between DM retries. */
  readonly #stopping = new AbortController();
  /** DMs and interactions being handled: `stopInputs` waits for them. */
  readonly #handling = new Set<Promise<void>>();
  #onInput: OperatorInputHandler | undefined;
  /** Set once `start` has resolved. */
  #ready = false;
  /** False from `stopInputs` on: new DMs and interactions are left alone. */
  #acceptingInputs = true;
  /** Set when Discord closed the gateway for good. */
  #closedForGood: number | undefined;
  #stopped = false;

  public constructor(options: DiscordOperatorChannelOptions) {
    const settings = { ...DEFAULT_OPTIONS, ...options };
    this.#settings = settings;
    this.#renderOptions = { format: 'discord', codeDigits: settings.codeDigits };
    const parts = createChannelParts(settings, {
      render: this.#render,
      names: this.#nameOf,
      deliver: (input) => this.#deliver(input),
      stopped: () => this.#stopped,
      stopping: this.#stopping.signal,
    });
    this.#operatorIds = parts.operatorIds;
    this.#log = parts.log;
    this.#client = parts.client;
    this.#strangers = parts.strangers;
    this.#reach = parts.reach;
    this.#clock = parts.clock;
    this.#promptMessages = parts.promptMessages;
    this.#notices = parts.notices;
    this.#interactions = parts.interactions;
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
    try {
      await loginWhenReady(this.#client, this.#settings.token, this.#settings.readyTimeoutMs);
    } catch (error) {
      this.#stopped = true;
      this.#log.error({ error: describeError(error) }, 'Discord login failed');
      await this.#client.destroy();
      throw error;
    }
    await afterLogin(
      this.#client,
      this.#operatorIds,
      this.#log,
      this.#settings.registerCommandsTimeoutMs,
      this.#settings.accounts,
    );
    this.#ready = true;
    if (this.#closedForGood !== undefined) this.#fatal(this.#closedForGood);
  }

  /**
   * Sends or edits the login's prompt in the DM of each of its recipients (`view.operatorIds`, the
   * account's operators, among the channel's; every operator without it); resolves with where each
   * one's message is. Per operator, the message edited is the one this channel sent or adopted for
   * the login, else the one `refs` names (sent by another relay, or by this one before a restart),
   * else a new one is sent; one whose edit Discord refuses as gone is sent anew. Refs of an unknown
   * shape are ignored (and logged, without their contents).
   */
  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    this.#assertStarted();
    const recipients =
      view.operatorIds === undefined
        ? this.#operatorIds
        : new Set(view.operatorIds.filter((id) => this.#operatorIds.has(id)));
    return this.#promptMessages.show(
      view.loginId,
      () => {
        // The prompt names whom of its own recipients it could not reach, nobody else.
        const unreachable = this.#reach.unreachable().filter((op) => recipients.has(op.operatorId));
        const delivery = { ...this.#delivery(), unreachable };
        const { text, actions } = renderPrompt(view, this.#nameOf, this.#renderOptions, delivery);
        // Buttons name their account only when the relay serves several: a one-account relay keeps
        // the custom IDs it always had, which replicas of the version before it still read.
        const account = (this.#settings.accounts?.length ?? 0) > 1 ? view.account : undefined;
        return { content: text, components: promptComponents(view.loginId, actions, account) };
      },
      refs,
      this.#stopped,
      { recipients, account: view.account },
    );
  }

  /** Tells one operator something, with the notice's buttons (a "which account?" question's). */
  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    this.#assertStarted();
    if (!this.#stopped) await this.#notices.notify(operatorId, notice);
  }

  /**
   * Tells one operator something as a Discord reply to `messageId`, a message of their DM with the
   * bot (their code, a prompt): the answer shows what it answers. Sent as a plain message when that
   * message is gone; never rejects because a DM failed.
   */
  public async reply(operatorId: string, messageId: string, notice: OperatorNotice): Promise<void> {
    this.#assertStarted();
    if (!this.#stopped) await this.#notices.notify(operatorId, notice, messageId);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    this.#assertStarted();
    if (!this.#stopped) await this.#notices.broadcast(notice);
  }

  /**
   * The operators whose last DM failed for good (Discord refused it: DMs closed, an unknown user; or
   * it kept failing), for `/readyz`. Each stays listed until a DM to them goes through.
   */
  public unreachableOperators(): readonly UnreachableOperator[] {
    return this.#reach.unreachable();
  }

  /** Whom the last prompt this channel showed reached, and whom not (`/status`). */
  public lastPrompt(): PromptDelivery | undefined {
    return this.#promptMessages.lastDelivery();
  }

  /** Discord's clock minus the relay's, as learned from the bot's own DMs (0 before the first). */
  public discordClockOffsetMs(): number {
    return this.#clock.offsetMs();
  }

  public isConnected(): boolean {
    return this.connectionState() === 'connected';
  }

  /** Where the gateway connection stands (see {@link DiscordConnectionState}). */
  public connectionState(): DiscordConnectionState {
    if (this.#onInput === undefined || this.#stopped) return 'disconnected';
    if (this.#closedForGood !== undefined) return 'closed';
    const { shards } = this.#client.ws;
    if (shards.size > 0 && shards.every((shard) => shard.status === discord.Status.Ready)) return 'connected';
    return this.#ready ? 'reconnecting' : 'disconnected';
  }

  /**
   * Stops taking operator input, first step of a shutdown: DMs and interactions that arrive from now
   * on are left alone (another relay answers them; with none, Discord shows the operator that the
   * button or command failed, and they try again). Resolves once every DM and interaction already
   * being handled has been delivered or dropped, so an interaction this relay acknowledged (a code
   * modal closed on the operator's screen) reaches the core before the core stops. Prompts, notices
   * and answers to commands still go out until {@link DiscordOperatorChannel.stop}.
   */
  public async stopInputs(): Promise<void> {
    if (this.#acceptingInputs) {
      this.#acceptingInputs = false;
      this.#log.info({ handling: this.#handling.size }, 'no longer taking operator input');
    }
    await Promise.allSettled([...this.#handling]);
  }

  public async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.stopInputs();
    this.#stopped = true;
    this.#stopping.abort();
    await this.#client.destroy();
    this.#log.info('disconnected from Discord');
  }

  // ---- texts ----------------------------------------------------------------------------------

  /** An operator's display name from the cache, or a mention (which Discord renders) when unknown. */
  readonly #nameOf = (operatorId: string): string => {
    const cli = cliOperatorName(operatorId);
    if (cli !== undefined) return discord.escapeMarkdown(cli);
    const user = this.#client.users.cache.get(operatorId);
    return user === undefined ? `<@${operatorId}>` : discord.escapeMarkdown(user.displayName);
  };

  /**
   * What texts say of the DMs: who cannot be reached, whom the last prompt reached (of `account`,
   * for its `/status`: another account's prompt went to other people).
   */
  #delivery(account?: string): DeliveryContext {
    return { unreachable: this.#reach.unreachable(), lastPrompt: this.#promptMessages.lastDelivery(account) };
  }

  /** A notice as the DMs show it. */
  readonly #render = (notice: OperatorNotice): string =>
    renderNotice(
      notice,
      this.#nameOf,
      this.#renderOptions,
      this.#delivery(notice.kind === 'status' ? notice.status.account : undefined),
    );

  #assertStarted(): void {
    if (this.#onInput === undefined)
      throw new DiscordChannelError('not-started', 'the Discord channel is not started');
  }

  // ---- inputs ---------------------------------------------------------------------------------

  #listen(): void {
    const client = this.#client;
    client.on(discord.Events.MessageCreate, (message) => void this.#onMessage(message));
    client.on(discord.Events.InteractionCreate, (interaction) => void this.#onInteraction(interaction));
    logClientEvents(client, this.#log, () => this.#stopped);
    // discord.js emits this only for the close codes it never reconnects after (4004, 4010-4014).
    client.on(discord.Events.ShardDisconnect, (event) => {
      if (this.#stopped || this.#closedForGood !== undefined) return;
      this.#closedForGood = event.code;
      this.#log.error(
        { closeCode: event.code, reason: fatalCloseReason(event.code) },
        'Discord gateway closed for good',
      );
      // During start, the start itself fails with this; after it, the process must hear of it.
      if (this.#ready) this.#fatal(event.code);
    });
  }

  #fatal(closeCode: number): void {
    try {
      this.#settings.onFatal(gatewayClosedError(closeCode));
    } catch (error) {
      this.#log.error({ error: describeError(error) }, 'the fatal-error handler threw');
    }
  }

  async #onMessage(message: Message): Promise<void> {
    if (this.#stopped || message.author.bot) return;
    const input = readDm(message, {
      operatorIds: this.#operatorIds,
      acceptingInputs: this.#acceptingInputs,
      codeDigits: this.#settings.codeDigits,
      strangers: this.#strangers,
      logger: this.#log,
      clock: this.#clock,
    });
    if (input !== undefined) this.#deliver(input);
  }

  async #onInteraction(interaction: Interaction): Promise<void> {
    if (this.#stopped) return;
    if (!this.#acceptingInputs) {
      // Shutting down: left for another relay to answer (or to fail visibly, and be tried again).
      this.#log.info({ userId: interaction.user.id }, 'left an interaction unanswered: shutting down');
      return;
    }
    await this.#track(this.#interactions.handle(interaction));
  }

  /** Keeps `handling` in the set of work `stopInputs` waits for until it settles. */
  async #track(handling: Promise<void>): Promise<void> {
    this.#handling.add(handling);
    try {
      await handling;
    } finally {
      this.#handling.delete(handling);
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
