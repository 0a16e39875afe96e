import {
  ButtonStyle,
  ChannelType,
  ComponentType,
  MessageFlags,
  MessageReferenceType,
  MessageType,
  type APIButtonComponent,
  type APIChannel,
  type APIDMChannel,
  type APIEmbed,
  type APIMessage,
  type APIMessageReference,
  type APIMessageTopLevelComponent,
  type APITextChannel,
  type APIUser,
} from 'discord-api-types/v10';
import { createSnowflakeGenerator } from './snowflake.js';

/** A user of the emulated Discord. */
export interface StoredUser {
  readonly user: APIUser;
  /** False: the user blocks DMs from the bot (Discord answers 50007 "Cannot send messages to this user"). */
  dmsOpen: boolean;
}

/** A channel of the emulated Discord: a DM between the bot and one user, or a guild text channel. */
export type StoredChannel =
  | { readonly kind: 'dm'; readonly id: string; readonly recipientId: string }
  | { readonly kind: 'guild-text'; readonly id: string; readonly guildId: string };

/** A message and what happened to it. */
export interface StoredMessage {
  message: APIMessage;
  editCount: number;
  /** An ephemeral interaction reply: only its user sees it, and no gateway event tells of it. */
  readonly ephemeral: boolean;
}

/** A button as a test sees it. */
export interface EmulatedButton {
  readonly customId: string | undefined;
  readonly label: string | undefined;
  readonly style: ButtonStyle;
  readonly disabled: boolean;
}

/** A message the bot sent, as a test sees it: its current state after every edit. */
export interface EmulatedMessage {
  readonly id: string;
  readonly channelId: string;
  readonly content: string;
  readonly components: readonly APIMessageTopLevelComponent[];
  /** Every button, flattened out of its action rows, in display order. */
  readonly buttons: readonly EmulatedButton[];
  readonly embeds: readonly APIEmbed[];
  readonly flags: number;
  readonly ephemeral: boolean;
  /** How many times the bot edited it (0 for a message never edited). */
  readonly editCount: number;
  /** The message it answers, when it is a Discord reply (`message_reference`). */
  readonly replyTo: string | undefined;
  /** The raw payload Discord would return. */
  readonly raw: APIMessage;
}

/** Fields of a message body the bot may send (`POST /channels/{id}/messages` and its cousins). */
export interface MessageBody {
  content?: string;
  components?: APIMessageTopLevelComponent[];
  embeds?: APIEmbed[];
  flags?: number;
  /** A reply: the message it answers (`fail_if_not_exists` is the sender's to check). */
  message_reference?: Partial<APIMessageReference> & { fail_if_not_exists?: boolean };
}

/**
 * The data of the emulated Discord: users, channels, messages. No I/O here; REST and the gateway
 * read and change it.
 */
export class DiscordWorld {
  /** Discord's clock in epoch ms: the machine's, shifted by the emulator's `clockOffsetMs`. */
  public readonly now: () => number;
  /** A new snowflake, of Discord's time now or of `atMs`. */
  public readonly nextId: (atMs?: number) => string;
  public readonly applicationId: string;
  public readonly botUser: APIUser;
  public readonly users = new Map<string, StoredUser>();
  public readonly channels = new Map<string, StoredChannel>();
  public readonly messages = new Map<string, StoredMessage>();
  readonly #dmChannelByUser = new Map<string, string>();
  #guildChannel: Extract<StoredChannel, { kind: 'guild-text' }> | undefined;

  public constructor(botName: string, clockOffsetMs = 0) {
    this.now = () => Date.now() + clockOffsetMs;
    this.nextId = createSnowflakeGenerator(this.now);
    // A bot user's ID is its application's ID on Discord.
    this.applicationId = this.nextId();
    this.botUser = {
      id: this.applicationId,
      username: botName,
      discriminator: '0000',
      global_name: null,
      avatar: null,
      bot: true,
    };
  }

  public createUser(name: string, dmsOpen: boolean): string {
    const id = this.nextId();
    this.users.set(id, {
      user: { id, username: name, discriminator: '0', global_name: name, avatar: null },
      dmsOpen,
    });
    return id;
  }

  /** The DM channel between the bot and `userId`, created the first time. */
  public dmChannelWith(userId: string): Extract<StoredChannel, { kind: 'dm' }> {
    const existing = this.#dmChannelByUser.get(userId);
    const channel = existing === undefined ? undefined : this.channels.get(existing);
    if (channel?.kind === 'dm') return channel;
    const created = { kind: 'dm', id: this.nextId(), recipientId: userId } as const;
    this.channels.set(created.id, created);
    this.#dmChannelByUser.set(userId, created.id);
    return created;
  }

  public existingDmChannelWith(userId: string): string | undefined {
    return this.#dmChannelByUser.get(userId);
  }

  /** One guild with one text channel, where every user is a member. */
  public guildChannel(): Extract<StoredChannel, { kind: 'guild-text' }> {
    this.#guildChannel ??= { kind: 'guild-text', id: this.nextId(), guildId: this.nextId() };
    this.channels.set(this.#guildChannel.id, this.#guildChannel);
    return this.#guildChannel;
  }

  public apiChannel(channel: StoredChannel): APIChannel {
    if (channel.kind === 'dm') {
      const recipient = this.users.get(channel.recipientId)?.user;
      const dm: APIDMChannel = {
        id: channel.id,
        type: ChannelType.DM,
        name: null,
        last_message_id: this.lastMessageId(channel.id),
        recipients: recipient === undefined ? [] : [recipient],
      };
      return dm;
    }
    const text: APITextChannel = {
      id: channel.id,
      type: ChannelType.GuildText,
      guild_id: channel.guildId,
      name: 'general',
      position: 0,
      nsfw: false,
      parent_id: null,
      permission_overwrites: [],
      rate_limit_per_user: 0,
      topic: null,
      last_message_id: this.lastMessageId(channel.id),
    };
    return text;
  }

  /** Stores a new message in `channelId`, written by `author` now, or at `writtenAtMs` (Discord's clock). */
  public addMessage(
    channelId: string,
    author: APIUser,
    body: MessageBody,
    ephemeral = false,
    writtenAtMs = this.now(),
  ): StoredMessage {
    const id = this.nextId(writtenAtMs);
    // A reply names the message it answers, and carries it (as Discord does, a level deep).
    const referenced =
      body.message_reference?.message_id === undefined
        ? undefined
        : this.messages.get(body.message_reference.message_id);
    const reply =
      referenced === undefined
        ? {}
        : {
            message_reference: {
              type: MessageReferenceType.Default,
              message_id: referenced.message.id,
              channel_id: referenced.message.channel_id,
            },
            referenced_message: referenced.message,
          };
    const message: APIMessage = {
      id,
      channel_id: channelId,
      type: referenced === undefined ? MessageType.Default : MessageType.Reply,
      author,
      content: body.content ?? '',
      timestamp: new Date(writtenAtMs).toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: body.embeds ?? [],
      pinned: false,
      flags: (body.flags ?? 0) | (ephemeral ? MessageFlags.Ephemeral : 0),
      components: body.components ?? [],
      ...reply,
    };
    const stored: StoredMessage = { message, editCount: 0, ephemeral };
    this.messages.set(id, stored);
    return stored;
  }

  /** Applies an edit: fields present in `body` replace the message's. */
  public editMessage(stored: StoredMessage, body: MessageBody): void {
    stored.message = {
      ...stored.message,
      ...(body.content === undefined ? {} : { content: body.content }),
      ...(body.components === undefined ? {} : { components: body.components }),
      ...(body.embeds === undefined ? {} : { embeds: body.embeds }),
      ...(body.flags === undefined ? {} : { flags: body.flags }),
      edited_timestamp: new Date(this.now()).toISOString(),
    };
    stored.editCount += 1;
  }

  public messagesIn(channelId: string): StoredMessage[] {
    return [...this.messages.values()].filter((stored) => stored.message.channel_id === channelId);
  }

  public lastMessageId(channelId: string): string | null {
    return this.messagesIn(channelId).at(-1)?.message.id ?? null;
  }
}

/** The test's view of a stored message. */
export function toEmulatedMessage(stored: StoredMessage): EmulatedMessage {
  const { message } = stored;
  const components = message.components ?? [];
  return {
    id: message.id,
    channelId: message.channel_id,
    content: message.content,
    components,
    buttons: buttonsOf(components),
    embeds: message.embeds,
    flags: message.flags ?? 0,
    ephemeral: stored.ephemeral,
    editCount: stored.editCount,
    replyTo: message.message_reference?.message_id,
    raw: message,
  };
}

function buttonsOf(components: readonly APIMessageTopLevelComponent[]): EmulatedButton[] {
  return components.flatMap((row) =>
    row.type === ComponentType.ActionRow
      ? row.components
          .filter((component): component is APIButtonComponent => component.type === ComponentType.Button)
          .map((button) => ({
            customId: 'custom_id' in button ? button.custom_id : undefined,
            label: 'label' in button ? button.label : undefined,
            style: button.style,
            disabled: button.disabled ?? false,
          }))
      : [],
  );
}

/** Finds the button `customId` in a message's components. */
export function findButton(
  components: readonly APIMessageTopLevelComponent[],
  customId: string,
): APIButtonComponent | undefined {
  for (const row of components) {
    if (row.type !== ComponentType.ActionRow) continue;
    for (const component of row.components) {
      if (
        component.type === ComponentType.Button &&
        'custom_id' in component &&
        component.custom_id === customId
      ) {
        return component;
      }
    }
  }
  return undefined;
}

/**
 * Checks a message body the way Discord does, for the limits a bot can trip over: the problems as
 * Discord's "Invalid Form Body" would list them, or an empty list.
 */
export function messageBodyProblems(body: MessageBody, requireSomething: boolean): string[] {
  const problems: string[] = [];
  if (body.content !== undefined && typeof body.content !== 'string')
    problems.push('content: must be a string');
  if (typeof body.content === 'string' && body.content.length > 2000) {
    problems.push('content: must be 2000 or fewer in length');
  }
  if (
    requireSomething &&
    (body.content ?? '') === '' &&
    (body.components ?? []).length === 0 &&
    (body.embeds ?? []).length === 0
  ) {
    problems.push('cannot send an empty message');
  }
  problems.push(...componentProblems(body.components ?? []));
  return problems;
}

function componentProblems(components: readonly APIMessageTopLevelComponent[]): string[] {
  const problems: string[] = [];
  if (components.length > 5) problems.push('components: must be 5 or fewer in length');
  const customIds = new Set<string>();
  components.forEach((row, rowIndex) => {
    if (row.type !== ComponentType.ActionRow) return;
    const children = row.components;
    if (!Array.isArray(children) || children.length < 1 || children.length > 5) {
      problems.push(`components[${rowIndex}].components: must be between 1 and 5 in length`);
      return;
    }
    children.forEach((child, index) => {
      const where = `components[${rowIndex}].components[${index}]`;
      if (child.type !== ComponentType.Button) return;
      if (child.style === ButtonStyle.Link) {
        if (!('url' in child)) problems.push(`${where}.url: required for a link button`);
        return;
      }
      if (child.style === ButtonStyle.Premium) return;
      const customId = 'custom_id' in child ? child.custom_id : undefined;
      if (typeof customId !== 'string' || customId.length < 1 || customId.length > 100) {
        problems.push(`${where}.custom_id: must be between 1 and 100 in length`);
      } else if (customIds.has(customId)) {
        problems.push(`${where}.custom_id: component custom id cannot be duplicated`);
      } else {
        customIds.add(customId);
      }
      const label = 'label' in child ? child.label : undefined;
      if (label !== undefined && label.length > 80)
        problems.push(`${where}.label: must be 80 or fewer in length`);
      if (label === undefined && !('emoji' in child))
        problems.push(`${where}: a button needs a label or an emoji`);
    });
  });
  return problems;
}
