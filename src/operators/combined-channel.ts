import type { PromptRefs } from '../relay/ports/coordination.js';
import type {
  OperatorChannel,
  OperatorInputHandler,
  OperatorNotice,
  PromptView,
} from '../relay/ports/operators.js';
import type { UnreachableOperator } from './delivery.js';

/** The operators' own channel (Discord, or the terminal), as the composition root runs it. */
export type MainChannel<State> = OperatorChannel & {
  stopInputs(): Promise<void>;
  connectionState(): State;
  unreachableOperators(): readonly UnreachableOperator[];
};

/** The way in beside it: `otp-relay code` (see `CliInbox`). */
export interface SideChannel {
  start(onInput: OperatorInputHandler): Promise<void>;
  /** Whether `operatorId` is one of its own: its notices go there and nowhere else. */
  owns(operatorId: string): boolean;
  /** Whether this side took an input of `operatorId` (one inbox of several); `owns` when absent. */
  knows?(operatorId: string): boolean;
  notify(operatorId: string, notice: OperatorNotice): Promise<void>;
  /** Told of every prompt before the main channel shows it; never throws. */
  promptShown(view: PromptView): Promise<void>;
  stopInputs(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Several side channels as one: one `otp-relay code` inbox per account (`P:cli:<account>`). A
 * notice for a command-line operator goes to the inbox that took that run's input.
 */
export class SideChannels implements SideChannel {
  readonly #sides: readonly SideChannel[];

  public constructor(sides: readonly SideChannel[]) {
    this.#sides = sides;
  }

  public async start(onInput: OperatorInputHandler): Promise<void> {
    await settleAll(this.#sides.map((side) => side.start(onInput)));
  }

  public owns(operatorId: string): boolean {
    return this.#sides.some((side) => side.owns(operatorId));
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    // The inbox that took the command-line run's input tells it.
    const knowing = this.#sides.filter((side) => (side.knows ?? side.owns).call(side, operatorId));
    await Promise.all(knowing.map((side) => side.notify(operatorId, notice)));
  }

  public async promptShown(view: PromptView): Promise<void> {
    await Promise.all(this.#sides.map((side) => side.promptShown(view)));
  }

  public async stopInputs(): Promise<void> {
    await settleAll(this.#sides.map((side) => side.stopInputs()));
  }

  public async stop(): Promise<void> {
    await settleAll(this.#sides.map((side) => side.stop()));
  }
}

/**
 * One operator channel over two: the operators' own (Discord, the terminal) and the command line
 * (`otp-relay code`). Inputs come from both; a notice goes to the side whose operator it names;
 * prompts, broadcasts, readiness and reachability are the main channel's (the command line has no
 * prompt: it hears what concerns its own input, at once, before the main channel's prompt, which
 * may be slow while Discord is down).
 */
export class CombinedOperatorChannel<State> implements OperatorChannel {
  readonly #main: MainChannel<State>;
  readonly #side: SideChannel;

  public constructor(main: MainChannel<State>, side: SideChannel) {
    this.#main = main;
    this.#side = side;
  }

  /** Starts both; if either fails, throws once both have settled (`stop` closes whichever started). */
  public async start(onInput: OperatorInputHandler): Promise<void> {
    await settleBoth(this.#main.start(onInput), this.#side.start(onInput));
  }

  public async showPrompt(view: PromptView, refs?: PromptRefs): Promise<PromptRefs> {
    await this.#side.promptShown(view);
    return this.#main.showPrompt(view, refs);
  }

  public async notify(operatorId: string, notice: OperatorNotice): Promise<void> {
    if (this.#side.owns(operatorId)) return this.#side.notify(operatorId, notice);
    return this.#main.notify(operatorId, notice);
  }

  public async broadcast(notice: OperatorNotice): Promise<void> {
    return this.#main.broadcast(notice);
  }

  public isConnected(): boolean {
    return this.#main.isConnected();
  }

  public connectionState(): State {
    return this.#main.connectionState();
  }

  public unreachableOperators(): readonly UnreachableOperator[] {
    return this.#main.unreachableOperators();
  }

  public async stopInputs(): Promise<void> {
    await settleBoth(this.#main.stopInputs(), this.#side.stopInputs());
  }

  public async stop(): Promise<void> {
    await settleBoth(this.#main.stop(), this.#side.stop());
  }
}

/** Waits for both, then throws the first failure if there was one. */
async function settleBoth(first: Promise<void>, second: Promise<void>): Promise<void> {
  await settleAll([first, second]);
}

/** Waits for all, then throws the first failure if there was one. */
async function settleAll(work: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
