import { randomBytes } from 'node:crypto';
import type { Client, DMChannel, Message } from 'discord.js';
import type { Logger } from '../../shared/log.js';
import { describeError } from './describe-error.js';
import type { DiscordClock } from './discord-clock.js';
import type { PromptBody } from './prompt-messages.js';
import type { Reachability } from './reachability.js';
import { withRetries, type RetryOptions } from './retry.js';

/** What {@link DmSender} needs of its channel. */
export interface DmSenderOptions {
  readonly client: Client;
  readonly log: Logger;
  /** How a DM that failed for a passing reason is tried again. */
  readonly retry: Required<RetryOptions>;
  /** Aborted when the channel stops: ends the waits between tries. */
  readonly stopping: AbortSignal;
  /** Learns whether each DM went through. */
  readonly reach: Reachability;
  /** Learns Discord's clock from each DM's timestamp. */
  readonly clock: DiscordClock;
}

/**
 * A DM's body: a text, buttons (a prompt's, a question's), and the message it answers as a Discord
 * reply (`replyTo`: a message of the same DM; sent as a plain message if it is gone).
 */
export type DmBody = {
  readonly content: string;
  readonly components?: PromptBody['components'];
  readonly replyTo?: string;
};

/**
 * Sends the channel's DMs: each with a nonce Discord enforces (a retry after a lost answer makes no
 * second message), tried again after a passing failure, its outcome told to {@link Reachability},
 * its Discord timestamp to the {@link DiscordClock}.
 */
export class DmSender {
  readonly #options: DmSenderOptions;

  public constructor(options: DmSenderOptions) {
    this.#options = options;
  }

  /** Sends a notice; a failure is logged, never thrown. */
  public async send(operatorId: string, body: DmBody, what: string): Promise<void> {
    try {
      await this.sendDm(operatorId, body, what);
    } catch (error) {
      this.#options.log.warn(
        { userId: operatorId, error: describeError(error) },
        `could not send the ${what}`,
      );
    }
  }

  /** Sends a DM, trying again after a passing failure. */
  public async sendDm(operatorId: string, body: DmBody, what: string): Promise<Message> {
    // One nonce for every try, enforced: if Discord made the message but its answer was lost, the
    // next try gets that message back instead of making a second one.
    const nonce = randomBytes(12).toString('base64url');
    const { clock } = this.#options;
    let tries = 0;
    try {
      const message = await this.retrying(operatorId, what, async () => {
        const channel = await this.dmChannel(operatorId);
        tries += 1;
        const startMs = clock.nowMs();
        const { replyTo, ...rest } = body;
        const sent = await channel.send({
          ...rest,
          ...(replyTo === undefined ? {} : { reply: { messageReference: replyTo, failIfNotExists: false } }),
          nonce,
          enforceNonce: true,
        });
        // A later try may get back the message an earlier one made: only a first try is a sample.
        if (tries === 1) clock.observe(startMs, clock.nowMs(), sent.createdTimestamp);
        return sent;
      });
      this.#options.reach.reached(operatorId);
      return message;
    } catch (error) {
      // Stopping cuts the retries short: that says nothing of the operator.
      if (!this.#options.stopping.aborted) this.#options.reach.failed(operatorId, error);
      throw error;
    }
  }

  /** Runs one DM request with the retry policy; each retry is logged with the user ID. */
  public async retrying<T>(operatorId: string, what: string, attempt: () => Promise<T>): Promise<T> {
    return withRetries(attempt, {
      ...this.#options.retry,
      signal: this.#options.stopping,
      onRetry: (error, failedTry, delayMs) =>
        this.#options.log.warn(
          { userId: operatorId, failedTry, retryInMs: delayMs, error: describeError(error) },
          `the ${what} failed for a passing reason; trying again`,
        ),
    });
  }

  /** The DM channel with an operator: cached by discord.js after the first call. */
  public async dmChannel(operatorId: string): Promise<DMChannel> {
    return this.#options.client.users.createDM(operatorId);
  }
}
