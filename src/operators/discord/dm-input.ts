import type { Message } from 'discord.js';
import { discord } from './discord-js.js';
import type { Logger } from '../../shared/log.js';
import { Secret } from '../../shared/secret.js';
import type { OperatorInput } from '../../relay/ports/operators.js';
import type { CodeDigits } from '../../domain/code-digits.js';
import { parseCode } from '../parse-code.js';
import type { DiscordClock } from './discord-clock.js';
import type { StrangerLimit } from './stranger-limit.js';

/** What {@link readDm} needs to know of the channel. */
export interface DmContext {
  readonly operatorIds: ReadonlySet<string>;
  /** False while shutting down: another relay takes the DM. */
  readonly acceptingInputs: boolean;
  readonly codeDigits: CodeDigits;
  readonly strangers: StrangerLimit;
  readonly logger: Logger;
  /** Puts Discord's timestamp of the message on the relay's clock. */
  readonly clock: DiscordClock;
}

/**
 * A DM as the relay's input: a clean code, or `unclear`; `undefined` for what is ignored (anyone but
 * an operator, a guild message, a DM while shutting down). Logs by user ID only: the text may be a
 * code, or anything at all.
 */
export function readDm(message: Message, context: DmContext): OperatorInput | undefined {
  const { logger, strangers } = context;
  const userId = message.author.id;
  // A stranger is never answered (docs/contract.md#answers: ignored), and logged at most once per interval: a
  // flood costs nothing.
  if (message.inGuild() || message.channel.type !== discord.ChannelType.DM) {
    if (strangers.allow(userId)) logger.info({ userId }, 'ignored a message outside DMs');
    return undefined;
  }
  if (!context.operatorIds.has(userId)) {
    if (strangers.allow(userId)) logger.info({ userId }, 'ignored a DM from a user who is not an operator');
    return undefined;
  }
  if (!context.acceptingInputs) {
    // Shutting down: not read. Another relay takes it; with none, the core says to send it again.
    logger.info({ operatorId: userId }, 'left a DM unread: shutting down');
    return { kind: 'during-shutdown', operatorId: userId, inputId: message.id };
  }
  // A Discord reply names the message it answers (a prompt, with several accounts): the hub routes
  // a code by it. A forward names no message of this DM to answer. Discord may leave a reply's
  // `type` out (0, a reply, is then meant), so only a forward is told apart.
  const { reference } = message;
  const replyTo =
    reference !== null &&
    reference.type !== discord.MessageReferenceType.Forward &&
    reference.messageId !== undefined
      ? { replyTo: reference.messageId }
      : {};
  const parsed = parseCode(message.content, context.codeDigits);
  if (!parsed.ok) {
    // Every relay gets this DM: the core answers it with help, once, after claiming it.
    logger.info({ operatorId: userId, reason: parsed.reason }, 'a DM reply is not one code');
    return { kind: 'unclear', operatorId: userId, ...replyTo, inputId: message.id };
  }
  // Debug only: the relay that takes the code logs it (with its login) once it is on its way to the
  // broker; a line here would be written by every relay, before the broker call.
  logger.debug({ operatorId: userId, via: 'dm' }, 'code received');
  return {
    kind: 'code',
    operatorId: userId,
    code: new Secret(parsed.code),
    ...replyTo,
    // Discord's timestamp, on the relay's clock: a reply written before the current login's prompt
    // belongs to another, and the relay's clock may be off from Discord's.
    sentAt: context.clock.toRelay(message.createdAt),
    inputId: message.id,
  };
}
