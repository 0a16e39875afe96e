import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  APIVersion,
  ApplicationCommandType,
  ApplicationFlags,
  ApplicationIntegrationType,
  ChannelType,
  ComponentType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  InteractionContextType,
  InteractionType,
  Locale,
  PermissionFlagsBits,
  type APIApplication,
  type APIApplicationCommand,
  type APIChatInputApplicationCommandDMInteraction,
  type APIChatInputApplicationCommandGuildInteraction,
  type APIChatInputApplicationCommandInteractionData,
  type APIMessageComponentDMInteraction,
  type APIModalSubmitDMInteraction,
  type RESTGetAPIGatewayBotResult,
  type RESTPostAPICurrentUserCreateDMChannelJSONBody,
  type RESTPutAPIApplicationCommandsJSONBody,
  type GuildMemberFlags,
} from 'discord-api-types/v10';
import { commandProblems, interactionOptions, type CommandOptionValue } from './commands.js';
import { GatewayServer, type GatewayStats } from './gateway.js';
import { Errors, RestError, Router, readJsonBody, sendJson, type RestRequest } from './http.js';
import { InteractionDesk, modalSubmission, type InteractionCallback } from './interactions.js';
import {
  DiscordWorld,
  findButton,
  messageBodyProblems,
  toEmulatedMessage,
  type EmulatedMessage,
  type MessageBody,
  type StoredChannel,
  type StoredMessage,
} from './model.js';

/** Options of {@link startDiscordEmulator}. */
export interface DiscordEmulatorOptions {
  /** The bot's username. */
  botName?: string;
  /** HELLO's `heartbeat_interval`. Discord's is 41.25 s. */
  heartbeatIntervalMs?: number;
  /** How long the bot has to answer an interaction before Discord forgets it. */
  interactionTimeoutMs?: number;
  /** Privileged intents switched on for the application (`GatewayIntentBits` bits); none by default. */
  privilegedIntents?: number;
  /** Added before every REST answer, to see the bot under a slower Discord. */
  restLatencyMs?: number;
  /** How long `waitFor` waits unless told otherwise (end-to-end tests wait for whole processes). */
  waitForTimeoutMs?: number;
  /**
   * How far Discord's clock is ahead of the machine's (negative: behind), in ms: added to every
   * timestamp and snowflake the emulator makes (messages, edits, interactions, users, channels).
   * Its own waits (interaction time-outs, nonce memory) keep to the machine's clock.
   */
  clockOffsetMs?: number;
}

const DEFAULT_OPTIONS = {
  botName: 'otp-relay-test',
  heartbeatIntervalMs: 41_250,
  interactionTimeoutMs: 3_000,
  privilegedIntents: 0,
  restLatencyMs: 0,
  waitForTimeoutMs: 5_000,
  clockOffsetMs: 0,
} as const satisfies Required<DiscordEmulatorOptions>;

/** One REST request the emulator answered. */
export interface RestCall {
  readonly method: string;
  /** The route's template, e.g. `/channels/:channelId/messages`; `unknown` when no route matched. */
  readonly route: string;
  /** The path under `/api/v10`, with its real IDs. */
  readonly path: string;
  readonly status: number;
  readonly at: Date;
}

/** Options of {@link DiscordEmulator.runCommand}. */
export interface RunCommandOptions {
  /** Run it in the guild's text channel instead of the user's DM with the bot. */
  inGuild?: boolean;
  /**
   * Deliver it even where its `contexts` keep Discord from offering it (a command registered
   * without that context), to test the bot's own guard. Off by default: such a run throws.
   */
  ignoreContexts?: boolean;
  /**
   * The options the user fills in, by name (`{ account: 'live' }`). Checked against the registered
   * command as Discord's client would: a name it does not have, a value outside its choices or its
   * length, or a missing required option throws.
   */
  options?: Readonly<Record<string, CommandOptionValue>>;
}

/** Options of {@link DiscordEmulator.sendDm}. */
export interface SendDmOptions {
  /**
   * The message reaches the bot that long after Discord stamped it (a gateway that lagged, or
   * replayed it on a resume): its timestamp and snowflake are that much earlier.
   */
  delayedByMs?: number;
  /**
   * The user writes it as a Discord reply to this message of their DM (a prompt, say): it carries a
   * `message_reference` and the message it answers. Throws when no such message is in the DM.
   */
  replyTo?: string;
}

/** Options of {@link DiscordEmulator.failDmsTo}. */
export interface FailDmsOptions {
  /** How many requests fail; default 1. */
  times?: number;
  /** Default 500. */
  status?: number;
  /** The request takes effect, then fails (a lost answer). Default false: no effect. */
  applied?: boolean;
}

/** Options of {@link DiscordEmulator.waitFor}. */
export interface WaitForOptions {
  /** Default: the emulator's `waitForTimeoutMs` (5000). */
  timeoutMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/** A running Discord emulator: REST and gateway on 127.0.0.1, and what tests do and see through it. */
export interface DiscordEmulator {
  /** discord.js `rest.api` (`DISCORD_API_URL`): `http://127.0.0.1:PORT/api`. */
  readonly apiUrl: string;
  /** What `GET /gateway/bot` announces: `ws://127.0.0.1:PORT/gateway`. */
  readonly gatewayUrl: string;
  /** The only token REST and the gateway accept; anything else gets 401 / close 4004. */
  readonly botToken: string;
  readonly botUserId: string;
  /** Same as {@link botUserId}, as on Discord. */
  readonly applicationId: string;

  /** Creates a user; `dmsOpen: false` makes every DM from the bot fail with 50007. Returns the ID. */
  createUser(name?: string, options?: { dmsOpen?: boolean }): string;
  /** Opens or closes the user's DMs to the bot (their privacy setting): closed, DMs fail with 50007. */
  setDmsOpen(userId: string, open: boolean): void;
  /**
   * The user writes `content` in their DM with the bot (MESSAGE_CREATE), possibly late or as a
   * reply (see {@link SendDmOptions}). Returns the message's ID.
   */
  sendDm(userId: string, content: string, options?: SendDmOptions): string;
  /** The user writes in a guild text channel (MESSAGE_CREATE, only with GuildMessages). Returns the ID. */
  sendGuildMessage(userId: string, content: string): string;
  /**
   * The user presses button `customId` of message `messageId` in their DM (INTERACTION_CREATE): any
   * message of the bot there, a prompt, a notice or a command's reply.
   * Settles with the bot's callback, or fails when none comes within the interaction timeout.
   * Throws when the message has no such enabled button: a real user could not press it.
   */
  clickButton(userId: string, messageId: string, customId: string): Promise<InteractionCallback>;
  /**
   * The user submits modal `customId` with `values` by field custom ID (INTERACTION_CREATE
   * MODAL_SUBMIT), laid out like the modal the bot showed. `messageId` defaults to the message whose
   * button opened that modal.
   */
  submitModal(
    userId: string,
    customId: string,
    values: Readonly<Record<string, string>>,
    messageId?: string,
  ): Promise<InteractionCallback>;

  /**
   * The user runs the slash command `/name` (INTERACTION_CREATE of type APPLICATION_COMMAND, a
   * CHAT_INPUT command, with the `options` given) in their DM with the bot, or with `inGuild` in the
   * guild's text channel. Settles with the bot's callback (a deferred reply is
   * `DeferredChannelMessageWithSource`), or fails when none comes within the interaction timeout.
   * Throws when no such command is registered, or when its `contexts` leave out where it is run:
   * a real user could not run it.
   *
   * What the bot makes of the reply later (`PATCH /webhooks/{appId}/{token}/messages/@original`)
   * is seen with {@link interactionReply}.
   */
  runCommand(userId: string, name: string, options?: RunCommandOptions): Promise<InteractionCallback>;
  /**
   * The reply of interaction `interactionId` (its `@original`), as it is now: the message its
   * callback made, with the bot's webhook edits applied and counted in `editCount`. A deferred
   * reply shows `MessageFlags.Loading` and no content until its first edit. For a (deferred)
   * update, the message updated. `undefined` before the callback and after a modal.
   */
  interactionReply(interactionId: string): EmulatedMessage | undefined;

  /** Messages the bot sent in the user's DM (ephemeral replies included), as they are now. */
  dmsTo(userId: string): readonly EmulatedMessage[];
  /** Every interaction callback the bot sent, in order. */
  readonly interactionCallbacks: readonly InteractionCallback[];
  /** Every REST request, in order. */
  readonly restCalls: readonly RestCall[];
  /** Everything the emulator refused (bad token, invalid body, unknown route, late callback…). */
  readonly problems: readonly string[];
  /** Gateway counters. */
  readonly gateway: GatewayStats;
  /** Global commands, as last set by `PUT /applications/{id}/commands`. */
  readonly registeredCommands: readonly APIApplicationCommand[];

  /**
   * Resolves with the first truthy value of `predicate`, checked on every emulator event and every
   * 10 ms (for state outside the emulator); rejects after `timeoutMs`.
   */
  waitFor<T>(predicate: () => T | undefined | null | false, options?: WaitForOptions): Promise<T>;
  /**
   * Makes requests to one route fail: `method` and the route's template as in {@link RestCall}
   * (e.g. `PUT`, `/applications/:appId/commands`) get `status` (default 500) with no effect, `times`
   * times (default: until the returned function is called). discord.js retries a 5xx answer.
   */
  failRequests(method: string, route: string, options?: { status?: number; times?: number }): () => void;
  /**
   * Makes the bot's next DMs to one user fail: `POST` and `PATCH` of messages in the user's DM
   * channel get `status` (default 500), `times` times (default 1; discord.js retries a 5xx answer 3
   * times by itself, so 4 failures make one failed send). With `applied`, each request takes effect
   * before it fails, as when Discord's answer is lost. Returns a function that stops the failures.
   */
  failDmsTo(userId: string, options?: FailDmsOptions): () => void;
  /**
   * Drops the gateway connections with `code` (default 4000: discord.js resumes). A code discord.js
   * treats as final (4004 authentication failed, 4010-4014, e.g. 4014 disallowed intents) makes it
   * give up for good, as a revoked token or a change in the developer portal does on Discord.
   */
  closeGateway(code?: number, options?: { invalidateSession?: boolean }): Promise<void>;
  /**
   * Holds new gateway connections: their upgrade requests wait, unanswered, until the returned
   * function is called. With {@link closeGateway}, keeps the bot reconnecting for as long as a test
   * needs.
   */
  holdGateway(): () => void;
  /**
   * Closes every IDENTIFY with `code` (e.g. 4004, 4014) until the returned function is called, while
   * REST goes on taking the token.
   */
  refuseIdentify(code: number): () => void;
  /** Closes the server, every socket and timer. */
  close(): Promise<void>;
}

const POLL_INTERVAL_MS = 10;
/** How long Discord remembers a message's nonce for `enforce_nonce` ("the past few minutes"). */
const NONCE_MEMORY_MS = 5 * 60_000;

/** Starts an emulator on a free port of 127.0.0.1. */
export async function startDiscordEmulator(options?: DiscordEmulatorOptions): Promise<DiscordEmulator> {
  const settings = { ...DEFAULT_OPTIONS, ...options };
  const emulator = new Emulator(settings);
  await emulator.listen();
  return emulator;
}

class Emulator implements DiscordEmulator {
  public readonly botToken: string;
  public readonly restCalls: RestCall[] = [];
  public readonly problems: string[] = [];
  public registeredCommands: APIApplicationCommand[] = [];

  readonly #settings: Required<DiscordEmulatorOptions>;
  readonly #events = new EventEmitter();
  readonly #world: DiscordWorld;
  readonly #gateway: GatewayServer;
  readonly #desk: InteractionDesk;
  readonly #router = new Router();
  readonly #server = createServer((request, response) => void this.#onRequest(request, response));
  readonly #waiters = new Set<(error: Error) => void>();
  readonly #faults = new Map<string, { status: number; timesLeft: number }>();
  readonly #dmFaults = new Map<string, { status: number; timesLeft: number; applied: boolean }>();
  /** `channelId:authorId:nonce` → the message made with it, and when. */
  readonly #nonces = new Map<string, { messageId: string; atMs: number }>();
  /** Upgrade requests waiting while the gateway is held; `undefined` when it is not. */
  #heldUpgrades: { readonly run: () => void; readonly socket: Duplex }[] | undefined;
  #port = 0;

  public constructor(settings: Required<DiscordEmulatorOptions>) {
    this.#settings = settings;
    this.#events.setMaxListeners(0);
    this.#world = new DiscordWorld(settings.botName, settings.clockOffsetMs);
    // Shaped like a real token: base64 user ID, timestamp, HMAC.
    this.botToken = [
      Buffer.from(this.#world.botUser.id).toString('base64url'),
      randomBytes(6).toString('base64url'),
      randomBytes(27).toString('base64url'),
    ].join('.');
    this.#gateway = new GatewayServer({
      token: this.botToken,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      privilegedIntents: settings.privilegedIntents,
      baseUrl: () => `ws://127.0.0.1:${this.#port}`,
      ready: () => ({
        v: Number(APIVersion),
        user: this.#world.botUser,
        guilds: [],
        application: { id: this.#world.applicationId, flags: 0 as ApplicationFlags, flags_new: '0' },
      }),
      onChange: () => this.#changed(),
      onProblem: (problem) => this.#problem(problem),
    });
    this.#desk = new InteractionDesk({
      world: this.#world,
      timeoutMs: settings.interactionTimeoutMs,
      announce: (stored, change) => this.#announce(stored, change),
      onChange: () => this.#changed(),
      onProblem: (problem) => this.#problem(problem),
    });
    this.#routes();
    this.#server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
      const path = new URL(request.url ?? '/', 'ws://localhost').pathname;
      if (path !== '/gateway' && path !== '/resume') {
        socket.destroy();
        return;
      }
      const upgrade = (): void => {
        if (!socket.destroyed) this.#gateway.handleUpgrade(request, socket, head);
      };
      if (this.#heldUpgrades === undefined) upgrade();
      else this.#heldUpgrades.push({ run: upgrade, socket });
    });
  }

  public get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  public get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/gateway`;
  }

  public get botUserId(): string {
    return this.#world.botUser.id;
  }

  public get applicationId(): string {
    return this.#world.applicationId;
  }

  public get interactionCallbacks(): readonly InteractionCallback[] {
    return this.#desk.callbacks;
  }

  public get gateway(): GatewayStats {
    return this.#gateway.stats;
  }

  public async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  public createUser(name?: string, options?: { dmsOpen?: boolean }): string {
    return this.#world.createUser(name ?? `user${this.#world.users.size + 1}`, options?.dmsOpen ?? true);
  }

  public setDmsOpen(userId: string, open: boolean): void {
    const user = this.#world.users.get(userId);
    if (user === undefined) throw new Error(`no such user: ${userId}`);
    user.dmsOpen = open;
  }

  public sendDm(userId: string, content: string, options?: SendDmOptions): string {
    const user = this.#user(userId);
    const channel = this.#world.dmChannelWith(userId);
    const writtenAtMs = this.#world.now() - (options?.delayedByMs ?? 0);
    const replyTo = options?.replyTo;
    if (replyTo !== undefined && this.#world.messages.get(replyTo)?.message.channel_id !== channel.id) {
      throw new Error(`message ${replyTo} is not in the DM of user ${userId}: it cannot be replied to`);
    }
    const body =
      replyTo === undefined ? { content } : { content, message_reference: { message_id: replyTo } };
    const stored = this.#world.addMessage(channel.id, user, body, false, writtenAtMs);
    this.#announce(stored, 'create');
    return stored.message.id;
  }

  public sendGuildMessage(userId: string, content: string): string {
    const user = this.#user(userId);
    const channel = this.#world.guildChannel();
    const stored = this.#world.addMessage(channel.id, user, { content });
    this.#announce(stored, 'create');
    return stored.message.id;
  }

  public async clickButton(
    userId: string,
    messageId: string,
    customId: string,
  ): Promise<InteractionCallback> {
    const user = this.#user(userId);
    const channelId = this.#world.existingDmChannelWith(userId);
    const stored = this.#world.messages.get(messageId);
    if (channelId === undefined || stored?.message.channel_id !== channelId) {
      throw new Error(`message ${messageId} is not in the DM of user ${userId}`);
    }
    const button = findButton(stored.message.components ?? [], customId);
    if (button === undefined) throw new Error(`message ${messageId} has no button ${customId}`);
    if (button.disabled === true) throw new Error(`button ${customId} of message ${messageId} is disabled`);
    const channel = this.#world.channels.get(channelId) as StoredChannel;
    const id = this.#world.nextId();
    const { token, answered } = this.#desk.open({
      id,
      type: InteractionType.MessageComponent,
      userId,
      channelId,
      sourceMessageId: messageId,
    });
    const interaction: APIMessageComponentDMInteraction = {
      ...this.#interactionBase(id, token, channel),
      type: InteractionType.MessageComponent,
      user,
      message: stored.message,
      data: { custom_id: customId, component_type: ComponentType.Button },
    };
    this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, () => interaction);
    return answered;
  }

  public async submitModal(
    userId: string,
    customId: string,
    values: Readonly<Record<string, string>>,
    messageId?: string,
  ): Promise<InteractionCallback> {
    const user = this.#user(userId);
    const channel = this.#world.dmChannelWith(userId);
    const shown = this.#desk.shownModal(userId, customId);
    const sourceMessageId = messageId ?? shown?.sourceMessageId;
    const source = sourceMessageId === undefined ? undefined : this.#world.messages.get(sourceMessageId);
    if (sourceMessageId !== undefined && source?.message.channel_id !== channel.id) {
      throw new Error(`message ${sourceMessageId} is not in the DM of user ${userId}`);
    }
    const components = modalSubmission(shown, values);
    const id = this.#world.nextId();
    const { token, answered } = this.#desk.open({
      id,
      type: InteractionType.ModalSubmit,
      userId,
      channelId: channel.id,
      sourceMessageId,
    });
    const interaction: APIModalSubmitDMInteraction = {
      ...this.#interactionBase(id, token, channel),
      type: InteractionType.ModalSubmit,
      user,
      ...(source === undefined ? {} : { message: source.message }),
      data: { custom_id: customId, components },
    };
    this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, () => interaction);
    return answered;
  }

  public async runCommand(
    userId: string,
    name: string,
    options?: RunCommandOptions,
  ): Promise<InteractionCallback> {
    const user = this.#user(userId);
    const command = this.registeredCommands.find(
      (registered) => registered.name === name && registered.type === ApplicationCommandType.ChatInput,
    );
    if (command === undefined) throw new Error(`no slash command /${name} is registered`);
    const inGuild = options?.inGuild ?? false;
    const context = inGuild ? InteractionContextType.Guild : InteractionContextType.BotDM;
    // No `contexts` means every context, as on Discord.
    const contexts = command.contexts ?? undefined;
    if (contexts !== undefined && !contexts.includes(context) && options?.ignoreContexts !== true) {
      throw new Error(
        `/${name} is not offered ${inGuild ? 'in a guild' : 'in the DM with the bot'} (contexts ${JSON.stringify(contexts)})`,
      );
    }
    // Checked first: options a real user could not give open no interaction.
    const given = interactionOptions(command, options?.options ?? {});
    const channel = inGuild ? this.#world.guildChannel() : this.#world.dmChannelWith(userId);
    const id = this.#world.nextId();
    const { token, answered } = this.#desk.open({
      id,
      type: InteractionType.ApplicationCommand,
      userId,
      channelId: channel.id,
      sourceMessageId: undefined,
    });
    const data: APIChatInputApplicationCommandInteractionData = {
      id: command.id,
      name: command.name,
      type: ApplicationCommandType.ChatInput,
      ...(given === undefined ? {} : { options: given }),
    };
    const base = this.#interactionBase(id, token, channel);
    if (channel.kind === 'dm') {
      const interaction: APIChatInputApplicationCommandDMInteraction = {
        ...base,
        type: InteractionType.ApplicationCommand,
        user,
        data,
      };
      this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, () => interaction);
    } else {
      const interaction: APIChatInputApplicationCommandGuildInteraction = {
        ...base,
        type: InteractionType.ApplicationCommand,
        context: InteractionContextType.Guild,
        authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: channel.guildId },
        guild_id: channel.guildId,
        guild: { id: channel.guildId, features: [], locale: Locale.EnglishUS },
        guild_locale: Locale.EnglishUS,
        member: {
          user,
          roles: [],
          permissions: String(PermissionFlagsBits.SendMessages | PermissionFlagsBits.UseApplicationCommands),
          joined_at: new Date(0).toISOString(),
          deaf: false,
          mute: false,
          flags: 0 as GuildMemberFlags,
        },
        data,
      };
      this.#gateway.dispatch(GatewayDispatchEvents.InteractionCreate, () => interaction);
    }
    return answered;
  }

  public interactionReply(interactionId: string): EmulatedMessage | undefined {
    const stored = this.#desk.originalOf(interactionId);
    return stored === undefined ? undefined : toEmulatedMessage(stored);
  }

  public dmsTo(userId: string): readonly EmulatedMessage[] {
    const channelId = this.#world.existingDmChannelWith(userId);
    if (channelId === undefined) return [];
    return this.#world
      .messagesIn(channelId)
      .filter((stored) => stored.message.author.id === this.#world.botUser.id)
      .map(toEmulatedMessage);
  }

  public waitFor<T>(predicate: () => T | undefined | null | false, options?: WaitForOptions): Promise<T> {
    const timeoutMs = options?.timeoutMs ?? this.#settings.waitForTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const finish = (outcome: { value: T } | { error: Error }): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.#events.off('change', check);
        this.#waiters.delete(fail);
        if ('value' in outcome) resolve(outcome.value);
        else reject(outcome.error);
      };
      const fail = (error: Error): void => finish({ error });
      const check = (): void => {
        try {
          const value = predicate();
          if (value !== undefined && value !== null && value !== false) finish({ value });
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
        }
      };
      const timer = setTimeout(
        () =>
          fail(
            new Error(`waitFor timed out after ${timeoutMs} ms${options?.what ? `: ${options.what}` : ''}`),
          ),
        timeoutMs,
      );
      const poll = setInterval(check, POLL_INTERVAL_MS);
      this.#events.on('change', check);
      this.#waiters.add(fail);
      check();
    });
  }

  public failRequests(
    method: string,
    route: string,
    options?: { status?: number; times?: number },
  ): () => void {
    const key = `${method} ${route}`;
    const fault = { status: options?.status ?? 500, timesLeft: options?.times ?? Number.POSITIVE_INFINITY };
    this.#faults.set(key, fault);
    return () => {
      if (this.#faults.get(key) === fault) this.#faults.delete(key);
    };
  }

  /** Throws the error a test asked {@link failRequests} for, if any is left for this route. */
  #injectedFault(method: string, route: string): void {
    const key = `${method} ${route}`;
    const fault = this.#faults.get(key);
    if (fault === undefined) return;
    fault.timesLeft -= 1;
    if (fault.timesLeft <= 0) this.#faults.delete(key);
    throw new RestError(fault.status, 0, `${fault.status}: failure injected by the test`);
  }

  public failDmsTo(userId: string, options?: FailDmsOptions): () => void {
    this.#user(userId);
    const fault = {
      status: options?.status ?? 500,
      timesLeft: options?.times ?? 1,
      applied: options?.applied ?? false,
    };
    this.#dmFaults.set(userId, fault);
    return () => {
      if (this.#dmFaults.get(userId) === fault) this.#dmFaults.delete(userId);
    };
  }

  /**
   * Takes one failure {@link failDmsTo} asked for, if any is left for the DM channel `channel`:
   * returns the error to answer with, after the effect (`applied`) or before it.
   */
  #dmFault(channel: StoredChannel): { error: RestError; applied: boolean } | undefined {
    if (channel.kind !== 'dm') return undefined;
    const fault = this.#dmFaults.get(channel.recipientId);
    if (fault === undefined) return undefined;
    fault.timesLeft -= 1;
    if (fault.timesLeft <= 0) this.#dmFaults.delete(channel.recipientId);
    return {
      error: new RestError(fault.status, 0, `${fault.status}: failure injected by the test`),
      applied: fault.applied,
    };
  }

  /**
   * A reply's `message_reference`, as Discord takes it: the message must be in the same channel;
   * when it is not there, the send fails (Discord's "Unknown message") unless `fail_if_not_exists`
   * is false, and then the message goes out as a plain one.
   */
  #replyReference<T extends MessageBody>(channel: StoredChannel, body: T): T {
    const reference = body.message_reference;
    if (reference === undefined) return body;
    const target =
      reference.message_id === undefined ? undefined : this.#world.messages.get(reference.message_id);
    if (target?.message.channel_id === channel.id) return body;
    if (reference.fail_if_not_exists !== false) {
      throw Errors.invalidForm(['message_reference: Unknown message']);
    }
    const { message_reference: _dropped, ...plain } = body;
    return plain as T;
  }

  /**
   * Discord's `enforce_nonce`: a message with the nonce of one the same author made in the same
   * channel a few minutes ago is not made again; that one is returned.
   */
  #sameNonce(channelId: string, body: MessageBody & { nonce?: unknown; enforce_nonce?: unknown }) {
    if (body.enforce_nonce !== true || (typeof body.nonce !== 'string' && typeof body.nonce !== 'number')) {
      return { key: undefined, existing: undefined };
    }
    const key = `${channelId}:${this.#world.botUser.id}:${String(body.nonce)}`;
    const seen = this.#nonces.get(key);
    const existing =
      seen !== undefined && Date.now() - seen.atMs <= NONCE_MEMORY_MS
        ? this.#world.messages.get(seen.messageId)
        : undefined;
    return { key, existing };
  }

  public async closeGateway(code = 4000, options?: { invalidateSession?: boolean }): Promise<void> {
    await this.#gateway.closeAll(code, options?.invalidateSession ?? false);
  }

  public refuseIdentify(code: number): () => void {
    return this.#gateway.refuseIdentify(code);
  }

  public holdGateway(): () => void {
    const held: { readonly run: () => void; readonly socket: Duplex }[] = [];
    this.#heldUpgrades = held;
    return () => {
      if (this.#heldUpgrades === held) this.#heldUpgrades = undefined;
      for (const upgrade of held.splice(0)) upgrade.run();
    };
  }

  public async close(): Promise<void> {
    for (const upgrade of this.#heldUpgrades?.splice(0) ?? []) upgrade.socket.destroy();
    this.#heldUpgrades = undefined;
    this.#desk.close();
    for (const fail of [...this.#waiters]) fail(new Error('the Discord emulator closed'));
    await this.#gateway.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#events.removeAllListeners();
  }

  #user(userId: string) {
    const stored = this.#world.users.get(userId);
    if (stored === undefined) throw new Error(`no user ${userId}: create it with createUser()`);
    return stored.user;
  }

  #interactionBase(id: string, token: string, channel: StoredChannel) {
    const apiChannel = this.#world.apiChannel(channel);
    return {
      id,
      application_id: this.#world.applicationId,
      token,
      version: 1 as const,
      channel: apiChannel,
      channel_id: channel.id,
      app_permissions: '0',
      locale: Locale.EnglishUS,
      entitlements: [],
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: '0' },
      context: InteractionContextType.BotDM,
      attachment_size_limit: 10 * 1024 * 1024,
    };
  }

  /** Tells the gateway of a message as Discord would, with the intent each kind of channel needs. */
  #announce(stored: StoredMessage, change: 'create' | 'update'): void {
    const channel = this.#world.channels.get(stored.message.channel_id);
    if (channel === undefined) return;
    const event =
      change === 'create' ? GatewayDispatchEvents.MessageCreate : GatewayDispatchEvents.MessageUpdate;
    if (channel.kind === 'dm') {
      this.#gateway.dispatch(
        event,
        () => ({ ...stored.message, channel_type: ChannelType.DM }),
        GatewayIntentBits.DirectMessages,
      );
      return;
    }
    const fromBot = stored.message.author.id === this.#world.botUser.id;
    this.#gateway.dispatch(
      event,
      (intents) => ({
        ...stored.message,
        // Without the privileged intent, guild messages of others arrive with empty content.
        ...((intents & GatewayIntentBits.MessageContent) === 0 && !fromBot
          ? { content: '', embeds: [], components: [] }
          : {}),
        guild_id: channel.guildId,
        channel_type: ChannelType.GuildText,
        member: { roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 },
      }),
      GatewayIntentBits.GuildMessages,
    );
  }

  #changed(): void {
    this.#events.emit('change');
  }

  #problem(problem: string): void {
    this.problems.push(problem);
  }

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://localhost');
    const prefix = `/api/v${APIVersion}`;
    const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
    const match = url.pathname.startsWith(`${prefix}/`) ? this.#router.match(method, path) : undefined;
    let status = 200;
    try {
      if (this.#settings.restLatencyMs > 0) await delay(this.#settings.restLatencyMs);
      if (match === undefined) throw Errors.notFound();
      const authorized = request.headers.authorization === `Bot ${this.botToken}`;
      if (match.route.auth && !authorized) throw Errors.unauthorized();
      this.#injectedFault(method, match.route.template);
      const body = await readJsonBody(request);
      const restRequest: RestRequest = {
        method,
        path,
        params: match.params,
        query: url.searchParams,
        body,
        authorized,
      };
      const result = match.route.handler(restRequest);
      status = result === undefined ? 204 : 200;
      sendJson(response, status, result);
    } catch (error) {
      const restError =
        error instanceof RestError ? error : new RestError(500, 0, '500: Internal Server Error');
      if (!(error instanceof RestError))
        this.#problem(`REST ${method} ${path}: emulator error ${String(error)}`);
      status = restError.status;
      this.#problem(`REST ${method} ${match?.route.template ?? path}: ${status} ${restError.message}`);
      if (!response.headersSent) sendJson(response, status, restError.body());
    }
    this.restCalls.push({ method, route: match?.route.template ?? 'unknown', path, status, at: new Date() });
    this.#changed();
  }

  #routes(): void {
    const r = this.#router;
    const world = this.#world;

    r.add('GET', '/gateway', () => ({ url: this.gatewayUrl }), { auth: false });
    r.add('GET', '/gateway/bot', () => {
      const result: RESTGetAPIGatewayBotResult = {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: {
          total: 1000,
          remaining: 1000 - this.#gateway.stats.identifies,
          reset_after: 86_400_000,
          max_concurrency: 1,
        },
      };
      return result;
    });

    r.add('GET', '/users/@me', () => world.botUser);
    r.add('GET', '/users/:userId', ({ params }) => {
      const stored = world.users.get(params.userId ?? '');
      if (stored === undefined) throw Errors.unknownUser();
      return stored.user;
    });
    r.add('POST', '/users/@me/channels', ({ body }) => {
      const recipientId = (body as Partial<RESTPostAPICurrentUserCreateDMChannelJSONBody> | undefined)
        ?.recipient_id;
      if (typeof recipientId !== 'string' || !world.users.has(recipientId)) {
        throw Errors.invalidForm(['recipient_id: unknown user']);
      }
      return world.apiChannel(world.dmChannelWith(recipientId));
    });

    r.add('GET', '/channels/:channelId', ({ params }) => world.apiChannel(this.#channel(params.channelId)));
    r.add('GET', '/channels/:channelId/messages/:messageId', ({ params }) => {
      return this.#message(params.channelId, params.messageId).message;
    });
    r.add('POST', '/channels/:channelId/messages', ({ params, body }) => {
      const channel = this.#channel(params.channelId);
      const fault = this.#dmFault(channel);
      if (fault !== undefined && !fault.applied) throw fault.error;
      if (channel.kind === 'dm' && world.users.get(channel.recipientId)?.dmsOpen === false)
        throw Errors.cannotDm();
      const sent: MessageBody & { nonce?: unknown; enforce_nonce?: unknown } = body ?? {};
      const data = this.#replyReference(channel, sent);
      const problems = messageBodyProblems(data, true);
      if (problems.includes('cannot send an empty message')) throw Errors.cannotSendEmpty();
      if (problems.length > 0) throw Errors.invalidForm(problems);
      const { key, existing } = this.#sameNonce(channel.id, data);
      if (existing !== undefined) {
        if (fault !== undefined) throw fault.error;
        return existing.message;
      }
      const stored = world.addMessage(channel.id, world.botUser, data);
      if (key !== undefined) this.#nonces.set(key, { messageId: stored.message.id, atMs: Date.now() });
      this.#announce(stored, 'create');
      if (fault !== undefined) throw fault.error;
      return stored.message;
    });
    r.add('PATCH', '/channels/:channelId/messages/:messageId', ({ params, body }) => {
      const fault = this.#dmFault(this.#channel(params.channelId));
      if (fault !== undefined && !fault.applied) throw fault.error;
      const stored = this.#message(params.channelId, params.messageId);
      if (stored.message.author.id !== world.botUser.id) throw Errors.cannotEditOthers();
      const data = (body ?? {}) as MessageBody;
      const problems = messageBodyProblems(data, false);
      if (problems.length > 0) throw Errors.invalidForm(problems);
      world.editMessage(stored, data);
      this.#announce(stored, 'update');
      if (fault !== undefined) throw fault.error;
      return stored.message;
    });

    r.add(
      'POST',
      '/interactions/:interactionId/:token/callback',
      ({ params, body, query }) =>
        this.#desk.callback(
          params.interactionId ?? '',
          params.token ?? '',
          body,
          query.get('with_response') === 'true',
        ),
      { auth: false },
    );
    const webhook = (appId: string | undefined): void => {
      if (appId !== world.applicationId) throw Errors.unknownWebhook();
    };
    r.add(
      'GET',
      '/webhooks/:appId/:token/messages/@original',
      ({ params }) => {
        webhook(params.appId);
        return this.#desk.getOriginal(params.token ?? '').message;
      },
      { auth: false },
    );
    r.add(
      'PATCH',
      '/webhooks/:appId/:token/messages/@original',
      ({ params, body }) => {
        webhook(params.appId);
        return this.#desk.editOriginal(params.token ?? '', body).message;
      },
      { auth: false },
    );
    r.add(
      'POST',
      '/webhooks/:appId/:token',
      ({ params, body, query }) => {
        webhook(params.appId);
        const stored = this.#desk.followUp(params.token ?? '', body);
        return query.get('wait') === 'true' ? stored.message : undefined;
      },
      { auth: false },
    );

    r.add('GET', '/applications/@me', () => this.#application());
    r.add('GET', '/applications/:appId/commands', ({ params }) => {
      if (params.appId !== world.applicationId) throw Errors.unauthorized();
      return this.registeredCommands;
    });
    r.add('PUT', '/applications/:appId/commands', ({ params, body }) => {
      if (params.appId !== world.applicationId) throw Errors.unauthorized();
      if (!Array.isArray(body)) throw Errors.invalidForm(['the body must be an array of commands']);
      const problems = commandProblems(body as RESTPutAPIApplicationCommandsJSONBody);
      if (problems.length > 0) throw Errors.invalidForm(problems);
      this.registeredCommands = (body as RESTPutAPIApplicationCommandsJSONBody).map((command) => ({
        ...command,
        id: this.registeredCommands.find((existing) => existing.name === command.name)?.id ?? world.nextId(),
        application_id: world.applicationId,
        type: command.type ?? ApplicationCommandType.ChatInput,
        description: 'description' in command ? (command.description ?? '') : '',
        default_member_permissions: command.default_member_permissions ?? null,
        version: world.nextId(),
      })) as APIApplicationCommand[];
      return this.registeredCommands;
    });
  }

  #channel(channelId: string | undefined): StoredChannel {
    const channel = channelId === undefined ? undefined : this.#world.channels.get(channelId);
    if (channel === undefined) throw Errors.unknownChannel();
    return channel;
  }

  #message(channelId: string | undefined, messageId: string | undefined): StoredMessage {
    const channel = this.#channel(channelId);
    const stored = messageId === undefined ? undefined : this.#world.messages.get(messageId);
    if (stored === undefined || stored.message.channel_id !== channel.id) throw Errors.unknownMessage();
    return stored;
  }

  #application(): APIApplication {
    return {
      id: this.#world.applicationId,
      name: this.#settings.botName,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      bot: this.#world.botUser,
      summary: '',
      verify_key: randomBytes(32).toString('hex'),
      team: null,
      flags: ApplicationFlags.GatewayMessageContentLimited,
      flags_new: String(ApplicationFlags.GatewayMessageContentLimited),
      scopes: [],
      permissions: '0',
    } as APIApplication;
  }
}
