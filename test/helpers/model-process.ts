import { AsyncLocalStorage } from 'node:async_hooks';
import type { AccountChannel } from '../../src/operators/account-channel.js';
import { OperatorHub, type AccountLogin, type HubChannel } from '../../src/operators/hub.js';
import { CLAIM_TTL_MS } from '../../src/relay/login/context.js';
import type { PromptRefs } from '../../src/relay/ports/coordination.js';
import type {
  OperatorChannel,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../../src/relay/ports/operators.js';
import type { Relay } from '../../src/relay/relay.js';
import { createLogger } from '../../src/shared/log.js';
import { CODE_TIMEOUT_MS, inputContext, type AccountModel, type ModelInput } from './model-account.js';
import type { RouteLedger } from './model-routes.js';
import { never, type RelayControl } from './model-store.js';
import { ALICE, describe, OPERATORS } from './model-world.js';

/**
 * One relay process of the model of several accounts, as the composition builds it: one
 * {@link OperatorHub} over the process's operators' channel, one `Relay` per account speaking
 * through the hub's account channel, the hub's input claims those of the store (one key for every
 * account), and each account's login as the hub sees it: its relay, and a look at its store.
 */

/** An answer to the input being handled: what "answered twice" and "never answered" count. */
export interface Answer {
  readonly inputId: string;
  readonly relayId: string;
  readonly notice?: OperatorNotice['kind'];
  /** `notice`: a DM reply (counts towards "answered twice"); `prompt`: a prompt, or a DM to all. */
  readonly kind: 'notice' | 'prompt';
}

/** What a process needs of its world. */
export interface ProcessWorld {
  readonly accounts: readonly AccountModel[];
  readonly routes: RouteLedger;
  readonly log: string[];
  account(name: string): AccountModel;
  /** The accounts `operatorId` operates. */
  accountsOf(operatorId: string): readonly string[];
  /** Records an answer to the input being handled, if any; returns its ID. */
  answered(control: RelayControl, kind: Answer['kind'], notice?: OperatorNotice['kind']): string | undefined;
}

/** A relay process: its hub, its channel, and its relay of each account. */
export interface ProcessEntry {
  readonly control: RelayControl;
  readonly hub: OperatorHub;
  readonly channel: ProcessChannel;
  readonly relays: ReadonlyMap<string, Relay>;
  resume: (() => void) | undefined;
}

/** Every code of the model has six digits (the brokers' codes, and the wrong ones). */
const SIX_DIGITS = { minDigits: 6, maxDigits: 6 };

/** Builds a process (not started): its entry, and each account's login for `hub.start`. */
export function newProcess(
  world: ProcessWorld,
  control: RelayControl,
): { readonly entry: ProcessEntry; readonly logins: ReadonlyMap<string, AccountLogin> } {
  const channel = new ProcessChannel(world, control);
  // The composition's claimInput: any account's store, as the key is one for all.
  const claims = world.accounts[0]!.gated(control);
  const hub = new OperatorHub({
    channel,
    accounts: world.accounts.map(({ name }) => ({
      name,
      operatorIds: OPERATORS.filter((id) => world.accountsOf(id).includes(name)),
      codeDigits: SIX_DIGITS,
    })),
    claimInput: (inputId, ttlMs) => claims.claimInput(inputId, ttlMs),
    logger: createLogger({ level: 'silent' }),
    holdCodesMs: CODE_TIMEOUT_MS,
    claimTtlMs: CLAIM_TTL_MS,
  });
  const relays = new Map<string, Relay>();
  const logins = new Map<string, AccountLogin>();
  for (const account of world.accounts) {
    const relay = account.newRelay(control, new MarkedBroadcasts(hub.channelFor(account.name)));
    relays.set(account.name, relay);
    logins.set(account.name, accountLogin(world, control, account, relay));
  }
  return { entry: { control, hub, channel, relays, resume: undefined }, logins };
}

/** The hub's view of one account's login: its relay, and a look at its store (recorded). */
function accountLogin(
  world: ProcessWorld,
  control: RelayControl,
  account: AccountModel,
  relay: Relay,
): AccountLogin {
  const store = account.gated(control);
  return {
    handleInput: (input) => relay.handleInput(input),
    waitingLogin: async () => {
      const inputId = inputContext.getStore()?.inputId;
      const { relayId } = control;
      try {
        // Any pending login, also one whose code is at the broker: it may want another.
        const pending = await store.loadPending();
        world.routes.looked(relayId, inputId, account.name, pending === undefined ? 'none' : 'waiting');
        return pending === undefined ? undefined : { loginId: pending.loginId, prompts: pending.prompts };
      } catch (error) {
        world.routes.looked(relayId, inputId, account.name, 'unknown');
        throw error;
      }
    },
  };
}

/** Set while an account's channel broadcasts (to its operators one by one, when they are not everyone). */
const broadcasting = new AsyncLocalStorage<true>();

/**
 * The account's channel as its relay gets it, but for a mark on what a broadcast sends: a DM to
 * every operator of the account is not a reply to the input being handled (nor "answered twice").
 */
class MarkedBroadcasts implements OperatorChannel {
  public constructor(private readonly inner: AccountChannel) {}
  public start(onInput: OperatorInputHandler): Promise<void> {
    return this.inner.start(onInput);
  }
  public showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    return this.inner.showPrompt(view, refs);
  }
  public notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    return this.inner.notify(operatorId, notice);
  }
  public broadcast(notice: OperatorNotice): Promise<void> {
    return broadcasting.run(true, () => this.inner.broadcast(notice));
  }
  public isConnected(): boolean {
    return this.inner.isConnected();
  }
  public stop(): Promise<void> {
    return this.inner.stop();
  }
}

/** One process's operators' channel (Discord as it reports prompt messages), shared by its accounts. */
export class ProcessChannel implements HubChannel {
  public onInput: OperatorInputHandler | undefined;

  public constructor(
    private readonly world: ProcessWorld,
    private readonly control: RelayControl,
  ) {}

  public async start(onInput: OperatorInputHandler): Promise<void> {
    this.onInput = onInput;
  }

  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    if (this.control.killed) return never();
    this.world.account(view.account).prompted(view);
    this.world.answered(this.control, 'prompt');
    return this.world.routes.promptRefs(view, refs, OPERATORS);
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    if (this.control.killed) return never();
    const kind = broadcasting.getStore() === true ? 'prompt' : 'notice';
    const inputId = this.world.answered(this.control, kind, notice.kind);
    if (notice.kind === 'choose-account' && notice.question.kind === 'code') {
      this.world.routes.asked(this.control.relayId, operatorId, notice.question.inputId, notice.accounts);
    }
    this.world.log.push(`${this.control.relayId} → ${operatorId}: ${notice.kind} (${inputId ?? '-'})`);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    if (this.control.killed) return never();
    const inputId = this.world.answered(this.control, 'prompt');
    this.world.log.push(`${this.control.relayId} → all: ${notice.kind} (${inputId ?? '-'})`);
  }

  public isConnected(): boolean {
    return !this.control.killed;
  }
}

/** One input in a line of the log, without its code. */
export function describeInput(input: ModelInput): string {
  const by = input.operatorId === ALICE ? 'alice' : 'bob';
  if (input.kind === 'account-chosen')
    return `${input.inputId} press ${input.account} for ${input.codeInputId} by ${by}`;
  const extra =
    input.kind === 'code'
      ? `${input.replyTo === undefined ? '' : ` reply-to=${input.replyTo}`}${input.account === undefined ? '' : ` account=${input.account}`}`
      : 'account' in input && input.account !== undefined
        ? ` (${input.account})`
        : '';
  return `${describe(input)}${extra}`;
}
