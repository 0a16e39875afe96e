import type { PromptRefs } from '../relay/ports/coordination.js';
import type {
  OperatorChannel,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../relay/ports/operators.js';

/** The operators' channel every account shares (Discord with `otp-relay code` beside it, or the terminal). */
export type SharedChannel = Pick<OperatorChannel, 'showPrompt' | 'notify' | 'broadcast' | 'isConnected'>;

/** Options of {@link AccountChannel}. */
export interface AccountChannelOptions {
  readonly account: string;
  /** The account's operators (`ACCOUNT_<NAME>_DISCORD_OPERATOR_IDS`, else `DISCORD_OPERATOR_IDS`). */
  readonly operatorIds: readonly string[];
  /** Whether they are every operator of the shared channel: then broadcasts and prompts go as before. */
  readonly everyOperator: boolean;
  readonly shared: SharedChannel;
  /** Told of every prompt shown, with where its messages are: the hub routes replies by it. */
  readonly promptShown: (view: PromptView, refs: PromptRefs) => void;
  /** Told of every prompt while it is sent or edited: a reply that comes meanwhile waits for it. */
  readonly showing: (work: Promise<unknown>) => void;
}

/**
 * One account's view of the shared operators' channel: what its `Relay` speaks. Prompts and
 * broadcasts reach the account's operators only; inputs do not come through here (the hub takes
 * every input once and hands it to the account's login), and the shared channel is started and
 * stopped by the composition, once for all accounts.
 */
export class AccountChannel implements OperatorChannel {
  readonly #o: AccountChannelOptions;

  public constructor(options: AccountChannelOptions) {
    this.#o = options;
  }

  /** Inputs reach the account's login through the hub: nothing to start here. */
  public async start(_onInput: OperatorInputHandler): Promise<void> {
    // The shared channel is started once, by the composition, for every account.
  }

  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    const { shared, everyOperator, operatorIds, promptShown } = this.#o;
    // Remembered before it goes out as well: a reply may come before the edit's answer does.
    if (refs !== undefined) promptShown(view, refs);
    const showing = shared.showPrompt(everyOperator ? view : { ...view, operatorIds }, refs);
    this.#o.showing(showing);
    const shown = await showing;
    promptShown(view, shown);
    return shown;
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    await this.#o.shared.notify(operatorId, notice);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    const { shared, everyOperator, operatorIds } = this.#o;
    if (everyOperator) return shared.broadcast(notice);
    await Promise.all(operatorIds.map((operatorId) => shared.notify(operatorId, notice)));
  }

  public isConnected(): boolean {
    return this.#o.shared.isConnected();
  }

  /** The shared channel is stopped once, by the composition. */
  public async stop(): Promise<void> {
    // Nothing of the account's own to stop.
  }
}
