import {
  cliOperatorId,
  parseCliCode,
  parseCliOperatorId,
  serializeCliReply,
  type CliReply,
} from '../contract/cli-message.js';
import type { CliChannels } from '../contract/keys.js';
import type { CodeDigits } from '../domain/code-digits.js';
import type { RedisClient } from '../redis/connect.js';
import { subscribeChannel, type ChannelSubscription } from '../redis/subscription.js';
import type {
  OperatorInputHandler,
  OperatorNotice,
  PromptState,
  PromptView,
} from '../relay/ports/operators.js';
import { errorFields, type Logger } from '../shared/log.js';
import { Secret } from '../shared/secret.js';
import { cliOperatorName } from './labels.js';
import { renderNotice } from './messages.js';
import { parseCode } from './parse-code.js';

/** Options of {@link CliInbox}. */
export interface CliInboxOptions {
  /**
   * The relay's connected client: replies are published on it, and without `subscriber` the inbox
   * subscribes on its own `duplicate()` (opened by `start`, closed by `stop`).
   */
  readonly client: RedisClient;
  /**
   * A connected subscriber connection shared with other subscriptions (several accounts in one
   * process: `openSharedSubscriber` of redis/subscription.ts). The inbox subscribes and
   * unsubscribes on it, and never closes it: its owner does.
   */
  readonly subscriber?: RedisClient | undefined;
  /** The account's CLI channels (`cliChannels` of contract/keys.ts). */
  readonly channels: CliChannels;
  /**
   * The account whose channels these are: every code it delivers names it (`account`), so that an
   * operator hub serving several accounts routes it to that account's login. The CLI chose it
   * (`--account`, `RELAY_ACCOUNT` or the one `RELAY_ACCOUNTS` lists) by publishing on its channel.
   * Codes name no account without it (one account per process).
   */
  readonly account?: string | undefined;
  /** `CODE_DIGITS`: codes are parsed as DM replies are. */
  readonly codeDigits: CodeDigits;
  readonly logger: Logger;
  /** The relay's clock (ms); `Date.now` by default. */
  readonly now?: () => number;
  /** How long the answers to one CLI input are routed to it after it came. Default 10 minutes. */
  readonly rememberMs?: number;
}

/** A CLI input this relay received and may still answer. */
interface InFlight {
  readonly replyChannel: string;
  readonly forgetAtMs: number;
}

const DEFAULT_REMEMBER_MS = 10 * 60 * 1000;

/** What a CLI run is told first, by every relay that received its code. */
const RECEIVED = 'A relay received the code.';

/**
 * `otp-relay code` on the relay's side (docs/contract.md#running): codes the CLI publishes on
 * `P:cli:A` come in as operator inputs, exactly as DM replies do (parsed under `CODE_DIGITS`,
 * anything unclear an `unclear` input, each with the CLI's input ID, which the core claims once for
 * every relay), and the notices for them go back on the CLI run's reply channel as plain text.
 *
 * Every relay of the account subscribes and acknowledges each message with `received` (so the CLI
 * can tell "no relay" from "a slow broker"); only the relay whose claim wins answers the rest. The
 * operator of a CLI input is `cli:<user>:<inputId>` (one per run: each answer finds its run). A
 * notice for a CLI operator this relay never received, or forgot, is dropped: a relay that lost the
 * claim has nothing to say.
 *
 * Besides notices, three prompt states concern a CLI operator, and are told at once as the prompt
 * changes (the channels' own prompts may be slow to update when Discord is down): `checking` (the
 * code is at the broker), `succeeded` (`logged-in`) and `failed` (`login-failed`), which the core
 * otherwise tells only through the prompt.
 *
 * After `stopInputs`, a code that comes is a `during-shutdown` input, as a DM is: the core says
 * "send it again" unless a relay that runs takes it.
 *
 * Several accounts in one process: one inbox per account, each on its account's channels and named
 * `account` (its codes say so), all subscribed on one shared connection (`subscriber`). Every inbox
 * `owns` every CLI operator ID; the one that {@link CliInbox.knows} it is the one to notify.
 */
export class CliInbox {
  readonly #options: CliInboxOptions;
  readonly #now: () => number;
  readonly #rememberMs: number;
  /** By operator ID (`cli:<user>:<inputId>`). */
  readonly #inFlight = new Map<string, InFlight>();
  #subscription: ChannelSubscription | undefined;
  #onInput: OperatorInputHandler | undefined;
  #acceptingInputs = true;
  #stopped = false;

  public constructor(options: CliInboxOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#rememberMs = options.rememberMs ?? DEFAULT_REMEMBER_MS;
  }

  /** Subscribes to `P:cli:A`; resolves once Redis confirmed it. */
  public async start(onInput: OperatorInputHandler): Promise<void> {
    if (this.#onInput !== undefined) throw new Error('CliInbox already started');
    this.#onInput = onInput;
    const { client, subscriber, channels, logger } = this.#options;
    this.#subscription = await subscribeChannel({
      client,
      shared: subscriber,
      channel: channels.inputs,
      listener: (message) => this.#receive(message),
      name: `${client.options?.name ?? 'otp-relay'}:cli`,
      logger,
    });
    logger.info({ channel: channels.inputs }, 'taking codes from otp-relay code');
  }

  /** Whether `operatorId` is a CLI run's: its notices go nowhere but here. */
  public owns(operatorId: string): boolean {
    return parseCliOperatorId(operatorId) !== undefined;
  }

  /**
   * Whether `operatorId` is a CLI run this inbox received and still answers: with one inbox per
   * account, the one a notice for a CLI run belongs to (the others would drop it).
   */
  public knows(operatorId: string): boolean {
    return this.#entry(operatorId) !== undefined;
  }

  /** Tells a CLI run `notice`; every notice but `code-taken-after-all` is its last. */
  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    const entry = this.#entry(operatorId);
    if (entry === undefined) {
      this.#options.logger.debug(
        { operatorId, notice: notice.kind },
        'no command-line input of this relay to tell',
      );
      return;
    }
    if (notice.kind !== 'code-taken-after-all') this.#inFlight.delete(operatorId);
    await this.#reply(entry, { kind: notice.kind, text: this.#render(operatorId, notice) });
  }

  /** A prompt changed: tells the CLI run whose code it is about, if it concerns one. Never throws. */
  public async promptShown(view: PromptView): Promise<void> {
    const operatorId = operatorOf(view.state);
    const entry = operatorId === undefined ? undefined : this.#entry(operatorId);
    if (operatorId === undefined || entry === undefined) return;
    const { state, account } = view;
    switch (state.kind) {
      case 'checking':
        return this.#reply(entry, {
          kind: 'checking',
          text: this.#render(operatorId, { kind: 'code-received' }),
        });
      case 'succeeded':
        this.#inFlight.delete(operatorId);
        return this.#reply(entry, {
          kind: 'logged-in',
          text: this.#render(operatorId, { kind: 'logged-in', account, expiresAt: state.expiresAt }),
        });
      case 'failed': {
        this.#inFlight.delete(operatorId);
        const { error, fatal } = state;
        return this.#reply(entry, {
          kind: 'login-failed',
          text: this.#render(operatorId, { kind: 'login-failed', account, error, fatal }),
        });
      }
      default:
        // `rejected`: the core told the operator first (`code-rejected`).
        return;
    }
  }

  /** From now on a code that comes is not read: it is a `during-shutdown` input. */
  public async stopInputs(): Promise<void> {
    this.#acceptingInputs = false;
  }

  /**
   * Unsubscribes, and closes its own subscriber connection (a shared one stays open). Replies still
   * in flight are not waited for.
   */
  public async stop(): Promise<void> {
    this.#acceptingInputs = false;
    this.#stopped = true;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.close();
  }

  #receive(message: string): void {
    const { channels, logger, codeDigits } = this.#options;
    const onInput = this.#onInput;
    if (onInput === undefined || this.#stopped) return;
    const parsed = parseCliCode(message);
    if (!parsed.ok) {
      // Never the text: it may hold a code.
      logger.warn(
        { channel: channels.inputs, error: parsed.error, length: message.length },
        'ignored a malformed message from otp-relay code',
      );
      return;
    }
    const { inputId, user, code, sentAt } = parsed.message;
    const operatorId = cliOperatorId(user, inputId);
    const now = this.#now();
    this.#forgetDue(now);
    if (this.#inFlight.has(operatorId)) return;
    const entry = { replyChannel: channels.replies(inputId), forgetAtMs: now + this.#rememberMs };
    this.#inFlight.set(operatorId, entry);
    // On the same connection as every later reply, so it arrives first.
    void this.#reply(entry, { kind: 'received', text: RECEIVED });
    logger.info({ operatorId, inputId }, 'a code from otp-relay code');
    if (!this.#acceptingInputs) {
      onInput({ kind: 'during-shutdown', operatorId, inputId });
      return;
    }
    const result = parseCode(code, codeDigits);
    if (!result.ok) {
      onInput({ kind: 'unclear', operatorId, inputId });
      return;
    }
    // Pub/sub delivers at once or never: the CLI's clock says when it was written, unless that is
    // later than now (a clock ahead).
    const writtenAt = new Date(Math.min(Date.parse(sentAt), now));
    const { account } = this.#options;
    onInput({
      kind: 'code',
      operatorId,
      code: new Secret(result.code),
      sentAt: writtenAt,
      inputId,
      ...(account === undefined ? {} : { account }),
    });
  }

  #entry(operatorId: string): InFlight | undefined {
    this.#forgetDue(this.#now());
    return this.#inFlight.get(operatorId);
  }

  #forgetDue(now: number): void {
    for (const [operatorId, entry] of this.#inFlight) {
      if (entry.forgetAtMs <= now) this.#inFlight.delete(operatorId);
    }
  }

  /** Publishes one reply; a failure is logged (the CLI then times out and says so). */
  async #reply(entry: InFlight, reply: CliReply): Promise<void> {
    try {
      await this.#options.client.publish(entry.replyChannel, serializeCliReply(reply));
    } catch (error) {
      this.#options.logger.warn(
        { channel: entry.replyChannel, reply: reply.kind, err: errorFields(error) },
        'reply to otp-relay code not sent',
      );
    }
  }

  #render(operatorId: string, notice: OperatorNotice): string {
    const names = (id: string): string =>
      id === operatorId ? 'you' : (cliOperatorName(id) ?? `operator ${id}`);
    return renderNotice(notice, names, { format: 'cli', codeDigits: this.#options.codeDigits });
  }
}

/** The operator a prompt state names, if any. */
function operatorOf(state: PromptState): string | undefined {
  return 'operatorId' in state ? state.operatorId : undefined;
}
