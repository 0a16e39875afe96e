import { randomBytes } from 'node:crypto';
import {
  ComponentType,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  type APIInteractionResponse,
  type APIModalInteractionResponseCallbackData,
  type APIModalSubmissionComponent,
  type RESTPostAPIInteractionCallbackWithResponseResult,
} from 'discord-api-types/v10';
import { Errors } from './http.js';
import { messageBodyProblems, type DiscordWorld, type MessageBody, type StoredMessage } from './model.js';

/** The bot's answer to one interaction, as a test sees it: Discord's response type and data. */
export type InteractionCallback = APIInteractionResponse & {
  readonly interactionId: string;
  readonly interactionType: InteractionType;
  readonly userId: string;
  readonly at: Date;
};

/** The bot did not answer an interaction in time (Discord shows "This interaction failed"). */
export class InteractionTimeoutError extends Error {
  public override readonly name = 'InteractionTimeoutError';

  public constructor(
    public readonly interactionId: string,
    public readonly timeoutMs: number,
  ) {
    super(`the bot did not answer interaction ${interactionId} within ${timeoutMs} ms`);
  }
}

interface PendingInteraction {
  readonly id: string;
  readonly token: string;
  readonly type:
    InteractionType.ApplicationCommand | InteractionType.MessageComponent | InteractionType.ModalSubmit;
  readonly userId: string;
  readonly channelId: string;
  /** The message whose component was used (a button's message, or the message a modal came from). */
  readonly sourceMessageId: string | undefined;
  readonly createdAtMs: number;
  response: InteractionCallback | undefined;
  /** What `@original` means once answered: the reply, or the source message for an update. */
  originalMessageId: string | undefined;
  readonly resolve: (callback: InteractionCallback) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A modal the bot showed, so a later submit can mirror its layout as Discord does. */
export interface ShownModal {
  readonly modal: APIModalInteractionResponseCallbackData;
  readonly sourceMessageId: string | undefined;
}

/** Options of {@link InteractionDesk}. */
export interface InteractionDeskOptions {
  world: DiscordWorld;
  /** Discord's 3 seconds to acknowledge. */
  timeoutMs: number;
  /** Tells the gateway of a non-ephemeral message made or changed through an interaction. */
  announce: (stored: StoredMessage, change: 'create' | 'update') => void;
  onChange: () => void;
  onProblem: (problem: string) => void;
}

/** Interactions in flight, their callbacks and their webhook (`@original`, follow-ups). */
export class InteractionDesk {
  public readonly callbacks: InteractionCallback[] = [];
  readonly #options: InteractionDeskOptions;
  readonly #byId = new Map<string, PendingInteraction>();
  readonly #byToken = new Map<string, PendingInteraction>();
  readonly #modals = new Map<string, ShownModal>();

  public constructor(options: InteractionDeskOptions) {
    this.#options = options;
  }

  /** Opens an interaction; the promise settles with the bot's callback, or fails after the timeout. */
  public open(fields: {
    id: string;
    type: PendingInteraction['type'];
    userId: string;
    channelId: string;
    sourceMessageId: string | undefined;
  }): { token: string; answered: Promise<InteractionCallback> } {
    const token = `aW50ZXJhY3Rpb24${randomBytes(48).toString('base64url')}`;
    let settle!: Pick<PendingInteraction, 'resolve' | 'reject'>;
    const answered = new Promise<InteractionCallback>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const pending: PendingInteraction = {
      ...fields,
      token,
      createdAtMs: Date.now(),
      response: undefined,
      originalMessageId: undefined,
      ...settle,
      timer: undefined,
    };
    pending.timer = setTimeout(() => {
      pending.timer = undefined;
      this.#options.onProblem(`interaction ${pending.id}: not answered within ${this.#options.timeoutMs} ms`);
      pending.reject(new InteractionTimeoutError(pending.id, this.#options.timeoutMs));
      this.#options.onChange();
    }, this.#options.timeoutMs);
    pending.timer.unref();
    this.#byId.set(pending.id, pending);
    this.#byToken.set(token, pending);
    return { token, answered };
  }

  public shownModal(userId: string, customId: string): ShownModal | undefined {
    return this.#modals.get(`${userId}:${customId}`);
  }

  /** `POST /interactions/{id}/{token}/callback`. */
  public callback(id: string, token: string, body: unknown, withResponse: boolean): unknown {
    const pending = this.#byId.get(id);
    if (pending === undefined || pending.token !== token) throw Errors.unknownInteraction();
    if (pending.response !== undefined) throw Errors.alreadyAcknowledged();
    if (Date.now() - pending.createdAtMs > this.#options.timeoutMs) throw Errors.unknownInteraction();
    const response = body as APIInteractionResponse;
    const { world } = this.#options;
    switch (response.type) {
      case InteractionResponseType.ChannelMessageWithSource: {
        const data = (response.data ?? {}) as MessageBody;
        const problems = messageBodyProblems(data, true);
        if (problems.length > 0) throw Errors.invalidForm(problems);
        const ephemeral = ((data.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
        const stored = world.addMessage(pending.channelId, world.botUser, data, ephemeral);
        pending.originalMessageId = stored.message.id;
        if (!ephemeral) this.#options.announce(stored, 'create');
        break;
      }
      case InteractionResponseType.DeferredChannelMessageWithSource: {
        const flags = response.data?.flags ?? 0;
        const ephemeral = (flags & MessageFlags.Ephemeral) !== 0;
        const stored = world.addMessage(
          pending.channelId,
          world.botUser,
          { flags: MessageFlags.Loading },
          ephemeral,
        );
        pending.originalMessageId = stored.message.id;
        if (!ephemeral) this.#options.announce(stored, 'create');
        break;
      }
      case InteractionResponseType.DeferredMessageUpdate:
      case InteractionResponseType.UpdateMessage: {
        const source =
          pending.sourceMessageId === undefined ? undefined : world.messages.get(pending.sourceMessageId);
        if (source === undefined) throw Errors.invalidForm(['this interaction has no message to update']);
        if (response.type === InteractionResponseType.UpdateMessage) {
          const data = (response.data ?? {}) as MessageBody;
          const problems = messageBodyProblems(data, false);
          if (problems.length > 0) throw Errors.invalidForm(problems);
          world.editMessage(source, data);
          this.#options.announce(source, 'update');
        }
        pending.originalMessageId = source.message.id;
        break;
      }
      case InteractionResponseType.Modal: {
        if (pending.type === InteractionType.ModalSubmit) {
          throw Errors.invalidForm(['a modal cannot answer a modal submit']);
        }
        const problems = modalProblems(response.data);
        if (problems.length > 0) throw Errors.invalidForm(problems);
        this.#modals.set(`${pending.userId}:${response.data.custom_id}`, {
          modal: response.data,
          sourceMessageId: pending.sourceMessageId,
        });
        break;
      }
      default:
        throw Errors.invalidForm([
          `response type ${String((response as { type: unknown }).type)} is not valid here`,
        ]);
    }
    const callback: InteractionCallback = {
      ...response,
      interactionId: pending.id,
      interactionType: pending.type,
      userId: pending.userId,
      at: new Date(),
    };
    pending.response = callback;
    this.callbacks.push(callback);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.timer = undefined;
    pending.resolve(callback);
    if (!withResponse) return undefined;
    const original =
      pending.originalMessageId === undefined ? undefined : world.messages.get(pending.originalMessageId);
    const result: RESTPostAPIInteractionCallbackWithResponseResult = {
      interaction: {
        id: pending.id,
        type: pending.type,
        ...(original === undefined
          ? {}
          : {
              response_message_id: original.message.id,
              response_message_loading: ((original.message.flags ?? 0) & MessageFlags.Loading) !== 0,
              response_message_ephemeral: original.ephemeral,
            }),
      },
      resource: { type: response.type, ...(original === undefined ? {} : { message: original.message }) },
    };
    return result;
  }

  /**
   * What `@original` is for interaction `interactionId` now: the reply its callback made, or the
   * message a (deferred) update answered; `undefined` before the callback, or after a modal.
   */
  public originalOf(interactionId: string): StoredMessage | undefined {
    const messageId = this.#byId.get(interactionId)?.originalMessageId;
    return messageId === undefined ? undefined : this.#options.world.messages.get(messageId);
  }

  /** `GET /webhooks/{appId}/{token}/messages/@original`. */
  public getOriginal(token: string): StoredMessage {
    return this.#original(token);
  }

  /** `PATCH /webhooks/{appId}/{token}/messages/@original`. */
  public editOriginal(token: string, body: unknown): StoredMessage {
    const stored = this.#original(token);
    const data = (body ?? {}) as MessageBody;
    const problems = messageBodyProblems(data, false);
    if (problems.length > 0) throw Errors.invalidForm(problems);
    // Editing a deferred reply turns its "thinking…" into the real message.
    const flags = (stored.message.flags ?? 0) & ~MessageFlags.Loading;
    this.#options.world.editMessage(stored, { ...data, flags: (data.flags ?? 0) | flags });
    if (!stored.ephemeral) this.#options.announce(stored, 'update');
    return stored;
  }

  /** `POST /webhooks/{appId}/{token}`: a follow-up message. */
  public followUp(token: string, body: unknown): StoredMessage {
    const pending = this.#byToken.get(token);
    if (pending?.response === undefined) throw Errors.unknownWebhook();
    const data = (body ?? {}) as MessageBody;
    const problems = messageBodyProblems(data, true);
    if (problems.length > 0) throw Errors.invalidForm(problems);
    const ephemeral = ((data.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    const { world } = this.#options;
    const stored = world.addMessage(pending.channelId, world.botUser, data, ephemeral);
    if (!ephemeral) this.#options.announce(stored, 'create');
    return stored;
  }

  /** Stops every timer and fails every interaction still waiting. */
  public close(): void {
    for (const pending of this.#byId.values()) {
      if (pending.timer === undefined) continue;
      clearTimeout(pending.timer);
      pending.timer = undefined;
      pending.reject(new Error('the Discord emulator closed'));
    }
  }

  #original(token: string): StoredMessage {
    const pending = this.#byToken.get(token);
    if (pending === undefined) throw Errors.unknownWebhook();
    const stored =
      pending.originalMessageId === undefined
        ? undefined
        : this.#options.world.messages.get(pending.originalMessageId);
    if (stored === undefined) throw Errors.unknownMessage();
    return stored;
  }
}

function modalProblems(data: APIModalInteractionResponseCallbackData | undefined): string[] {
  if (data === undefined) return ['data: required'];
  const problems: string[] = [];
  if (typeof data.custom_id !== 'string' || data.custom_id.length < 1 || data.custom_id.length > 100) {
    problems.push('data.custom_id: must be between 1 and 100 in length');
  }
  if (typeof data.title !== 'string' || data.title.length < 1 || data.title.length > 45) {
    problems.push('data.title: must be between 1 and 45 in length');
  }
  if (!Array.isArray(data.components) || data.components.length < 1 || data.components.length > 5) {
    problems.push('data.components: must be between 1 and 5 in length');
    return problems;
  }
  for (const input of modalInputs(data)) {
    const where = `text input ${input.custom_id}`;
    if (input.custom_id.length < 1 || input.custom_id.length > 100) problems.push(`${where}: bad custom_id`);
    const min = input.min_length ?? 0;
    const max = input.max_length ?? 4000;
    if (min < 0 || min > 4000 || max < 1 || max > 4000 || min > max)
      problems.push(`${where}: bad min/max length`);
    if ('label' in input && typeof input.label === 'string' && input.label.length > 45) {
      problems.push(`${where}: label must be 45 or fewer in length`);
    }
  }
  for (const component of data.components) {
    if (component.type === ComponentType.Label && component.label.length > 45) {
      problems.push('label: must be 45 or fewer in length');
    }
  }
  return problems;
}

/** The text inputs of a modal, whether in legacy action rows or in labels. */
export function modalInputs(
  data: APIModalInteractionResponseCallbackData,
): { custom_id: string; min_length?: number; max_length?: number; label?: string }[] {
  const inputs: { custom_id: string; min_length?: number; max_length?: number; label?: string }[] = [];
  for (const component of data.components) {
    if (component.type === ComponentType.ActionRow) {
      for (const child of component.components) {
        if (child.type === ComponentType.TextInput) inputs.push(child);
      }
    } else if (
      component.type === ComponentType.Label &&
      component.component.type === ComponentType.TextInput
    ) {
      inputs.push(component.component);
    }
  }
  return inputs;
}

/**
 * The `components` of a MODAL_SUBMIT for `values`, in the layout of the modal the bot showed (labels
 * or legacy action rows), or in action rows when no modal is known.
 */
export function modalSubmission(
  shown: ShownModal | undefined,
  values: Readonly<Record<string, string>>,
): APIModalSubmissionComponent[] {
  if (shown === undefined) {
    return Object.entries(values).map(([customId, value]) => ({
      type: ComponentType.ActionRow,
      components: [{ type: ComponentType.TextInput, custom_id: customId, value }],
    }));
  }
  const known = new Set(modalInputs(shown.modal).map((input) => input.custom_id));
  const unknown = Object.keys(values).filter((customId) => !known.has(customId));
  if (unknown.length > 0)
    throw new Error(`the modal ${shown.modal.custom_id} has no field ${unknown.join(', ')}`);
  return shown.modal.components.flatMap((component, index): APIModalSubmissionComponent[] => {
    const id = component.id ?? index + 1;
    if (component.type === ComponentType.ActionRow) {
      return [
        {
          type: ComponentType.ActionRow,
          id,
          components: component.components
            .filter((child) => child.type === ComponentType.TextInput)
            .map((child) => ({
              type: ComponentType.TextInput,
              custom_id: child.custom_id,
              value: values[child.custom_id] ?? '',
            })),
        },
      ];
    }
    if (component.type === ComponentType.Label && component.component.type === ComponentType.TextInput) {
      const input = component.component;
      return [
        {
          type: ComponentType.Label,
          id,
          component: {
            type: ComponentType.TextInput,
            custom_id: input.custom_id,
            value: values[input.custom_id] ?? '',
          },
        },
      ];
    }
    if (component.type === ComponentType.TextDisplay) return [{ type: ComponentType.TextDisplay, id }];
    return [];
  });
}
