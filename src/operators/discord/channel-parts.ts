import type { Client } from 'discord.js';
import type { Logger } from '../../shared/log.js';
import type { OperatorInput, OperatorNotice } from '../../relay/ports/operators.js';
import type { OperatorNames } from '../labels.js';
import type { DEFAULT_OPTIONS, DiscordOperatorChannelOptions } from './channel-options.js';
import { createDiscordClient } from './client.js';
import { DiscordClock } from './discord-clock.js';
import { DmSender } from './dm-sender.js';
import { DiscordInteractions } from './interactions.js';
import { NoticeDms } from './notice-dms.js';
import { PromptMessages } from './prompt-messages.js';
import { Reachability } from './reachability.js';
import { DEFAULT_RETRY_OPTIONS } from './retry.js';
import { StrangerLimit } from './stranger-limit.js';

/** The options of the channel, every default filled in. */
export type ChannelSettings = DiscordOperatorChannelOptions &
  Required<Pick<DiscordOperatorChannelOptions, keyof typeof DEFAULT_OPTIONS>>;

/** What the parts call back into the channel for: each is read when called, not when wired. */
export interface ChannelHooks {
  /** Renders a notice as the channel's DMs show it. */
  readonly render: (notice: OperatorNotice) => string;
  readonly names: OperatorNames;
  /** Hands an input to the core (unless the channel stopped). */
  readonly deliver: (input: OperatorInput) => void;
  readonly stopped: () => boolean;
  /** Aborted when the channel stops: ends the waits between DM retries. */
  readonly stopping: AbortSignal;
}

/** The pieces of the Discord channel, wired to one another. */
export interface ChannelParts {
  readonly operatorIds: ReadonlySet<string>;
  readonly log: Logger;
  readonly client: Client;
  readonly strangers: StrangerLimit;
  readonly reach: Reachability;
  readonly clock: DiscordClock;
  readonly dms: DmSender;
  readonly promptMessages: PromptMessages;
  readonly notices: NoticeDms;
  readonly interactions: DiscordInteractions;
}

/** Makes the channel's pieces from its settings: the wiring of `DiscordOperatorChannel`, apart. */
export function createChannelParts(settings: ChannelSettings, hooks: ChannelHooks): ChannelParts {
  const operatorIds = new Set(settings.operatorIds);
  const log = settings.logger.child({ component: 'discord' });
  const client = createDiscordClient({ apiUrl: settings.apiUrl, operatorIds });
  const strangers = new StrangerLimit({
    intervalMs: settings.strangerReplyIntervalMs,
    maxUsers: settings.rememberedStrangers,
  });
  const reach = new Reachability({ operatorIds, log, onDmFailure: settings.onDmFailure, now: settings.now });
  const clock = new DiscordClock({ now: settings.now, log });
  const dms = new DmSender({
    client,
    log,
    retry: { ...DEFAULT_RETRY_OPTIONS, ...settings.dmRetry },
    stopping: hooks.stopping,
    reach,
    clock,
  });
  const promptMessages = new PromptMessages({
    operatorIds,
    log,
    rememberedLogins: settings.rememberedLogins,
    dms,
    reach,
    now: settings.now,
  });
  const notices = new NoticeDms({ operatorIds, dms, log, render: hooks.render });
  const interactions = new DiscordInteractions({
    operatorIds,
    log,
    codeDigits: settings.codeDigits,
    strangers,
    render: hooks.render,
    deliver: hooks.deliver,
    dms,
    names: hooks.names,
    stopped: hooks.stopped,
    clock,
  });
  return { operatorIds, log, client, strangers, reach, clock, dms, promptMessages, notices, interactions };
}
