import type { PromptRefs } from '../../src/relay/ports/coordination.js';
import type { OperatorNotice, PromptView } from '../../src/relay/ports/operators.js';
import type { ModelInput } from './model-account.js';
import type { Submit } from './model-broker.js';

/**
 * Where operators' inputs went in the model of several accounts (test/helpers/model-accounts-world.ts):
 * the prompt messages the channels reported, what each relay process's hub saw waiting when it
 * routed a message, the "which account?" questions and the presses that answered them, and each
 * code that reached a broker. Its invariants, across accounts:
 *
 * - one message's code reaches one broker at most (whatever the presses, relays and redeliveries);
 * - a message that names its account (a reply to one of its prompts, its modal) reaches no other
 *   account's broker;
 * - a code of account X's SMS reaches account Y's broker only when the operator chose Y (a press),
 *   or, for a plain reply, when the process that routed it saw no login of X wait;
 * - a plain reply is asked about only while every account the question offers waits (as the asking
 *   process saw), once across processes, and once asked it reaches a broker only through a press of
 *   that question's buttons, and only the broker of the account pressed;
 * - a press is answered once, and one press at most routes a question's code.
 */

/** What a hub saw of one account when it looked whether a login waits. */
export type Look = 'waiting' | 'none' | 'unknown';

/** A prompt message a channel reported: a reply to it names its account. */
export interface PromptMessage {
  readonly account: string;
  readonly loginId: string;
  readonly operatorId: string;
  readonly messageId: string;
}

/** A "which account?" question about a plain reply's code. */
export interface Question {
  readonly inputId: string;
  readonly operatorId: string;
  readonly processId: string;
  readonly accounts: readonly string[];
}

type Press = Extract<ModelInput, { kind: 'account-chosen' }>;

export class RouteLedger {
  public readonly violations: string[] = [];
  /** Every prompt message reported, first first. */
  public readonly messages: PromptMessage[] = [];
  public readonly questions: Question[] = [];
  /** What the runs did, for the test's "not idle" check. */
  public readonly counts = { routed: 0, sentByPress: 0, crossAccount: 0, namedSends: 0 };
  readonly #messageAccount = new Map<string, PromptMessage>();
  readonly #loginAccount = new Map<string, string>();
  /** `process input account` → what that process's hub saw. */
  readonly #looks = new Map<string, Look>();
  /** Message ID → the accounts whose brokers its code reached. */
  readonly #brokers = new Map<string, Set<string>>();
  /** Messages whose code reached a broker without a press. */
  readonly #sentWithoutPress = new Set<string>();
  /** Message ID → the account a press routed its code to. */
  readonly #routed = new Map<string, string>();
  /** Press ID → the answers it got, and the process it went to. */
  readonly #presses = new Map<string, { readonly processId: string; readonly answers: string[] }>();
  #messageCount = 0;

  /**
   * `inputs`: every input delivered, by ID. `smsAccount`: the account whose broker texted a code
   * (`undefined` for a code no broker sent).
   */
  public constructor(
    private readonly inputs: ReadonlyMap<string, ModelInput>,
    private readonly smsAccount: (code: string) => string | undefined,
  ) {}

  /**
   * The refs a Discord channel reports for a prompt: the same messages when it edits (`refs` has
   * them), else one new message per recipient.
   */
  public promptRefs(view: PromptView, refs: PromptRefs | undefined, everyone: readonly string[]): PromptRefs {
    this.#loginAccount.set(view.loginId, view.account);
    if (refs !== undefined && Object.keys(refs).length > 0) return refs;
    const shown: Record<string, { channelId: string; messageId: string }> = {};
    for (const operatorId of view.operatorIds ?? everyone) {
      this.#messageCount += 1;
      const message = {
        account: view.account,
        loginId: view.loginId,
        operatorId,
        messageId: `m${this.#messageCount}`,
      };
      this.messages.push(message);
      this.#messageAccount.set(message.messageId, message);
      shown[operatorId] = { channelId: `dm-${operatorId}`, messageId: message.messageId };
    }
    return shown;
  }

  /** The account an input names: its own field, the prompt it replies to, or its modal's login. */
  public namedAccount(input: ModelInput): string | undefined {
    if (input.kind !== 'code') return undefined;
    return (
      input.account ??
      (input.replyTo === undefined ? undefined : this.#messageAccount.get(input.replyTo)?.account) ??
      (input.loginId === undefined ? undefined : this.#loginAccount.get(input.loginId))
    );
  }

  /** Process `processId`'s hub looked whether `account` waits, routing input `inputId`. */
  public looked(processId: string, inputId: string | undefined, account: string, look: Look): void {
    if (inputId !== undefined) this.#looks.set(`${processId} ${inputId} ${account}`, look);
  }

  /** Process `processId` asked `operatorId` which of `accounts` message `inputId`'s code is for. */
  public asked(processId: string, operatorId: string, inputId: string, accounts: readonly string[]): void {
    const v = this.violations;
    if (this.questions.some((q) => q.inputId === inputId)) v.push(`${inputId} asked about twice`);
    if (this.#sentWithoutPress.has(inputId)) v.push(`${inputId} asked about after its code reached a broker`);
    // One account is offered only about a reply to a message the hub cannot place (an ended login's
    // prompt another process sent): asked rather than guessed.
    const input = this.inputs.get(inputId);
    const unplaced = input?.kind === 'code' && input.replyTo !== undefined;
    if (accounts.length < (unplaced ? 1 : 2))
      v.push(`${inputId} asked about with ${accounts.length} account(s) to choose`);
    for (const account of accounts) {
      const look = this.#looks.get(`${processId} ${inputId} ${account}`);
      if (look === 'none' || look === undefined)
        v.push(`${processId} asked about ${inputId} offering ${account}, which it saw ${look ?? 'unlooked'}`);
    }
    this.questions.push({ inputId, operatorId, processId, accounts });
  }

  /** Press `press` went to process `processId`. */
  public pressed(press: Press, processId: string): void {
    this.#presses.set(press.inputId, { processId, answers: [] });
  }

  /** The hub answered press `press` (through its `respond`). */
  public pressAnswered(press: Press, notice: OperatorNotice): void {
    const record = this.#presses.get(press.inputId);
    record?.answers.push(notice.kind);
    if (record !== undefined && record.answers.length > 1)
      this.violations.push(`press ${press.inputId} answered ${record.answers.length} times`);
    if (notice.kind !== 'code-routed') return;
    this.counts.routed += 1;
    if (notice.account !== press.account)
      this.violations.push(
        `press ${press.inputId} chose ${press.account}, answered routed to ${notice.account}`,
      );
    const earlier = this.#routed.get(press.codeInputId);
    if (earlier !== undefined)
      this.violations.push(
        `${press.codeInputId}'s code routed twice (to ${earlier}, then ${notice.account})`,
      );
    this.#routed.set(press.codeInputId, notice.account);
  }

  /** A code reached `account`'s broker while a relay handled input `inputId`. */
  public submitted(account: string, submit: Submit, inputId: string | undefined): void {
    const handled = inputId === undefined ? undefined : this.inputs.get(inputId);
    const press = handled?.kind === 'account-chosen' ? handled : undefined;
    const messageId = press?.codeInputId ?? inputId;
    const message = messageId === undefined ? undefined : this.inputs.get(messageId);
    // Without a code input, the account's own invariants say so.
    if (messageId === undefined || message?.kind !== 'code') return;
    const v = this.violations;
    const brokers = this.#brokers.get(messageId) ?? new Set<string>();
    brokers.add(account);
    this.#brokers.set(messageId, brokers);
    if (brokers.size > 1) v.push(`${messageId}'s code reached two brokers (${[...brokers].join(', ')})`);
    const owner = this.smsAccount(message.code.reveal());
    if (owner !== undefined && owner !== account) this.counts.crossAccount += 1;
    if (press !== undefined) {
      this.counts.sentByPress += 1;
      if (press.account !== account)
        v.push(
          `press ${press.inputId} chose ${press.account}; ${messageId}'s code reached ${account}'s broker`,
        );
      return;
    }
    this.#sentWithoutPress.add(messageId);
    if (this.questions.some((q) => q.inputId === messageId))
      v.push(`${messageId} was asked about, and its code reached ${account}'s broker without a press`);
    const named = this.namedAccount(message);
    if (named !== undefined) this.counts.namedSends += 1;
    if (named !== undefined && named !== account)
      v.push(
        `${messageId} is for ${named} (${describeNaming(message)}), its code reached ${account}'s broker`,
      );
    if (owner === undefined || owner === account || named !== undefined) return;
    const look = this.#looks.get(`${submit.relayId} ${messageId} ${owner}`);
    if (look !== 'none') {
      v.push(
        `${owner}'s code (plain reply ${messageId}) reached ${account}'s broker, though ${submit.relayId} ` +
          `saw ${owner} ${look ?? 'unlooked'}`,
      );
    }
  }

  /** Presses to a process that still runs, never answered: checked once the world settled. */
  public unansweredPresses(running: (processId: string) => boolean): string[] {
    return [...this.#presses]
      .filter(([, press]) => press.answers.length === 0 && running(press.processId))
      .map(([pressId, press]) => `press ${pressId} on ${press.processId} never answered`);
  }
}

function describeNaming(input: Extract<ModelInput, { kind: 'code' }>): string {
  if (input.account !== undefined) return `its modal names ${input.account}`;
  if (input.replyTo !== undefined) return `it replies to ${input.replyTo}`;
  return `its modal is ${input.loginId ?? '?'}'s`;
}
