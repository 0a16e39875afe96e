import type { CodeDigits } from '../domain/code-digits.js';
import type { PromptRefs } from '../relay/ports/coordination.js';
import type {
  OperatorInput,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../relay/ports/operators.js';
import { ExpiringIds } from '../shared/expiring-ids.js';
import { errorFields, type Logger } from '../shared/log.js';
import { AccountChannel, type SharedChannel } from './account-channel.js';
import { HeldCodes, type HeldCode } from './held-codes.js';
import { answer, routeCommand } from './hub-commands.js';
import { mentions, PromptAccounts } from './prompt-accounts.js';

/** One account as the hub routes to it. */
export interface HubAccount {
  /** `RELAY_ACCOUNTS`' name. */
  readonly name: string;
  /** Who may answer its prompts and run its commands. */
  readonly operatorIds: readonly string[];
  /** `CODE_DIGITS` of the account: a code of another length is not its code. */
  readonly codeDigits: CodeDigits;
}

/** A login that waits for a code, as the coordination store has it (so also another replica's). */
export interface WaitingLogin {
  readonly loginId: string;
  /** Where its prompt messages are: a reply to one of them is this login's. */
  readonly prompts: PromptRefs;
}

/** What the hub needs of one account's login (its `Relay`, and its store). */
export interface AccountLogin {
  /** Takes one input of the account: claims it, and acts under the account's rules. Never throws. */
  handleInput(input: OperatorInput): void;
  /** The login that waits for a code, if any; rejects when the store cannot tell. */
  waitingLogin(): Promise<WaitingLogin | undefined>;
  /**
   * Whether this relay is starting a login of the account (step 1 under way: its SMS may be on a
   * phone before its prompt is out). A plain reply then is asked about, never guessed.
   */
  starting?(): boolean;
}

/** The shared channel as the hub runs it: it starts it, once, for every account. */
export type HubChannel = SharedChannel & { start(onInput: OperatorInputHandler): Promise<void> };

/** Options of {@link OperatorHub}. */
export interface OperatorHubOptions {
  readonly channel: HubChannel;
  readonly accounts: readonly HubAccount[];
  /**
   * Claims an input for every relay and account at once (the coordination store's input claims,
   * under one key for all accounts): resolves `true` for the one caller that takes it.
   */
  readonly claimInput: (inputId: string, ttlMs: number) => Promise<boolean>;
  readonly logger: Logger;
  /** How long a code waits for its account's button: the longest `CODE_TIMEOUT`. */
  readonly holdCodesMs: number;
  /** How long an input claim is kept (the relays' `CLAIM_TTL_MS`). */
  readonly claimTtlMs: number;
  readonly now?: () => number;
}

/** How many code messages the hub remembers as routed (beyond, the oldest are forgotten first). */
const MAX_REMEMBERED_CODES = 10_000;
/** How many codes may wait for their account's button at once. */
const MAX_HELD_CODES = 1_000;

/**
 * Several accounts, one operators' channel: every input comes here once and goes to its account's
 * login (docs/contract.md#discord-what-operators-see). A code goes to exactly one account:
 *
 * 1. an input that names its account (a prompt's buttons and modal, `otp-relay code --account`, a
 *    command's `account:`) goes there;
 * 2. a Discord reply to a prompt goes to that prompt's account;
 * 3. otherwise to the only account of the operator's that waits for a code (and whose `CODE_DIGITS`
 *    the code fits);
 * 4. when several wait, the operator is asked which (one button per account), once across relays
 *    (the question claims the message), and the code goes only where the press says, once (the
 *    press claims the question).
 *
 * Whatever the route, the account's relay then claims the input under the one input-claim key of
 * every account, so that two relays that routed one message differently (a login started between
 * their looks) still send it to one broker at most.
 */
export class OperatorHub {
  readonly #o: OperatorHubOptions;
  readonly #log: Logger;
  readonly #accounts: ReadonlyMap<string, HubAccount>;
  readonly #channels = new Map<string, AccountChannel>();
  /** The account of each prompt message and login this relay showed. */
  readonly #prompts = new PromptAccounts();
  /** Code messages routed, remembered as long as input claims are. */
  readonly #delivered: ExpiringIds;
  readonly #now: () => number;
  /** Prompts being sent or edited now. */
  readonly #showing = new Set<Promise<unknown>>();
  readonly #held: HeldCodes;
  /** Each account's login, once started. */
  #targets: ReadonlyMap<string, AccountLogin> | undefined;

  public constructor(options: OperatorHubOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'operator-hub' });
    this.#accounts = new Map(options.accounts.map((account) => [account.name, account]));
    const now = (this.#now = options.now ?? Date.now);
    this.#delivered = new ExpiringIds({ keepMs: options.claimTtlMs, max: MAX_REMEMBERED_CODES });
    this.#held = new HeldCodes({ keepMs: options.holdCodesMs, max: MAX_HELD_CODES, now });
    const everyone = new Set(options.accounts.flatMap((account) => account.operatorIds));
    for (const account of options.accounts) {
      this.#channels.set(
        account.name,
        new AccountChannel({
          account: account.name,
          operatorIds: account.operatorIds,
          everyOperator: account.operatorIds.length === everyone.size,
          shared: options.channel,
          promptShown: (view, refs) => this.#promptShown(view, refs),
          showing: (work) => {
            this.#showing.add(work);
            void work.then(
              () => this.#showing.delete(work),
              () => this.#showing.delete(work),
            );
          },
        }),
      );
    }
  }

  /** The channel `account`'s relay speaks: prompts and notices to its operators. */
  public channelFor(account: string): AccountChannel {
    const channel = this.#channels.get(account);
    if (channel === undefined) throw new RangeError(`not an account of this relay: ${account}`);
    return channel;
  }

  /** Starts the shared channel; from then on every input goes to its account's login in `logins`. */
  public async start(logins: ReadonlyMap<string, AccountLogin>): Promise<void> {
    for (const name of this.#accounts.keys()) {
      if (!logins.has(name)) throw new RangeError(`no login given for account ${name}`);
    }
    this.#targets = logins;
    await this.#o.channel.start((input) => this.route(input));
  }

  /** Routes one input. Never throws: a failure is logged and, where it matters, told. */
  public route(input: OperatorInput): void {
    this.#route(input).catch((error: unknown) => {
      this.#log.error({ input: input.kind, err: errorFields(error) }, 'an input could not be routed');
    });
  }

  async #route(input: OperatorInput): Promise<void> {
    switch (input.kind) {
      case 'code':
        return this.#code(input);
      case 'account-chosen':
        return this.#chosen(input);
      case 'command':
        return this.#command(input);
      case 'resend':
      case 'cancel':
        return this.#deliver(input.account ?? this.#accountOfLogin(input.loginId, input.operatorId), input);
      case 'unclear':
        return this.#deliver(this.#repliedTo(input.replyTo) ?? this.#first(input.operatorId), input);
      case 'during-shutdown':
        return this.#deliver(this.#first(input.operatorId), input);
    }
  }

  /** A code: where it goes, see the class. */
  async #code(input: HeldCode): Promise<void> {
    // A repeat delivery (a gateway resume) had its answer the first time; routed again it could go
    // to another account than the first (whose relay would not know it for a repeat).
    if (!this.#delivered.firstTime(input.inputId, this.#now())) return;
    // A reply may come before this relay's prompt has gone out to every operator (and its messages
    // are known): it waits for the prompts under way, rather than be taken for a plain reply.
    if (
      input.replyTo !== undefined &&
      this.#repliedTo(input.replyTo) === undefined &&
      this.#showing.size > 0
    ) {
      await Promise.allSettled([...this.#showing]);
    }
    const named = input.account ?? this.#repliedTo(input.replyTo) ?? this.#prompts.ofLogin(input.loginId);
    if (named !== undefined) return this.#deliverCode(named, input);
    const mine = this.#accountsOf(input.operatorId);
    if (mine.length <= 1) return this.#deliverCode(mine[0]?.name ?? this.#first(input.operatorId), input);
    const waiting = await this.#waitingAmong(mine, input);
    if (waiting.replied !== undefined) return this.#deliverCode(waiting.replied, input);
    const fits = waiting.accounts.filter((account) => fitsDigits(input, account));
    // A reply to a message this relay cannot place (an ended login's prompt another relay sent) may
    // be another account's code: asked about, never guessed, even when one account waits.
    if (fits.length === 1 && input.replyTo === undefined) return this.#deliverCode(fits[0]!.name, input);
    // None waits: the first of the operator's accounts the code fits answers it (no login waits,
    // or one that started just now).
    if (fits.length === 0)
      return this.#deliverCode((mine.find((a) => fitsDigits(input, a)) ?? mine[0]!).name, input);
    await this.#ask(
      input,
      fits.map((account) => account.name),
    );
  }

  /** Several of the operator's accounts wait: hold the code, and ask which (once across relays). */
  async #ask(input: HeldCode, accounts: readonly string[]): Promise<void> {
    // Every relay holds it: whichever acknowledges the press can send it. (A repeat delivery of the
    // message never comes this far: `#code` drops it.)
    this.#held.hold(input);
    let asking: boolean;
    try {
      asking = await this.#o.claimInput(input.inputId, this.#o.claimTtlMs);
    } catch (error) {
      this.#log.error(
        { operatorId: input.operatorId, err: errorFields(error) },
        'input not taken: the store failed',
      );
      await this.#tell(input.operatorId, { kind: 'input-not-taken' });
      return;
    }
    if (!asking) return; // another relay asks (or took the message for one account)
    this.#log.info({ operatorId: input.operatorId, accounts }, 'asked which account a code is for');
    await this.#tell(input.operatorId, {
      kind: 'choose-account',
      question: { kind: 'code', inputId: input.inputId },
      accounts,
    });
  }

  /** The operator pressed one account's button of the question about a code. */
  async #chosen(input: Extract<OperatorInput, { kind: 'account-chosen' }>): Promise<void> {
    const held = this.#held.take(input.codeInputId, input.operatorId);
    const account = this.#accounts.get(input.account);
    if (held === undefined || account === undefined) {
      // A second press here, after the first took the code: answered, not gone.
      const why = this.#held.wasTaken(input.codeInputId) ? 'answered' : 'code-gone';
      return answer(input.respond, { kind: 'choice-over', why }, this.#log);
    }
    let first: boolean;
    try {
      // One press routes the code: a second press, here or on another relay, finds it taken.
      first = await this.#o.claimInput(`route:${input.codeInputId}`, this.#o.claimTtlMs);
    } catch (error) {
      this.#held.putBack(held); // not routed: a press may try again
      this.#log.error(
        { operatorId: input.operatorId, err: errorFields(error) },
        'choice not taken: the store failed',
      );
      return answer(input.respond, { kind: 'input-not-taken' }, this.#log);
    }
    if (!first) return answer(input.respond, { kind: 'choice-over', why: 'answered' }, this.#log);
    this.#log.info({ operatorId: input.operatorId, account: account.name }, 'a code’s account was chosen');
    await answer(input.respond, { kind: 'code-routed', account: account.name }, this.#log);
    // The press is the input now: the message itself was claimed by the question.
    this.#deliverCode(account.name, { ...held, inputId: input.inputId, account: account.name });
  }

  /** A command: see `routeCommand`. */
  async #command(input: Extract<OperatorInput, { kind: 'command' }>): Promise<void> {
    await routeCommand(input, {
      mine: this.#accountsOf(input.operatorId).map((account) => account.name),
      first: this.#first(input.operatorId),
      several: this.#accounts.size > 1,
      deliver: (account, command) => this.#deliver(account, command),
      log: this.#log,
    });
  }

  /** Looks at which of `mine` wait for a code (in the store: another replica's login counts too). */
  async #waitingAmong(
    mine: readonly HubAccount[],
    input: HeldCode,
  ): Promise<{ readonly accounts: readonly HubAccount[]; readonly replied?: string }> {
    const logins = this.#loginsOrThrow();
    const found = await Promise.all(
      mine.map(async (account) => {
        const login = logins.get(account.name)!;
        try {
          const waiting = await login.waitingLogin();
          return waiting ?? (login.starting?.() === true ? { loginId: '', prompts: {} } : undefined);
        } catch (error) {
          // Unknown: counted as waiting, so that the operator is asked rather than guessed for.
          this.#log.warn(
            { account: account.name, err: errorFields(error) },
            'could not tell whether a login waits',
          );
          return { loginId: '', prompts: {} };
        }
      }),
    );
    // The prompt it answers, or the login its modal named, may be another replica's: the store knows.
    const replied = mine.find(
      (_, i) =>
        (input.replyTo !== undefined && mentions(found[i]?.prompts, input.replyTo)) ||
        (input.loginId !== undefined && found[i]?.loginId === input.loginId),
    );
    return {
      accounts: mine.filter((_, i) => found[i] !== undefined),
      ...(replied === undefined ? {} : { replied: replied.name }),
    };
  }

  #deliverCode(account: string, input: HeldCode): void {
    // Every relay received the message and routes it alike: each forgets the question it superseded.
    this.#held.dropSame(input);
    const digits = this.#accounts.get(account);
    // The shared channel parses under every account's CODE_DIGITS at once; this account's decides.
    if (digits !== undefined && !fitsDigits(input, digits)) {
      return this.#deliver(account, {
        kind: 'unclear',
        operatorId: input.operatorId,
        inputId: input.inputId,
      });
    }
    this.#deliver(account, input);
  }

  #deliver(account: string, input: OperatorInput): void {
    const login = this.#loginsOrThrow().get(account);
    if (login === undefined) {
      this.#log.warn({ account, input: input.kind }, 'an input named an account this relay does not serve');
      return;
    }
    login.handleInput(input);
  }

  #promptShown(view: PromptView, refs: PromptRefs): void {
    this.#prompts.shown(view, refs);
  }

  /** The account of the prompt message a reply answers, when this relay knows it. */
  #repliedTo(messageId: string | undefined): string | undefined {
    return this.#prompts.ofMessage(messageId);
  }

  /** The account of a login a button names; the operator's first account when unknown. */
  #accountOfLogin(loginId: string, operatorId: string): string {
    return this.#prompts.ofLogin(loginId) ?? this.#first(operatorId);
  }

  #accountsOf(operatorId: string): readonly HubAccount[] {
    return [...this.#accounts.values()].filter((account) => account.operatorIds.includes(operatorId));
  }

  /** The operator's first account (a command-line user is no account's operator: the first of all). */
  #first(operatorId: string): string {
    return (this.#accountsOf(operatorId)[0] ?? this.#o.accounts[0]!).name;
  }

  async #tell(operatorId: string, notice: OperatorNotice): Promise<void> {
    try {
      await this.#o.channel.notify(operatorId, notice);
    } catch (error) {
      this.#log.warn({ operatorId, notice: notice.kind, err: errorFields(error) }, 'notice not sent');
    }
  }

  #loginsOrThrow(): ReadonlyMap<string, AccountLogin> {
    if (this.#targets === undefined) throw new Error('the operator hub is not started');
    return this.#targets;
  }
}

/** Whether the code has as many digits as `account`'s `CODE_DIGITS` allows. */
function fitsDigits(input: HeldCode, account: Pick<HubAccount, 'codeDigits'>): boolean {
  const length = input.code.reveal().length;
  return length >= account.codeDigits.minDigits && length <= account.codeDigits.maxDigits;
}
